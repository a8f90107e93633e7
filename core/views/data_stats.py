"""What the Data page shows about a loaded dataset: class counts, pixel statistics, sample images."""
from __future__ import annotations

import html

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from core.data import image_folders
from core.data.datasets import FOLDER_PREFIX, ArrayDataset
from core.settings import Settings
from core.views.figures import LEGEND_BELOW, LEGEND_ROOM, TOOLBAR_CLEAR


def class_counts(data: ArrayDataset) -> pd.DataFrame:
    """Images per class in the train and test splits (one row per class)."""
    n = len(data.class_names)
    return pd.DataFrame({
        "class": list(data.class_names),
        "train": np.bincount(data.y_train, minlength=n)[:n],
        "test": np.bincount(data.y_test, minlength=n)[:n],
    })


def class_distribution_chart(counts: pd.DataFrame) -> go.Figure:
    """Grouped bars of images per class, train beside test."""
    classes = [html.escape(str(c)) for c in counts["class"]]  # class folders are user text; Plotly reads HTML
    fig = go.Figure([go.Bar(name=split, x=classes, y=counts[split]) for split in ("train", "test")])
    fig.update_layout(barmode="group", height=380, margin=dict(TOOLBAR_CLEAR, b=LEGEND_ROOM), yaxis_title="images",
                      legend=LEGEND_BELOW, xaxis_title="class",
                      xaxis=dict(type="category", dtick=1))  # every class named ("0".."9" read as numbers: 0, 5)
    return fig


def pixel_stats(data: ArrayDataset, max_images: int = 5000) -> pd.DataFrame:
    """Mean, standard deviation, min and max per channel on the 0..255 scale (and mean on 0..1),
    from up to `max_images` training images so a large dataset stays quick."""
    x = data.x_train[:max_images]
    names = ["gray"] if x.shape[-1] == 1 else ["red", "green", "blue"]
    rows = []
    for c, name in enumerate(names):
        channel = x[..., c].astype(np.float64)
        rows.append({"channel": name, "mean": channel.mean(), "std": channel.std(), "min": int(channel.min()),
                     "max": int(channel.max()), "mean (0..1)": channel.mean() / 255})
    return pd.DataFrame(rows).round(3)


def sample_indices(labels: np.ndarray, per_class: int, num_classes: int, seed: int = 0) -> dict[int, np.ndarray]:
    """Up to `per_class` random training indices for each class id, reproducible from `seed`."""
    rng = np.random.default_rng(seed)
    picks = {}
    for c in range(num_classes):
        members = np.flatnonzero(labels == c)
        picks[c] = rng.choice(members, min(per_class, len(members)), replace=False) if len(members) else members
    return picks


def to_rgb(image: np.ndarray) -> np.ndarray:
    """An (H, W, 1|3) uint8 image as (H, W, 3) for display."""
    return np.repeat(image, 3, axis=-1) if image.shape[-1] == 1 else image


def folder_thumbnails(key: str, settings: Settings, per_class: int) -> dict[str, list[np.ndarray]]:
    """A few images per class of image-folder dataset `key` ('folder:<path>'), read with Pillow."""
    folder = _folder(key, settings)
    return image_folders.thumbnails(folder, per_class) if folder else {}


def folder_counts(key: str, settings: Settings) -> pd.DataFrame:
    """Images per class of an image-folder dataset, split as training will split it."""
    folder = _folder(key, settings)
    if folder is None:
        return pd.DataFrame(columns=["class", "train", "test"])
    if folder.has_test_folder:
        train, test = folder.train_counts, folder.test_counts
    else:
        test = tuple(image_folders.held_out(c) for c in folder.train_counts)
        train = tuple(c - t for c, t in zip(folder.train_counts, test))
    return pd.DataFrame({"class": folder.class_names, "train": train, "test": test})


def _folder(key: str, settings: Settings) -> image_folders.ImageFolder | None:
    try:
        path = image_folders.resolve(key.removeprefix(FOLDER_PREFIX), settings)
    except image_folders.FolderError:
        return None
    return image_folders.describe(path, settings.data_root.resolve())
