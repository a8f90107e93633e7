"""The Models page under AppTest: counts, refusals, a typed shape, the comparison, the calculator."""
import json

from tests.test_pages import _page, _values


def _metrics(at):
    return {m.label: m.value for m in at.metric}


def test_default_model_on_the_bundled_digits(lab):
    at = _page("pages/models.py").run()
    assert not at.exception
    assert _metrics(at)["Parameters"] == f"{64 * 1024 + 1024 + 1024 * 256 + 256 + 256 * 10 + 10:,}"
    assert len(at.get("graphviz_chart")) == 1
    assert any("inputs = keras.Input(shape=(8, 8, 1)" in c.value and "layers.Dense(units=1024" in c.value
               and "model = keras.Model(inputs, outputs, name='mlp')" in c.value for c in at.code)


def test_an_architecture_opens_on_an_input_it_can_take(lab):
    at = _page("pages/models.py").run()
    at.selectbox(key="model_arch").set_value("vgg16").run()  # the bundled digits are 8×8: too small for it
    assert not at.exception and not at.error
    assert at.radio(key="model_input").value == "shape"  # so it opens on a typed 32×32×3, and says why
    assert any(c.value.startswith("No dataset here fits (Digits 8×8 (bundled): VGG16 needs images of at least "
                                  "32×32") for c in at.caption)
    assert _metrics(at)["Parameters"] == "15,245,130"
    at.selectbox(key="model_arch").set_value("mlp").run()  # an MLP takes the digits again
    assert at.radio(key="model_input").value == "dataset" and not at.error


def test_an_impossible_input_gets_one_line_not_a_traceback(lab):
    at = _page("pages/models.py").run()
    at.selectbox(key="model_arch").set_value("vgg16").run()
    at.radio(key="model_input").set_value("dataset").run()  # the student picks the digits anyway
    at.selectbox(key="model_dataset").set_value("digits").run()
    assert not at.exception
    assert at.error[0].value.startswith("architecture: VGG16 needs images of at least 32×32")
    assert 'choose "a shape I type"' in at.error[0].value


def test_a_model_over_the_parameter_cap_is_refused_before_it_is_built(lab):
    at = _page("pages/models.py").run()
    at.selectbox(key="model_arch").set_value("custom_mlp").run()
    at.text_input(key="model_hidden_units").set_value(", ".join(["8192"] * 10)).run()
    assert not at.exception
    assert at.error[0].value.startswith("architecture: Custom MLP on 8×8×1 images would have 604.7 million "
                                        "parameters, over the cap of 200 million (TRAINLAB_MAX_PARAMS)")


def test_a_typed_shape_and_the_comparison(lab):
    at = _page("pages/models.py").run()
    at.selectbox(key="model_arch").set_value("small_cnn")
    at.radio(key="model_input").set_value("shape").run()
    assert _metrics(at)["Parameters"] == "94,698"  # the lesson's CIFAR-10 CNN
    table = at.dataframe[len(at.dataframe) - 1].value
    assert table.set_index("architecture")["parameters"].to_dict() == {
        "Deep MLP 4096-1024-256-64 (CIFAR-10 lesson)": 17_061_834, "Small CNN (CIFAR-10 lesson)": 94_698}


def test_a_typed_shape_out_of_range_is_one_line_and_leaves_no_old_model_on_screen(lab):
    at = _page("pages/models.py").run()
    at.selectbox(key="model_arch").set_value("small_cnn")
    at.radio(key="model_input").set_value("shape").run()
    assert _metrics(at)["Parameters"] == "94,698"
    at.number_input(key="model_height").set_value(2000).run()  # a ranged field kept 32 and the old model
    assert not at.exception
    assert at.error[0].value == "height: must be a whole number from 1 to 1024; got 2000"
    assert "Parameters" not in _metrics(at)
    at.number_input(key="model_height").set_value(None).run()
    assert at.error[0].value == "height: must be a whole number from 1 to 1024; the field is empty"


def test_the_comparison_reads_17_million_and_95_thousand_alike(lab):
    at = _page("pages/models.py").run()
    at.radio(key="model_input").set_value("shape").run()  # 32×32×3, 10 classes: the lesson's two models
    columns = json.loads(at.dataframe[len(at.dataframe) - 1].proto.columns)
    assert all(columns[c]["type_config"]["format"] == "localized" for c in ("parameters", "trainable"))
    [chart] = [c for c in at.get("plotly_chart") if c.key == "compare_chart"]
    spec = json.loads(chart.proto.spec)
    [bars] = spec["data"]
    assert _values(bars["y"]) == [17_061_834, 94_698]
    assert bars["text"] == ["17,061,834", "94,698"] and bars["textposition"] == "outside"
    # Linear, so the small model's bar is small; a log axis would need ticks that read 10k, 100k, 1M.
    assert spec["layout"]["yaxis"].get("type", "linear") == "linear"
    assert spec["layout"]["yaxis"]["tickformat"] == "~s"


def test_custom_options_and_a_bad_one(lab):
    at = _page("pages/models.py").run()
    at.selectbox(key="model_arch").set_value("custom_mlp").run()
    at.text_input(key="model_hidden_units").set_value("10, 5").run()
    assert _metrics(at)["Parameters"] == f"{(64 * 10 + 10) + (10 * 5 + 5) + (5 * 10 + 10):,}"
    at.text_input(key="model_hidden_units").set_value("ten").run()
    assert not at.exception and "option hidden_units takes whole numbers" in at.error[0].value


def test_conv_calculator(lab):
    at = _page("pages/models.py").run()
    at.number_input(key="calc_size").set_value(32)
    at.number_input(key="calc_kernel").set_value(5)
    at.number_input(key="calc_stride").set_value(2)
    at.selectbox(key="calc_padding").set_value("valid").run()
    assert "output = floor((32 - 5) / 2) + 1 = 14" in [c.value for c in at.code]
    at.number_input(key="calc_kernel").set_value(40).run()
    assert any(e.value.startswith("kernel: 40 is larger than the padded input") for e in at.error)


def test_feature_maps_tab_shows_each_conv_layers_maps_and_says_when_there_are_none(lab):
    at = _page("pages/models.py").run()
    at.selectbox(key="model_arch").set_value("mlp").run()
    assert "This model has no convolution or pooling layers to look into." in [i.value for i in at.info]
    assert not [t for t in at.toggle if t.key == "fm_show"]  # nothing to ask for
    at.selectbox(key="model_arch").set_value("conv_demo_b").run()
    at.toggle(key="fm_show").set_value(True).run()
    assert not at.exception and not at.error
    captions = [c.value for c in at.caption]
    assert captions.count("output 8×8×4") == 2  # two 'same' conv layers of 4 kernels on the 8×8 digits
    assert len(at.get("image")) == 2
