"""Text for people: names cut on whole words, legend labels that keep what differs, blank cells."""
import json

import numpy as np
import pandas as pd

from core.store.runs import Run
from core.views.compare import legend_labels, log_ticks
from core.views.display import distinguishing, for_display, shorten, varied_first


def _run(run_id: int, name: str, **config) -> Run:
    values = {f: None for f in Run.__dataclass_fields__}
    values.update(id=run_id, name=name, notes="", status="succeeded", created_at=0.0, cancel_requested=0, epoch=0,
                  epochs=3, batch=0, steps=0, progress=1.0, tags="",
                  config=json.dumps({"optimizer": "adam", "learning_rate": 0.001, "batch_size": 32, **config}))
    return Run(**values)


def test_names_are_cut_on_whole_words_never_inside_a_value():
    assert shorten("rmsprop lr=0.001 · bs 128", 30) == "rmsprop lr=0.001 · bs 128"
    assert shorten("rmsprop lr=0.001 · bs 128", 20) == "rmsprop lr=0.001…"
    assert shorten("rmsprop lr=0.001 · bs 128", 12) == "rmsprop…"
    assert shorten("averyveryverylongsingleword", 10) == "averyvery…"


def test_axis_labels_keep_the_words_that_tell_architectures_apart():
    specs = ["cnn 32x1p-64x1p bn dropout=0.3 flatten dense=128", "cnn 32x1p-64x1p dropout=0.3 flatten dense=128"]
    labels = distinguishing(specs, 28)
    assert labels == {specs[0]: "bn", specs[1]: "cnn 32x1p-64x1p dropout=0.3…"}


def test_legend_labels_add_the_differing_settings_a_cut_name_hides():
    runs = [_run(1, "a long run name that goes on and on with sgd lr=0.01 and batch size twelve", optimizer="sgd",
                 learning_rate=0.01),
            _run(2, "a long run name that goes on and on with sgd lr=0.02 and batch size twelve", optimizer="sgd",
                 learning_rate=0.02),
            _run(3, "mlp · digits · adam lr=0.001")]
    labels = legend_labels(runs)
    assert labels[1] == "#1 a long run name that goes on… (sgd, lr=0.01)"
    assert labels[2] == "#2 a long run name that goes on… (sgd, lr=0.02)"
    assert labels[3] == "#3 mlp · digits · adam lr=0.001"  # its settings are in its name already
    assert len(set(labels.values())) == 3


def test_missing_values_show_as_a_dash_not_none():
    table = pd.DataFrame({"test accuracy": [0.91234, np.nan], "parameters": [331530, None], "time": ["5 s", None],
                          "test loss": [0.19621, None], "best epoch": [3, None], "id": [1, 2]})
    shown = for_display(table, ("test accuracy",), ("parameters",))
    assert shown.to_dict("list") == {"test accuracy": ["91.23 %", "—"], "parameters": ["331,530", "—"],
                                     "time": ["5 s", "—"], "test loss": ["0.1962", "—"], "best epoch": ["3", "—"],
                                     "id": [1, 2]}


def test_log_scale_ticks_read_as_numbers_on_a_1_2_5_ladder():
    assert log_ticks(0.08, 2.3) == [0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0]
    assert log_ticks(0.3, 0.9) == [0.2, 0.5, 1.0, 2.0]


def test_markup_in_run_names_stays_text_in_chart_legends_and_hovers():
    from core.views.compare import compare_figure, group_figure

    runs = [_run(1, "<b>bold</b>"), _run(2, '<a href="http://example.com">click</a>', learning_rate=0.01)]
    metrics = pd.DataFrame({"run_id": [1, 2], "kind": ["batch", "batch"], "name": ["loss", "loss"],
                            "step": [1, 1], "epoch": [0.5, 0.5], "elapsed": [1.0, 1.0], "value": [1.0, 2.0]})
    fig = compare_figure(runs, metrics)
    texts = [t.name for t in fig.data if t.name] + [t.hovertemplate for t in fig.data if t.hovertemplate]
    assert texts and not any("<b>" in t or "<a " in t for t in texts)
    assert any("&lt;b&gt;bold&lt;/b&gt;" in t for t in texts)
    group = group_figure([[runs[0]]], metrics.assign(kind="epoch", name="val_accuracy"))
    assert all("<b>" not in t.name for t in group.data if t.name)


def test_the_cluster_line_says_what_the_nodes_hold_and_what_one_node_can_take():
    from core.store.cluster import SeenNode
    from core.views.display import cluster_line

    nodes = [SeenNode("a", "gpu-box", 8, 1, 0.0), SeenNode("b", "pc-1", 4, 0, 0.0)]
    assert cluster_line(nodes, 6, 2, 0) == ("Ray cluster: 2 nodes, 12 CPUs, 1 GPU (at most 8 CPUs and 1 GPU on one "
                                            "node) · 6 runs of 2 CPUs at a time")
    assert cluster_line(nodes[:1], 1, 1, 1).endswith("1 node, 8 CPUs, 1 GPU · 1 run of 1 CPU and 1 GPU at a time")
    pcs = [SeenNode("b", "pc-1", 4, 0, 0.0), SeenNode("c", "pc-2", 1, 0, 0.0)]
    assert cluster_line(pcs, 2, 2, 0) == "Ray cluster: 2 nodes, 5 CPUs (at most 4 CPUs on one node) · 2 runs of 2 " \
                                         "CPUs at a time"  # no GPU anywhere: no GPU figures
    assert cluster_line(pcs, 1, 8, 0).endswith("· no node holds a run of 8 CPUs: ask for fewer (cpus, gpus)")
    assert cluster_line(pcs, 1, 2, 1).endswith("· no node holds a run of 2 CPUs and 1 GPU: ask for fewer (cpus, gpus)")
    assert cluster_line([], 2, 2, 0) == ("Ray cluster: no dispatcher has looked at its nodes in the last minute; one "
                                         "starts with the next run")


def test_the_settings_a_table_varies_come_first():
    trials = pd.DataFrame({"architecture": ["mlp", "mlp"], "optimizer": ["adam", "sgd"], "learning_rate": [0.1, 0.01],
                           "seed": [0, 0]})
    assert varied_first(trials, ("architecture", "optimizer", "learning_rate", "seed", "dataset")) == \
        ("optimizer", "learning_rate", "architecture", "seed", "dataset")
    assert varied_first(trials.head(1), ("architecture", "optimizer")) == ("architecture", "optimizer")
