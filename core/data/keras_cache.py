"""The Keras datasets, read from the Keras cache (and Debian's Fashion-MNIST folder).

Files are read in the exact formats `keras.datasets.*.load_data()` downloads: `mnist.npz`,
Fashion-MNIST's four IDX `.gz` files, and the CIFAR python pickles. Reading them here instead
of calling the Keras loaders keeps TensorFlow out of the UI process, and accepts any sample
count (the Keras CIFAR loader assumes exactly 50,000; its MNIST loader re-downloads a file
whose hash differs). Downloading, which needs the network, is left to Keras itself (`download`).
"""
from __future__ import annotations

import gzip
import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.errors import Refusal
from core.settings import Settings

FASHION_FILES = (
    "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz",
)
CIFAR10_NAMES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
FASHION_NAMES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                 "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
DIGIT_NAMES = tuple(str(i) for i in range(10))


class DownloadError(Refusal, RuntimeError):
    """A dataset could not be downloaded; the message says where to put its files instead."""


@dataclass(frozen=True)
class KerasDataset:
    """A dataset `keras.datasets` can download, and where its files sit in the cache."""

    key: str
    title: str
    input_shape: tuple[int, int, int]
    num_classes: int
    train_size: int
    test_size: int
    download_mb: int  # size of the download, for the progress bar
    keras_module: str  # keras.datasets.<module>.load_data downloads it
    label_mode: str | None = None  # CIFAR-100: "fine" or "coarse"


KERAS_DATASETS = {
    d.key: d for d in (
        KerasDataset("mnist", "MNIST", (28, 28, 1), 10, 60000, 10000, 11, "mnist"),
        KerasDataset("fashion_mnist", "Fashion-MNIST", (28, 28, 1), 10, 60000, 10000, 30, "fashion_mnist"),
        KerasDataset("cifar10", "CIFAR-10", (32, 32, 3), 10, 50000, 10000, 163, "cifar10"),
        KerasDataset("cifar100", "CIFAR-100 (100 fine labels)", (32, 32, 3), 100, 50000, 10000, 161,
                     "cifar100", "fine"),
        KerasDataset("cifar100_coarse", "CIFAR-100 (20 coarse labels)", (32, 32, 3), 20, 50000, 10000, 161,
                     "cifar100", "coarse"),
    )
}


def _datasets_dir(settings: Settings) -> Path:
    return settings.keras_home / "datasets"


def candidate_folders(key: str, settings: Settings) -> list[Path]:
    """Where the files of `key` may be, in the order they are searched."""
    base = _datasets_dir(settings)
    if key == "mnist":
        return [base]
    if key == "fashion_mnist":
        return [base / "fashion-mnist", settings.fashion_mnist_dir]
    if key == "cifar10":
        # Keras 3 extracts into "<name>-target/"; older versions straight into the cache.
        return [base / "cifar-10-batches-py-target" / "cifar-10-batches-py", base / "cifar-10-batches-py"]
    if key in ("cifar100", "cifar100_coarse"):
        return [base / "cifar-100-python-target" / "cifar-100-python", base / "cifar-100-python"]
    raise KeyError(key)


def _required_files(key: str) -> tuple[str, ...]:
    return {
        "mnist": ("mnist.npz",),
        "fashion_mnist": FASHION_FILES,
        "cifar10": tuple(f"data_batch_{i}" for i in range(1, 6)) + ("test_batch",),
        "cifar100": ("train", "test"),
        "cifar100_coarse": ("train", "test"),
    }[key]


def find_folder(key: str, settings: Settings) -> Path | None:
    """The first folder holding every file of `key`, or None."""
    for folder in candidate_folders(key, settings):
        if all((folder / f).is_file() for f in _required_files(key)):
            return folder
    return None


def files_size(key: str, folder: Path) -> int:
    """Bytes on disk of the dataset's files."""
    return sum((folder / f).stat().st_size for f in _required_files(key))


def missing_hint(key: str, settings: Settings) -> str:
    """Where to put the files of a dataset that is not here."""
    first = candidate_folders(key, settings)[0]
    files = ", ".join(_required_files(key))
    extra = " or `apt-get install dataset-fashion-mnist`" if key == "fashion_mnist" else ""
    return f"download it on the Data page (needs network){extra}, or put {files} in {first}/"


# -- readers ------------------------------------------------------------------------------
def read_idx_gz(path: Path) -> np.ndarray:
    """Read one gzipped IDX file (the MNIST family's format) into a uint8 array."""
    with gzip.open(path, "rb") as fh:
        data = fh.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def _read_cifar_pickle(path: Path) -> dict:
    # The cache holds the pickles Keras itself downloaded and would unpickle the same way.
    with open(path, "rb") as fh:
        return pickle.load(fh, encoding="bytes")


def _cifar_images(batch: dict) -> np.ndarray:
    data = np.asarray(batch[b"data"], dtype=np.uint8)
    return data.reshape(len(data), 3, 32, 32).transpose(0, 2, 3, 1)


def _names(meta: Path, field: bytes, count: int) -> tuple[str, ...]:
    try:
        return tuple(n.decode() for n in _read_cifar_pickle(meta)[field])
    except (OSError, KeyError, pickle.UnpicklingError, EOFError):
        return tuple(str(i) for i in range(count))


def load_arrays(key: str, folder: Path):
    """(x_train, y_train, x_test, y_test, class_names): uint8 images (N, H, W, C), int64 labels."""
    if key == "mnist":
        with np.load(folder / "mnist.npz", allow_pickle=False) as f:
            arrays = [f["x_train"][..., None], f["y_train"], f["x_test"][..., None], f["y_test"]]
        names = DIGIT_NAMES
    elif key == "fashion_mnist":
        x_train, y_train, x_test, y_test = (read_idx_gz(folder / f) for f in FASHION_FILES)
        arrays = [x_train[..., None], y_train, x_test[..., None], y_test]
        names = FASHION_NAMES
    elif key == "cifar10":
        batches = [_read_cifar_pickle(folder / f"data_batch_{i}") for i in range(1, 6)]
        test = _read_cifar_pickle(folder / "test_batch")
        arrays = [np.concatenate([_cifar_images(b) for b in batches]),
                  np.concatenate([b[b"labels"] for b in batches]), _cifar_images(test), np.asarray(test[b"labels"])]
        names = _names(folder / "batches.meta", b"label_names", 10) if (folder / "batches.meta").exists() \
            else CIFAR10_NAMES
    elif key in ("cifar100", "cifar100_coarse"):
        mode = KERAS_DATASETS[key].label_mode
        train, test = _read_cifar_pickle(folder / "train"), _read_cifar_pickle(folder / "test")
        field = f"{mode}_labels".encode()
        arrays = [_cifar_images(train), np.asarray(train[field]), _cifar_images(test), np.asarray(test[field])]
        names = _names(folder / "meta", f"{mode}_label_names".encode(), KERAS_DATASETS[key].num_classes)
    else:
        raise KeyError(key)
    x_train, y_train, x_test, y_test = arrays
    return (x_train.astype(np.uint8, copy=False), np.asarray(y_train, dtype=np.int64).ravel(),
            x_test.astype(np.uint8, copy=False), np.asarray(y_test, dtype=np.int64).ravel(), tuple(names))


# -- download -----------------------------------------------------------------------------
def download(key: str, settings: Settings) -> Path:
    """Download `key` into the Keras cache with Keras' own loader (needs network); returns the folder.

    Raises RuntimeError with a one-line message, saying where to put the files, when it fails.
    """
    import importlib
    import os

    os.environ["KERAS_HOME"] = str(settings.keras_home)
    dataset = KERAS_DATASETS[key]
    module = importlib.import_module(f"keras.datasets.{dataset.keras_module}")
    try:
        if dataset.label_mode:
            module.load_data(label_mode=dataset.label_mode)
        else:
            module.load_data()
    except Exception as exc:  # no network, a proxy, a full disk: say what to do instead
        reason = " ".join(str(exc).split())[:200]
        where = missing_hint(key, settings).split(", or ", 1)[-1]
        raise DownloadError(f"dataset: could not download {dataset.title}, no network? Instead, {where} "
                           f"({reason})") from exc
    folder = find_folder(key, settings)
    if folder is None:
        raise DownloadError(f"dataset: {dataset.title} downloaded but its files were not found in "
                           f"{candidate_folders(key, settings)[0]}")
    return folder
