"""Plotly figures for training curves, built from a run's metric DataFrame."""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from core.domain.statuses import CANCELLED, FAILED, QUEUED, RUNNING, SUCCEEDED
from core.views.figures import (
    LEGEND_BELOW,
    LEGEND_ROOM,
    TOOLBAR_CLEAR,
    assemble,
    axis_updates,
    scatter,
    two_panel_layout,
)

TRAIN_COLOR = "#1f77b4"
VALIDATION_COLOR = "#ff7f0e"
PANELS = (("loss", "Loss"), ("accuracy", "Accuracy"))


def curves_by(metrics: pd.DataFrame, keys: list[str]) -> dict[tuple, pd.DataFrame]:
    """Every curve at once, in step order, keyed by the values of `keys` (e.g. name and kind): one
    sort and one grouping instead of a filter over all points per curve (a live figure draws many)."""
    if metrics.empty:
        return {}
    ordered = metrics.sort_values("step", kind="stable")
    return {key if isinstance(key, tuple) else (key,): group for key, group in ordered.groupby(keys, sort=False)}


NO_POINTS = pd.DataFrame(columns=["kind", "step", "epoch", "elapsed", "name", "value"])

EMPTY_TEXT = {  # what an empty chart says, by run status
    "not started": "Press Start: the run's loss and accuracy grow here.",
    QUEUED: "Waiting for the first points…",
    RUNNING: "Waiting for the first points…",
    FAILED: "The run failed before its first points (the reason is above).",
    CANCELLED: "Cancelled before its first points.",
    SUCCEEDED: "No points were recorded.",
}


def training_curves(metrics: pd.DataFrame | None, height: int = 380, status: str = RUNNING) -> go.Figure:
    """Loss and accuracy against epochs: train as a solid line that grows within epochs (mean of
    the recent batches) with a dot per epoch mean; validation dashed with a marker per epoch.
    An empty chart says why, from the run's `status` (no metrics at all: a run not started yet)."""
    metrics = NO_POINTS if metrics is None else metrics
    curves = curves_by(metrics, ["name", "kind"])
    traces = []
    for panel, (metric, _) in enumerate(PANELS, start=1):
        live = curves.get((metric, "batch"), NO_POINTS)
        epoch_means = curves.get((metric, "epoch"), NO_POINTS)
        val = curves.get((f"val_{metric}", "epoch"), NO_POINTS)
        first = panel == 1  # one legend entry per kind of line
        traces += [
            scatter(_column(live, "epoch"), _column(live, "value"), panel, mode="lines", name="train",
                    line=dict(color=TRAIN_COLOR, width=2), legendgroup="train", showlegend=first),
            scatter(_column(epoch_means, "epoch"), _column(epoch_means, "value"), panel, mode="markers",
                    name="train, epoch mean", marker=dict(color=TRAIN_COLOR, size=7), legendgroup="train epoch",
                    showlegend=first),
            scatter(_column(val, "epoch"), _column(val, "value"), panel, mode="lines+markers", name="validation",
                    line=dict(color=VALIDATION_COLOR, width=2, dash="dash"), legendgroup="validation",
                    showlegend=first),
        ]
    layout = two_panel_layout(
        tuple(title for _, title in PANELS), height=height, margin=dict(TOOLBAR_CLEAR, b=LEGEND_ROOM),
        legend=LEGEND_BELOW, uirevision="keep")  # redraws on refresh keep the user's zoom and hidden traces
    axis_updates(layout, "xaxis", title=dict(text="epoch"), rangemode="tozero")
    axis_updates(layout, "yaxis", (1,), rangemode="tozero")
    axis_updates(layout, "yaxis", (2,), range=[0, 1.02])
    if metrics.empty:
        # No ticks on empty axes: the text spans both panels and covered the accuracy axis' labels.
        axis_updates(layout, "yaxis", showticklabels=False)
        axis_updates(layout, "xaxis", showticklabels=False)
        layout["annotations"].append(dict(text=EMPTY_TEXT.get(status, EMPTY_TEXT[RUNNING]), showarrow=False,
                                          xref="paper", yref="paper", x=0.5, y=0.5, bgcolor="white",
                                          font=dict(size=16, color="gray")))
    return assemble(traces, layout)


def _column(points: pd.DataFrame, name: str) -> np.ndarray:
    """One column of a metric's points as floats (an empty array when there are none)."""
    return points[name].to_numpy(dtype=float)
