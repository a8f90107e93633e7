"""A finished run's test predictions: confusion matrix, per-class accuracy, misclassified images."""
from __future__ import annotations

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
    """A heatmap of the confusion matrix, true classes down, predictions across."""
    counts = confusion_matrix(p)
    names = list(p.class_names)
    fig = go.Figure(go.Heatmap(z=counts, x=names, y=names, colorscale="Blues", text=counts,
                               texttemplate="%{text}" if len(names) <= 20 else None,
                               hovertemplate="true %{y}, predicted %{x}: %{z}<extra></extra>"))
    fig.update_layout(height=min(900, 180 + 28 * len(names)), margin=dict(l=10, r=10, t=30, b=10),
                      xaxis_title="predicted", yaxis_title="true", yaxis_autorange="reversed")
    return fig
