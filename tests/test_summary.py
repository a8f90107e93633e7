"""Model reports: rows and totals agree with Keras, formulas with real output sizes, code runs."""
import pandas as pd
import pytest

from core.domain.conv_arithmetic import conv_formula, conv_output_size
from core.training import summary
from core.training.builders import build_model
from core.views.model_charts import compare_figure


@pytest.mark.parametrize("key, shape", [("small_cnn", (32, 32, 3)), ("conv_demo_c", (28, 28, 1)),
                                        ("vgg16", (64, 64, 3)), ("basic_cnn_regularised", (30, 30, 3))])
def test_conv_arithmetic_matches_the_real_output_sizes(key, shape):
    model = build_model(key, shape, 10)
    rows = summary.conv_rows(model)
    assert len(rows) == sum(layer.__class__.__name__ in summary.CONV_TYPES for layer in model.layers) > 0
    for _, row in rows.iterrows():
        size = int(row["input"].split("×")[0])
        predicted = conv_output_size(size, row["kernel"], row["stride"], row["padding"])
        assert predicted == int(row["output"].split("×")[0])
        assert row["formula"].endswith(f"= {predicted}")


def test_formulas():
    assert conv_formula(32, 3, 1, "valid") == "floor((32 - 3) / 1) + 1 = 30"
    assert conv_formula(32, 3, 2, "same") == "ceil(32 / 2) = 16"
    assert conv_formula(7, 3, 2, 1) == "floor((7 + 2×1 - 3) / 2) + 1 = 4"
    assert conv_output_size(2, 5, 1, "valid") < 1  # the calculator reports this as an error


def test_rows_and_totals_agree_with_keras():
    report = summary.report("mlp_bn", (28, 28, 1), 10)
    model = build_model("mlp_bn", (28, 28, 1), 10)
    assert report.totals.total == model.count_params() == 1_073_930
    assert report.totals.non_trainable == 2 * (1024 + 256)  # BatchNorm's moving mean and variance
    assert report.layers["parameters"].sum() == report.totals.total
    assert abs(report.layers["share"].sum() - 1) < 1e-9
    for (_, row), layer in zip(report.layers.iterrows(), model.layers):
        assert row["output shape"] == "(" + ", ".join("None" if d is None else str(d) for d in layer.output.shape) + ")"
    assert report.depth == 3 and report.weights_mb == pytest.approx(1_073_930 * 4 / 2**20)


@pytest.mark.parametrize("key, options", [("small_resnet", {"blocks": 2}), ("custom_cnn", None), ("mlp_bn", None),
                                          ("resnet50_transfer", {"weights": "random"})])
def test_the_shown_code_builds_the_same_model(key, options):
    code = summary.keras_code(key, (32, 32, 3), 7, options)
    namespace: dict = {}
    exec(compile(code.replace("model.summary()", ""), "<shown code>", "exec"), namespace)
    assert namespace["model"].count_params() == build_model(key, (32, 32, 3), 7, options).count_params()


def test_the_diagram_shows_skip_connections():
    dot = summary.graph_dot(build_model("small_resnet", (16, 16, 3), 10))
    assert '"stem" -> "res1_add";' in dot and '"res1_conv2" -> "res1_add";' in dot
    assert dot.startswith("digraph") and dot.rstrip().endswith("}")


def test_compare_explains_what_cannot_be_built():
    table = summary.compare(["deep_mlp", "small_cnn", "vgg16"], (28, 28, 1), 10)
    deep_mlp = (784 * 4096 + 4096) + (4096 * 1024 + 1024) + (1024 * 256 + 256) + (256 * 64 + 64) + (64 * 10 + 10)
    # Small CNN on 28x28x1: four 3x3 convs, then 28 -> pool 14 -> /2 7 -> /2 4 -> pool 2: 2*2*64 = 256 inputs
    small_cnn = (9 * 1 * 16 + 16) + (9 * 16 * 32 + 32) + (9 * 32 * 64 + 64) + (9 * 64 * 64 + 64) \
        + (256 * 128 + 128) + (128 * 10 + 10)
    assert table["parameters"].tolist()[:2] == [deep_mlp, small_cnn]
    assert str(table["parameters"].dtype) == "Int64"  # counts stay whole numbers beside the row that failed
    assert "needs images of at least 32×32" in table["note"].iloc[2]


def test_the_comparison_chart_labels_each_bar_on_a_linear_axis():
    table = pd.DataFrame({"architecture": ["big", "small", "too big for the input"],
                          "parameters": pd.array([17_061_834, 94_698, None], dtype="Int64")})
    fig = compare_figure(table, (32, 32, 3))
    [bars] = fig.data
    assert list(bars.x) == ["big", "small"] and list(bars.y) == [17_061_834, 94_698]
    assert list(bars.text) == ["17,061,834", "94,698"]  # readable however thin the small bar is
    assert fig.layout.yaxis.type in (None, "linear") and fig.layout.yaxis.range[1] > 17_061_834
    assert fig.layout.title.text == "Parameters on 32×32×3 input"
