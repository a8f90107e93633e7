"""Figures of the Models page: architectures' parameter counts side by side."""
from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

COMPARE_COUNTS = ("parameters", "trainable", "layers with weights")  # the page shows these with thousands separators


def compare_figure(table: pd.DataFrame, input_shape: tuple[int, ...]) -> go.Figure:
    """Parameters per architecture as bars on a linear axis, each labelled with its count."""
    # Linear, not log: a log axis drew 94,698 next to 17,061,834 as a stub that read as zero.
    # The label on each bar keeps a small model's count readable when its bar is a sliver.
    built = table.dropna(subset=["parameters"])
    counts = [int(n) for n in built["parameters"]]
    fig = go.Figure(go.Bar(
        x=built["architecture"].tolist(), y=counts, text=[f"{n:,}" for n in counts], textposition="outside",
        cliponaxis=False, hovertemplate="%{x}<br>%{y:,} parameters<extra></extra>"))
    fig.update_yaxes(title_text="parameters", tickformat="~s",  # 5M, 10M, not 5000000 or 5e+6
                     range=[0, 1.15 * max(counts, default=1)])  # headroom for the tallest bar's label
    fig.update_layout(height=320, margin={"l": 10, "r": 10, "t": 40, "b": 10},
                      title=f"Parameters on {'×'.join(map(str, input_shape))} input")
    return fig
