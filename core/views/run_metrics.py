"""Every metric a run reported beyond its loss and accuracy curves: the values per epoch, the other epoch
metrics (the learning rate a schedule set, custom metrics), and the worker's CPU and memory over time."""
from __future__ import annotations

import math

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from core.domain.metric_kinds import CPU_METRIC, MEMORY_METRIC, USAGE_KIND
from core.views.figures import TOOLBAR_CLEAR, assemble, axis_updates, scatter, two_panel_layout

CURVE_METRICS = ("loss", "accuracy", "val_loss", "val_accuracy")  # drawn by core.views.charts already
USAGE_PANELS = ((CPU_METRIC, "CPU (cores busy)"), (MEMORY_METRIC, "Memory (MB)"))
COLOR = "#2ca02c"


def _epoch_points(metrics: pd.DataFrame) -> pd.DataFrame:
    return metrics[metrics["kind"] == "epoch"] if len(metrics) else metrics


def epoch_table(metrics: pd.DataFrame) -> pd.DataFrame:
    """One row per finished epoch, a column per metric the run reported (loss and accuracy first)."""
    points = _epoch_points(metrics)
    if points.empty:
        return pd.DataFrame()
    table = points.pivot_table(index="epoch", columns="name", values="value", aggfunc="last").reset_index()
    table["epoch"] = table["epoch"].round().astype(int)
    first = [c for c in CURVE_METRICS if c in table]
    return table[["epoch", *first, *sorted(c for c in table.columns if c not in first and c != "epoch")]]


def other_metrics(metrics: pd.DataFrame) -> list[str]:
    """The epoch metrics the loss and accuracy curves do not show (learning_rate, custom ones)."""
    names = set(_epoch_points(metrics)["name"]) if len(metrics) else set()
    return sorted(names - set(CURVE_METRICS))


MAX_OTHER_CHARTS = 12  # small charts drawn at most (a run from a student's script may name dozens of metrics)


def other_metrics_figure(metrics: pd.DataFrame) -> go.Figure | None:
    """A small chart per other epoch metric against the epoch, two a row, the first MAX_OTHER_CHARTS of them
    (the epoch table beside it lists every one); None when there are none."""
    names = other_metrics(metrics)[:MAX_OTHER_CHARTS]
    if not names:
        return None
    points = _epoch_points(metrics).sort_values("step", kind="stable")
    cols = min(2, len(names))
    rows = math.ceil(len(names) / cols)
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=[n.replace("_", " ") for n in names],
                        vertical_spacing=0.3 / rows, horizontal_spacing=0.1)
    for i, name in enumerate(names):
        curve = points[points["name"] == name]
        fig.add_trace(go.Scatter(x=curve["epoch"], y=curve["value"], mode="lines+markers", name=name,
                                 line=dict(color=COLOR), showlegend=False),
                      row=i // cols + 1, col=i % cols + 1)
    fig.update_xaxes(title_text="epoch")
    # A learning rate of 0.0003 reads as 3e-4, not "300µ"; from zero, so a constant rate is a line at its value
    # (Plotly centred a constant 0.001 on an axis from -0.5 to 1, where it read as zero).
    fig.update_yaxes(exponentformat="e", rangemode="tozero")
    fig.update_layout(height=300 * rows, margin=dict(TOOLBAR_CLEAR, b=10))
    return fig


def usage_figure(metrics: pd.DataFrame) -> go.Figure | None:
    """The worker's CPU (cores busy) and memory against seconds of training; None before the first sample."""
    usage = metrics[metrics["kind"] == USAGE_KIND].sort_values("elapsed", kind="stable") if len(metrics) else metrics
    if usage.empty:
        return None
    traces = []
    for panel, (name, _) in enumerate(USAGE_PANELS, start=1):
        curve = usage[usage["name"] == name]
        traces.append(scatter(curve["elapsed"].to_numpy(dtype=float), curve["value"].to_numpy(dtype=float), panel,
                              mode="lines", name=name, line=dict(color=COLOR, width=2), showlegend=False))
    layout = two_panel_layout(tuple(title for _, title in USAGE_PANELS), height=300,
                              margin=dict(TOOLBAR_CLEAR, b=10))
    axis_updates(layout, "xaxis", title=dict(text="seconds"), rangemode="tozero")
    axis_updates(layout, "yaxis", rangemode="tozero")
    return assemble(traces, layout)
