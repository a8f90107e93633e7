"""The Augment page's work: the photos it offers, a photo from an upload or a dataset, and augmented
copies through the pipeline's Keras layers (loaded on first use, in the page's process)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from core.data import datasets, images
from core.data.datasets import DatasetUnavailable
from core.data.images import SUFFIXES, ImageError
from core.settings import Settings
from core.training import augmentation
from core.training.augmentation import Samples

__all__ = ["SUFFIXES", "DatasetUnavailable", "ImageError", "Samples", "photos", "photo", "uploaded_photo",
           "dataset_images", "as_rgb", "drawing", "samples", "layer_summary"]


def photos(settings: Settings) -> dict[str, Path]:
    """The sample photos by name: the shipped dog and cat, then the user's own folder."""
    return images.sample_photos(settings)


def photo(path: Path) -> np.ndarray:
    """A sample photo as uint8 RGB; ImageError when it cannot be read."""
    return images.load_photo(path)


def uploaded_photo(data: bytes, filename: str) -> np.ndarray:
    """An uploaded photo as uint8 RGB, checked (size, pixels, format); ImageError with the reason."""
    return images.decode(data, filename)


def drawing(rgba: np.ndarray | None) -> np.ndarray | None:
    """A drawing from the browser's canvas as uint8 RGB over black (None while the canvas is empty)."""
    return images.from_canvas(rgba)


def dataset_images(key: str, settings: Settings) -> np.ndarray:
    """The training images of dataset `key` (N, H, W, C); DatasetUnavailable when it cannot be loaded."""
    return datasets.load(key, settings).x_train


def as_rgb(image: np.ndarray) -> np.ndarray:
    """One dataset image (H, W, 1|3) as uint8 RGB, to augment and show."""
    return images.dataset_image(image)


def samples(image: np.ndarray, spec: list[dict], count: int, seed: int) -> Samples:
    """`count` augmented copies of `image`, reproducible from `seed`; AugmentError for a bad pipeline."""
    return augmentation.augment(image, spec, count, seed=seed)


def layer_summary(layer: str) -> str:
    """One line on what a Keras preprocessing layer does."""
    return augmentation.layer_summary(layer)
