"""Plotly figures for training curves, built from a run's metric DataFrame."""
from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

TRAIN_COLOR = "#1f77b4"
VALIDATION_COLOR = "#ff7f0e"
PANELS = (("loss", "Loss"), ("accuracy", "Accuracy"))


def curve_series(metrics: pd.DataFrame, name: str) -> pd.DataFrame:
    """Points of one metric in step order; within-epoch and epoch-end points share one line."""
    if metrics.empty:
        return metrics
    series = metrics[metrics["name"] == name].sort_values(["step", "kind"])
    # At an epoch end the last within-epoch point and the epoch point can share a step: keep the epoch one.
    return series.drop_duplicates("step", keep="last")


def training_curves(metrics: pd.DataFrame, height: int = 340) -> go.Figure:
    """Loss and accuracy against epochs: train as a solid line that grows within epochs,
    validation dashed with a marker per epoch."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=[title for _, title in PANELS], horizontal_spacing=0.08)
    for col, (metric, _) in enumerate(PANELS, start=1):
        train = curve_series(metrics, metric)
        val = curve_series(metrics, f"val_{metric}")
        fig.add_trace(go.Scatter(
            x=train.get("epoch", []), y=train.get("value", []), mode="lines", name="train",
            line=dict(color=TRAIN_COLOR, width=2), legendgroup="train", showlegend=col == 1,
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
        fig.add_annotation(text="Waiting for the first points…", showarrow=False, xref="paper", yref="paper",
                           x=0.5, y=0.5, font=dict(size=16, color="gray"))
    fig.update_layout(
        height=height, margin=dict(l=10, r=10, t=40, b=10),
        legend=dict(orientation="h", yanchor="bottom", y=1.08, xanchor="right", x=1),
        uirevision="keep",  # redraws on refresh keep the user's zoom and hidden traces
    )
    return fig
