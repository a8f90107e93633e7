"""A finished run's test predictions: confusion matrix, per-class accuracy, misclassified images."""
from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go


@dataclass(frozen=True)
class Predictions:
    """What the worker kept after evaluating a run on its test split."""

    y_true: np.ndarray
    y_pred: np.ndarray
    class_names: tuple[str, ...]
    mistakes: np.ndarray  # a few misclassified test images, uint8
    mistakes_true: np.ndarray
    mistakes_pred: np.ndarray


def load_predictions(run_dir: Path) -> Predictions | None:
    """The run's saved predictions, or None (runs from before this feature, failed or cancelled runs)."""
    path = run_dir / "predictions.npz"
    if not path.is_file():
        return None
    with np.load(path, allow_pickle=False) as f:
        return Predictions(f["y_true"], f["y_pred"], tuple(str(n) for n in f["class_names"]), f["mistakes"],
                           f["mistakes_true"], f["mistakes_pred"])


def confusion_matrix(p: Predictions) -> np.ndarray:
    """counts[true, predicted]."""
    n = len(p.class_names)
    counts = np.zeros((n, n), dtype=int)
    np.add.at(counts, (p.y_true, p.y_pred), 1)
    return counts


def per_class_accuracy(p: Predictions) -> pd.DataFrame:
    """Accuracy and test count per class."""
    counts = confusion_matrix(p)
    totals = counts.sum(axis=1)
    accuracy = np.divide(np.diag(counts), totals, out=np.zeros(len(totals)), where=totals > 0)
    return pd.DataFrame({"class": list(p.class_names), "test images": totals, "accuracy": accuracy})


def confusion_figure(p: Predictions) -> go.Figure:
    """A heatmap of the confusion matrix, true classes down, predictions across. Its cells can be clicked:
    plotly.js reports no clicks on a heatmap to Streamlit (streamlit/streamlit#8760), so an invisible
    marker sits on each cell and carries the cell's (true, predicted) indices; see `clicked_cell`."""
    counts = confusion_matrix(p)
    names = [html.escape(name) for name in p.class_names]  # class folders are user text; Plotly reads HTML
    true, predicted = np.divmod(np.arange(counts.size), len(names))
    fig = go.Figure(go.Heatmap(z=counts, x=names, y=names, colorscale="Blues", text=counts,
                               texttemplate="%{text}" if len(names) <= 20 else None, hoverinfo="skip"))
    fig.add_trace(go.Scatter(
        x=[names[i] for i in predicted], y=[names[i] for i in true], mode="markers", showlegend=False,
        # plain lists: a numpy array goes to plotly.js as a typed array, whose rows come back as {"0": …}
        customdata=np.stack([true, predicted, counts.ravel()], axis=1).tolist(),
        marker=dict(symbol="square", size=max(8, 360 // len(names)), opacity=0),
        selected=dict(marker=dict(opacity=0)), unselected=dict(marker=dict(opacity=0)),
        hovertemplate="true %{y}, predicted %{x}: %{customdata[2]}<extra>click: its images</extra>"))
    fig.update_layout(height=min(900, 180 + 28 * len(names)), margin=dict(l=10, r=10, t=30, b=10),
                      xaxis_title="predicted", yaxis_title="true",
                      # categories, each labelled: digit names ("0".."9") read as numbers got ticks 0, 2, 4 only
                      xaxis=dict(type="category", dtick=1), yaxis=dict(type="category", dtick=1),
                      # the markers would widen the axes by half a marker; the cells alone set them (true 0 on top)
                      xaxis_range=[-0.5, len(names) - 0.5], yaxis_range=[len(names) - 0.5, -0.5])
    return fig


def clicked_cell(event) -> tuple[int, int] | None:
    """The (true, predicted) class indices of the confusion-matrix cell clicked in `confusion_figure`, from
    `st.plotly_chart(..., on_select="rerun")`'s event; None when nothing is selected."""
    points = (event or {}).get("selection", {}).get("points", [])
    for point in points:
        data = point.get("customdata")
        if data is not None and len(data) >= 2:
            return int(data[0]), int(data[1])
    return None
