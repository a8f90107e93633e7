"""The datasets Train Lab can train on: what they are, whether this machine has them, loading.

Describing a dataset (`catalog`, `get_info`) is cheap and never imports TensorFlow, so the
pages stay fast; `load` is called by workers. Images come back as uint8 arrays shaped
(N, H, W, C) and labels as int64, so memory stays small until batches are scaled.
"""
from __future__ import annotations

import gzip
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.settings import Settings, load_settings

DIGIT_NAMES = tuple(str(i) for i in range(10))
FASHION_NAMES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)
FASHION_FILES = (
    "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz",
)


@dataclass(frozen=True)
class DatasetInfo:
    """What a page needs to know about a dataset without loading it."""

    key: str
    title: str
    input_shape: tuple[int, int, int]
    class_names: tuple[str, ...]
    train_size: int
    test_size: int
    available: bool
    location: str  # where the files are, or where to put them
    hint: str  # how to make a missing dataset available; empty when available

    @property
    def num_classes(self) -> int:
        """Number of label classes."""
        return len(self.class_names)


@dataclass(frozen=True)
class ArrayDataset:
    """A loaded dataset: uint8 images (N, H, W, C) and int64 labels."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: tuple[str, ...]


class DatasetUnavailable(Exception):
    """The dataset's files are not on this machine; the message says where to put them."""


# -- where files live ---------------------------------------------------------------------
def _fashion_dir(settings: Settings) -> Path | None:
    for folder in (settings.keras_home / "datasets" / "fashion-mnist", settings.fashion_mnist_dir):
        if all((folder / f).is_file() for f in FASHION_FILES):
            return folder
    return None


def _mnist_file(settings: Settings) -> Path:
    return settings.keras_home / "datasets" / "mnist.npz"


# -- catalog ------------------------------------------------------------------------------
def catalog(settings: Settings | None = None) -> list[DatasetInfo]:
    """Every dataset Train Lab knows, with its availability on this machine."""
    settings = settings or load_settings()
    fashion = _fashion_dir(settings)
    mnist = _mnist_file(settings)
    keras_fashion = settings.keras_home / "datasets" / "fashion-mnist"
    return [
        DatasetInfo(
            key="digits", title="Digits 8x8 (bundled, offline)", input_shape=(8, 8, 1),
            class_names=DIGIT_NAMES, train_size=1437, test_size=360, available=True,
            location="bundled with scikit-learn", hint="",
        ),
        DatasetInfo(
            key="fashion_mnist", title="Fashion-MNIST", input_shape=(28, 28, 1),
            class_names=FASHION_NAMES, train_size=60000, test_size=10000,
            available=fashion is not None,
            location=str(fashion or keras_fashion),
            hint="" if fashion else (
                f"install it with `apt-get install dataset-fashion-mnist`, or put the four .gz "
                f"files in {keras_fashion}/"
            ),
        ),
        DatasetInfo(
            key="mnist", title="MNIST", input_shape=(28, 28, 1),
            class_names=DIGIT_NAMES, train_size=60000, test_size=10000,
            available=mnist.is_file(), location=str(mnist),
            hint="" if mnist.is_file() else f"put Keras' mnist.npz at {mnist}",
        ),
    ]


def get_info(key: str, settings: Settings | None = None) -> DatasetInfo | None:
    """The catalog entry for `key`, or None if there is no such dataset."""
    return next((d for d in catalog(settings) if d.key == key), None)


# -- loading ------------------------------------------------------------------------------
def load(key: str, settings: Settings | None = None) -> ArrayDataset:
    """Load a dataset into memory; raises DatasetUnavailable with the fix when it is missing."""
    settings = settings or load_settings()
    info = get_info(key, settings)
    if info is None:
        raise DatasetUnavailable(f"dataset: unknown dataset {key!r}")
    if not info.available:
        raise DatasetUnavailable(f"dataset: {info.title} is not on this machine; {info.hint}")
    if key == "digits":
        return _load_digits()
    if key == "fashion_mnist":
        return _load_idx_folder(_fashion_dir(settings), FASHION_NAMES)
    if key == "mnist":
        return _load_mnist_npz(_mnist_file(settings))
    raise DatasetUnavailable(f"dataset: no loader for {key!r}")


def _load_digits() -> ArrayDataset:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    # Pixel values are 0..16; stretch them to 0..255 so every dataset scales the same way.
    images = np.round(digits.images * (255.0 / 16.0)).astype(np.uint8)[..., None]
    labels = digits.target.astype(np.int64)
    # A fixed, stratified 80/20 split so test accuracy means the same thing for every run.
    x_train, x_test, y_train, y_test = train_test_split(
        images, labels, test_size=360, stratify=labels, random_state=0
    )
    return ArrayDataset(x_train, y_train, x_test, y_test, DIGIT_NAMES)


def read_idx_gz(path: Path) -> np.ndarray:
    """Read one gzipped IDX file (the MNIST family's format) into a uint8 array."""
    with gzip.open(path, "rb") as fh:
        data = fh.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def _load_idx_folder(folder: Path | None, class_names: tuple[str, ...]) -> ArrayDataset:
    assert folder is not None
    x_train, y_train, x_test, y_test = (read_idx_gz(folder / f) for f in FASHION_FILES)
    return ArrayDataset(
        x_train[..., None], y_train.astype(np.int64), x_test[..., None], y_test.astype(np.int64), class_names
    )


def _load_mnist_npz(path: Path) -> ArrayDataset:
    with np.load(path) as f:
        return ArrayDataset(
            f["x_train"][..., None].astype(np.uint8), f["y_train"].astype(np.int64),
            f["x_test"][..., None].astype(np.uint8), f["y_test"].astype(np.int64), DIGIT_NAMES,
        )
