"""Plotly figures for training curves, built from a run's metric DataFrame."""
from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

TRAIN_COLOR = "#1f77b4"
VALIDATION_COLOR = "#ff7f0e"
PANELS = (("loss", "Loss"), ("accuracy", "Accuracy"))


def curve_series(metrics: pd.DataFrame, name: str, kind: str) -> pd.DataFrame:
    """Points of one metric and kind ('batch' or 'epoch') in step order."""
    if metrics.empty:
        return metrics
    return metrics[(metrics["name"] == name) & (metrics["kind"] == kind)].sort_values("step")


EMPTY_TEXT = {  # what an empty chart says, by run status
    "not started": "Press Start: the run's loss and accuracy grow here.",
    "queued": "Waiting for the first points…",
    "running": "Waiting for the first points…",
    "failed": "The run failed before its first points (the reason is above).",
    "cancelled": "Cancelled before its first points.",
    "succeeded": "No points were recorded.",
}


def training_curves(metrics: pd.DataFrame | None, height: int = 340, status: str = "running") -> go.Figure:
    """Loss and accuracy against epochs: train as a solid line that grows within epochs (mean of
    the recent batches) with a dot per epoch mean; validation dashed with a marker per epoch.
    An empty chart says why, from the run's `status` (no metrics at all: a run not started yet)."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=[title for _, title in PANELS], horizontal_spacing=0.08)
    if metrics is None:
        metrics = pd.DataFrame(columns=["kind", "step", "epoch", "elapsed", "name", "value"])
    for col, (metric, _) in enumerate(PANELS, start=1):
        live = curve_series(metrics, metric, "batch")
        epoch_means = curve_series(metrics, metric, "epoch")
        val = curve_series(metrics, f"val_{metric}", "epoch")
        fig.add_trace(go.Scatter(
            x=live.get("epoch", []), y=live.get("value", []), mode="lines", name="train",
            line=dict(color=TRAIN_COLOR, width=2), legendgroup="train", showlegend=col == 1,
        ), row=1, col=col)
        fig.add_trace(go.Scatter(
            x=epoch_means.get("epoch", []), y=epoch_means.get("value", []), mode="markers",
            name="train, epoch mean", marker=dict(color=TRAIN_COLOR, size=7), legendgroup="train epoch",
            showlegend=col == 1,
        ), row=1, col=col)
        fig.add_trace(go.Scatter(
            x=val.get("epoch", []), y=val.get("value", []), mode="lines+markers", name="validation",
            line=dict(color=VALIDATION_COLOR, width=2, dash="dash"), legendgroup="validation",
            showlegend=col == 1,
        ), row=1, col=col)
    fig.update_xaxes(title_text="epoch", rangemode="tozero")
    fig.update_yaxes(rangemode="tozero", row=1, col=1)
    fig.update_yaxes(range=[0, 1.02], row=1, col=2)
    if metrics.empty:
        fig.add_annotation(text=EMPTY_TEXT.get(status, EMPTY_TEXT["running"]), showarrow=False,
                           xref="paper", yref="paper",
                           x=0.5, y=0.5, font=dict(size=16, color="gray"))
    fig.update_layout(
        height=height, margin=dict(l=10, r=10, t=30, b=10),
        # Below the plots, clear of the subplot titles and Plotly's toolbar.
        legend=dict(orientation="h", yanchor="top", y=-0.2, xanchor="center", x=0.5),
        uirevision="keep",  # redraws on refresh keep the user's zoom and hidden traces
    )
    return fig
