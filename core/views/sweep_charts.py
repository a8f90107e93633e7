"""Plotly figures of a sweep's results: parallel coordinates, score against each
hyperparameter, and an optimizer × learning-rate heatmap per architecture and dataset.

Each takes the trials table from `core.sweeps.trials_table` and draws only the axes that vary,
so a sweep over two optimizers is not buried under constant columns.
"""
from __future__ import annotations

import html
import math

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from core.domain.sweep_spec import PARAM_COLUMNS, SCORE
from core.domain.wording import share
from core.views.display import distinguishing
from core.views.figures import TOOLBAR_CLEAR

SCORE_LABEL = "validation accuracy"


def scored(trials: pd.DataFrame) -> pd.DataFrame:
    """Trials that finished with a validation score."""
    return trials[trials[SCORE].notna()]


def varying(trials: pd.DataFrame) -> list[str]:
    """The hyperparameters that take more than one value among these trials."""
    return [c for c in PARAM_COLUMNS if trials[c].nunique() > 1]


def _empty(text: str) -> go.Figure:
    fig = go.Figure()
    fig.add_annotation(text=text, showarrow=False, xref="paper", yref="paper", x=0.5, y=0.5,
                       font=dict(size=15, color="gray"))
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    fig.update_layout(height=220, margin=dict(l=10, r=10, t=10, b=10))
    return fig


def _dimension(values: pd.Series, name: str, label: str) -> dict:
    """A parcoords axis titled `label`: numbers as they are (learning rate on log10), text as ticked categories
    (a setting some runs lack reads "—")."""
    numbers = pd.to_numeric(values, errors="coerce")
    if name == "learning_rate" and numbers.notna().all():
        logs = np.log10(numbers.astype(float))
        ticks = sorted(set(logs.round(6)))
        return dict(label=label, values=logs, tickvals=ticks, ticktext=[f"{10 ** t:.3g}" for t in ticks])
    if numbers.notna().all() and not pd.api.types.is_bool_dtype(values):
        numbers = numbers.astype(float)
        ticks = sorted(set(numbers))  # a few settings (epochs 3 and 4): ticked at them, not at 3.2, 3.4 …
        return dict(label=label, values=numbers,
                    **(dict(tickvals=ticks, ticktext=[f"{t:g}" for t in ticks]) if len(ticks) <= 8 else {}))
    text = values.map(lambda v: "—" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v))
    categories = sorted(text.unique())
    codes = text.map({c: i for i, c in enumerate(categories)})
    # Architecture specs share most words: the axis names each by the words that tell it apart.
    short = distinguishing(categories, 28)
    return dict(label=label, values=codes, tickvals=list(range(len(categories))),
                ticktext=[html.escape(short[c]) for c in categories])  # variant labels are typed: Plotly reads HTML


def parallel_coordinates(trials: pd.DataFrame, height: int = 380, columns: list[str] | None = None,
                         labels: dict[str, str] | None = None) -> go.Figure:
    """One line per finished trial across the varying hyperparameters (or `columns`, titled by `labels`),
    coloured by validation accuracy."""
    data = scored(trials)
    columns = varying(data) if columns is None else columns
    if data.empty or not columns:
        return _empty("Appears once trials that differ have finished")
    labels = labels or {}
    dims = [_dimension(data[c], c, labels.get(c, c.replace("_", " "))) for c in columns]
    dims.append(dict(label=SCORE_LABEL, values=data[SCORE].astype(float), tickformat=".1%", range=[
        float(data[SCORE].min()), float(data[SCORE].max())]))
    fig = go.Figure(go.Parcoords(line=dict(color=data[SCORE].astype(float), colorscale="Viridis", showscale=True,
                                           colorbar=dict(title=dict(text="val acc"))), dimensions=dims))
    # Room for category names at the left, and for the axes' titles under Plotly's toolbar.
    fig.update_layout(height=height, margin=dict(l=140, r=40, t=TOOLBAR_CLEAR["t"] + 24, b=20))
    return fig


def _axis_values(data: pd.DataFrame, column: str) -> pd.Series:
    """A hyperparameter's values as one panel's x: learning rates as ordered categories ("0.0003"; a log axis
    wrote "2 5 0.001 2 5" in a narrow panel), architectures by the words that tell them apart."""
    if column == "learning_rate":
        return data[column].map(lambda lr: f"{lr:g}")
    if pd.api.types.is_numeric_dtype(data[column]):
        return data[column]
    labels = distinguishing(sorted(data[column].astype(str).unique()), 18)
    return data[column].astype(str).map(lambda v: html.escape(labels[v]))  # typed text: Plotly reads HTML


def score_scatter(trials: pd.DataFrame, height: int = 320) -> go.Figure:
    """Validation accuracy against each varying hyperparameter, two panels a row (three cut their labels into
    each other at 1024 px)."""
    data = scored(trials)
    columns = varying(data)
    if data.empty or not columns:
        return _empty("Appears once trials that differ have finished")
    cols = min(2, len(columns))
    rows = math.ceil(len(columns) / cols)
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=[c.replace("_", " ") for c in columns],
                        shared_yaxes=True, vertical_spacing=0.3 / rows, horizontal_spacing=0.06)
    # Plotly reads text as HTML: architectures typed on the Sweeps page stay text.
    text = [html.escape(f"#{r.run} {r.architecture} · {r.optimizer} lr={r.learning_rate:g}") for r in data.itertuples()]
    for i, column in enumerate(columns):
        row, col = divmod(i, cols)
        x = _axis_values(data, column)
        order = sorted(x.unique(), key=float) if column == "learning_rate" else None
        fig.add_trace(go.Scatter(x=x, y=data[SCORE], mode="markers", text=text, showlegend=False,
                                 hovertemplate="%{text}<br>val acc %{y:.4f}<extra></extra>",
                                 marker=dict(size=9, color=data[SCORE], colorscale="Viridis", opacity=0.8)),
                      row=row + 1, col=col + 1)
        if order is not None or not pd.api.types.is_numeric_dtype(x):
            fig.update_xaxes(type="category", categoryorder="array", categoryarray=order or sorted(x.unique()),
                             row=row + 1, col=col + 1)
    fig.update_yaxes(title_text=SCORE_LABEL, col=1)
    fig.update_layout(height=height * rows, margin=dict(TOOLBAR_CLEAR, b=10))
    return fig


def optimizer_lr_heatmaps(trials: pd.DataFrame, height_per_row: int = 300) -> go.Figure:
    """Mean validation accuracy per optimizer × learning rate: one panel per architecture and dataset."""
    data = scored(trials)
    if data.empty:
        return _empty("Appears once trials have finished")
    panels = sorted(data.groupby(["dataset", "architecture"]).groups)
    cols = min(2, len(panels))  # three titles a row ran into each other at 1024 px
    rows = math.ceil(len(panels) / cols)
    short = distinguishing(sorted(data["architecture"].astype(str).unique()), 26)
    titles = [html.escape(f"{short[arch]} · {dataset}" if data["dataset"].nunique() > 1 else short[arch])
              for dataset, arch in panels]
    # Shared y (optimizers): one set of labels per row instead of labels overlapping the next panel.
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=titles, shared_yaxes=True,
                        vertical_spacing=0.25 / (rows - 1) if rows > 1 else 0.1, horizontal_spacing=0.04)
    low, high = float(data[SCORE].min()), float(data[SCORE].max())
    for i, (dataset, arch) in enumerate(panels):
        cell = data[(data["dataset"] == dataset) & (data["architecture"] == arch)]
        table = cell.pivot_table(index="optimizer", columns="learning_rate", values=SCORE, aggfunc="mean")
        row, col = divmod(i, cols)
        fig.add_trace(go.Heatmap(
            z=table.to_numpy(), x=[f"{lr:g}" for lr in table.columns], y=list(table.index), zmin=low, zmax=high,
            colorscale="Viridis", showscale=i == 0, colorbar=dict(title=dict(text="val acc"), tickformat=".0%"),
            text=[[share(v, 1) if pd.notna(v) else "" for v in r] for r in table.to_numpy()],
            texttemplate="%{text}", hovertemplate="%{y} lr=%{x}<br>val acc %{z:.2%}<extra></extra>",
        ), row=row + 1, col=col + 1)
        fig.update_xaxes(type="category", title_text="learning rate", row=row + 1, col=col + 1)
    fig.update_layout(height=height_per_row * rows, margin=dict(TOOLBAR_CLEAR, b=10))
    return fig
