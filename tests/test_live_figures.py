"""The live figures (one run's curves, a comparison) are built without Plotly's property checks for
speed: each must still pass those checks, and draw exactly the points of each curve in step order."""
import json

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from core.store.runs import Run
from core.views.charts import training_curves
from core.views.compare import compare_figure


def _run(run_id: int, **config) -> Run:
    values = {f: None for f in Run.__dataclass_fields__}
    values.update(id=run_id, name=f"run {run_id}", notes="", status="running", created_at=0.0, cancel_requested=0,
                  epoch=1, epochs=3, batch=0, steps=10, progress=0.5, tags="",
                  config=json.dumps({"optimizer": "adam", "learning_rate": 0.001, "batch_size": 32, **config}))
    return Run(**values)


def _points(run_id: int, steps: int = 40) -> list[tuple]:
    rng = np.random.default_rng(run_id)
    rows = []
    for step in reversed(range(steps)):  # stored out of order: the figure must sort by step
        for name in ("loss", "accuracy"):
            rows.append((run_id, "batch", step, step / 10, step * 0.5, name, float(rng.random())))
    for epoch in (1, 2, 3):
        for name in ("loss", "accuracy", "val_loss", "val_accuracy"):
            rows.append((run_id, "epoch", epoch * 10, float(epoch), epoch * 5.0, name, float(rng.random())))
    return rows


def _frame(*run_ids: int) -> pd.DataFrame:
    rows = [row for run_id in run_ids for row in _points(run_id)]
    return pd.DataFrame(rows, columns=["run_id", "kind", "step", "epoch", "elapsed", "name", "value"])


def _validated(fig: go.Figure) -> go.Figure:
    """`fig`, once it passed Plotly's full checks of every property (they raise ValueError)."""
    go.Figure(fig.to_plotly_json())
    return fig


def test_one_runs_curves_pass_plotlys_checks_and_draw_each_curve_in_step_order():
    metrics = _frame(1).drop(columns="run_id")
    fig = _validated(training_curves(metrics))
    train_loss, _, val_loss, train_acc, _, val_acc = fig.data
    assert (train_loss.xaxis, train_acc.xaxis) == ("x", "x2")
    expected = metrics[(metrics.name == "loss") & (metrics.kind == "batch")].sort_values("step")
    assert list(train_loss.x) == expected["epoch"].tolist() and list(train_loss.y) == expected["value"].tolist()
    assert list(val_acc.x) == [1.0, 2.0, 3.0]
    assert val_loss.line.dash == "dash"
    assert [a.text for a in fig.layout.annotations] == ["Loss", "Accuracy"]
    assert fig.layout.yaxis2.range == (0, 1.02) and fig.layout.xaxis.title.text == "epoch"


@pytest.mark.parametrize("status", ["not started", "failed", "cancelled"])
def test_an_empty_chart_passes_plotlys_checks_and_says_why(status):
    fig = _validated(training_curves(None, status=status))
    assert all(len(trace.x) == 0 for trace in fig.data)
    assert any("first points" in a.text or "Press Start" in a.text for a in fig.layout.annotations)


@pytest.mark.parametrize("x, smoothing, log_y", [("epoch", 0.0, False), ("step", 0.6, True), ("time", 0.0, True)])
def test_a_comparison_passes_plotlys_checks_with_every_option(x, smoothing, log_y):
    runs = [_run(1), _run(2, learning_rate=0.01)]
    fig = _validated(compare_figure(runs, _frame(1, 2), x=x, smoothing=smoothing, log_y=log_y))
    per_run = 6 if smoothing else 4  # train and validation in two panels, and the faint raw train curves
    assert len(fig.data) == 2 * per_run
    assert [t.name for t in fig.data if t.showlegend] == ["#1 run 1 (lr=0.001)", "#2 run 2 (lr=0.01)"]
    drawn = next(t for t in fig.data if t.showlegend)
    assert list(drawn.x) == sorted(p[{"epoch": 3, "step": 2, "time": 4}[x]] for p in _points(1)
                                   if p[1] == "batch" and p[5] == "loss")
    assert fig.layout.xaxis.title.text == {"epoch": "epoch", "step": "step (batches)", "time": "seconds"}[x]
    assert (fig.layout.yaxis.type == "log") is log_y and fig.layout.yaxis2.type != "log"


def test_a_comparison_of_runs_without_points_yet_is_still_a_valid_figure():
    metrics = pd.DataFrame(columns=["run_id", "kind", "step", "epoch", "elapsed", "name", "value"])
    fig = _validated(compare_figure([_run(1), _run(2)], metrics, log_y=True))
    assert all(len(trace.x) == 0 for trace in fig.data)


def test_seed_groups_figure_passes_plotlys_checks_with_a_band_per_group():
    from core.views.compare import group_figure

    runs = [_run(1, seed=1), _run(2, seed=2)]
    fig = _validated(group_figure([runs], _frame(1, 2)))
    upper, lower, mean = fig.data
    assert lower.fill == "tonexty" and list(mean.x) == [1.0, 2.0, 3.0]
    assert lower.fillcolor.startswith("rgba(") and lower.fillcolor.endswith(", 0.2)")  # the mean line shows through
    assert all(u >= m >= low for u, m, low in zip(upper.y, mean.y, lower.y))
