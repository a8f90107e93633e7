"""Synthetic datasets in the on-disk formats Train Lab reads, for tests and benchmarks.

Nothing here is downloaded: Fashion-MNIST-format IDX files whose brightness encodes the class
(learnable in a few batches), and CIFAR-10 python pickles of random pixels (for sizes and speed).
"""
from __future__ import annotations

import gzip
import pickle
from pathlib import Path

import numpy as np

CIFAR10_LABEL_NAMES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


def write_idx_gz(path: Path, array: np.ndarray) -> None:
    """Write `array` (uint8) as a gzipped IDX file, the format of the MNIST family."""
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Level 1: a 60,000-image file is written in a second, and these files are thrown away.
    with gzip.open(path, "wb", compresslevel=1) as fh:
        fh.write(header + array.astype(np.uint8).tobytes())


def make_fashion_files(folder: Path, n_train: int = 60, n_test: int = 20, seed: int = 0) -> None:
    """Fashion-MNIST-format files: 28x28 images whose brightness encodes the class."""
    rng = np.random.default_rng(seed)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        labels = np.arange(n) % 10
        images = (labels[:, None, None] * 25 + rng.integers(0, 5, (n, 28, 28))).astype(np.uint8)
        write_idx_gz(folder / f"{prefix}-images-idx3-ubyte.gz", images)
        write_idx_gz(folder / f"{prefix}-labels-idx1-ubyte.gz", labels.astype(np.uint8))


def _pickle(path: Path, obj) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:
        pickle.dump(obj, fh)


def cifar_rows(n: int, seed: int) -> np.ndarray:
    """CIFAR stores each image as 3072 bytes: the red plane, then green, then blue (32x32 each)."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, 3072), dtype=np.uint8)


def make_cifar10(folder: Path, per_batch: int = 4, n_test: int = 6) -> None:
    """CIFAR-10 python pickles (data_batch_1..5, test_batch, batches.meta) in `folder`."""
    for i in range(1, 6):
        _pickle(folder / f"data_batch_{i}", {b"data": cifar_rows(per_batch, i),
                                             b"labels": [(i + j) % 10 for j in range(per_batch)]})
    _pickle(folder / "test_batch", {b"data": cifar_rows(n_test, 9), b"labels": [j % 10 for j in range(n_test)]})
    _pickle(folder / "batches.meta", {b"label_names": [n.encode() for n in CIFAR10_LABEL_NAMES]})


def make_cifar100(folder: Path, n_train: int = 12, n_test: int = 5) -> None:
    """CIFAR-100 pickles (train, test, meta) with fine and coarse labels."""
    for name, n, seed in (("train", n_train, 1), ("test", n_test, 2)):
        _pickle(folder / name, {b"data": cifar_rows(n, seed), b"fine_labels": [(7 * j) % 100 for j in range(n)],
                                b"coarse_labels": [j % 20 for j in range(n)]})
    _pickle(folder / "meta", {b"fine_label_names": [f"fine{i}".encode() for i in range(100)],
                              b"coarse_label_names": [f"coarse{i}".encode() for i in range(20)]})
