"""Shared fixtures: every test gets its own lab folder and Keras cache, and no stray workers."""
from __future__ import annotations

import gzip
import os
import time
from pathlib import Path

import numpy as np
import pytest

from core.settings import Settings, load_settings
from core.store import RunStore

PROJECT_ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@pytest.fixture
def lab(tmp_path, monkeypatch) -> Settings:
    """An empty Train Lab home in a temp folder; workers do not start by themselves."""
    monkeypatch.setenv("TRAINLAB_HOME", str(tmp_path / "lab"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setenv("TRAINLAB_FASHION_MNIST_DIR", str(tmp_path / "no-debian-fashion"))
    monkeypatch.setenv("TRAINLAB_AUTOSTART_WORKERS", "0")
    monkeypatch.setenv("TRAINLAB_REPORT_INTERVAL", "0.05")
    monkeypatch.setenv("TRAINLAB_DATA_ROOT", str(tmp_path / "data-root"))
    monkeypatch.setenv("TRAINLAB_SAMPLES_DIR", str(_sample_photos(tmp_path / "samples")))
    return load_settings()


@pytest.fixture
def store(lab) -> RunStore:
    """The run store of the test's lab."""
    s = RunStore(lab.db_path)
    yield s
    s.close()


def write_idx_gz(path: Path, array: np.ndarray) -> None:
    """Write `array` (uint8) as a gzipped IDX file, the format of the MNIST family."""
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wb") as fh:
        fh.write(header + array.astype(np.uint8).tobytes())


def make_fashion_files(folder: Path, n_train: int = 60, n_test: int = 20, seed: int = 0) -> None:
    """Tiny Fashion-MNIST-format files: 28x28 images whose brightness encodes the class."""
    rng = np.random.default_rng(seed)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        labels = np.arange(n) % 10
        images = (labels[:, None, None] * 25 + rng.integers(0, 5, (n, 28, 28))).astype(np.uint8)
        write_idx_gz(folder / f"{prefix}-images-idx3-ubyte.gz", images)
        write_idx_gz(folder / f"{prefix}-labels-idx1-ubyte.gz", labels.astype(np.uint8))


def make_mnist_npz(path: Path, n_train: int = 30, n_test: int = 10) -> None:
    """A tiny `mnist.npz` in Keras' format: uint8 (N, 28, 28) images, uint8 labels."""
    rng = np.random.default_rng(1)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, x_train=rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
             y_train=(np.arange(n_train) % 10).astype(np.uint8),
             x_test=rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
             y_test=(np.arange(n_test) % 10).astype(np.uint8))


def _pickle(path: Path, obj) -> None:
    import pickle

    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:
        pickle.dump(obj, fh)


def _cifar_rows(n: int, seed: int) -> np.ndarray:
    """CIFAR stores each image as 3072 bytes: the red plane, then green, then blue (32x32 each)."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, 3072), dtype=np.uint8)


def make_cifar10(folder: Path, per_batch: int = 4, n_test: int = 6) -> None:
    """Tiny CIFAR-10 python pickles (data_batch_1..5, test_batch, batches.meta) in `folder`."""
    for i in range(1, 6):
        _pickle(folder / f"data_batch_{i}", {b"data": _cifar_rows(per_batch, i),
                                             b"labels": [(i + j) % 10 for j in range(per_batch)]})
    _pickle(folder / "test_batch", {b"data": _cifar_rows(n_test, 9), b"labels": list(range(n_test))})
    _pickle(folder / "batches.meta", {b"label_names": [n.encode() for n in (
        "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")]})


def make_cifar100(folder: Path, n_train: int = 12, n_test: int = 5) -> None:
    """Tiny CIFAR-100 pickles (train, test, meta) with fine and coarse labels."""
    for name, n, seed in (("train", n_train, 1), ("test", n_test, 2)):
        _pickle(folder / name, {b"data": _cifar_rows(n, seed), b"fine_labels": [(7 * j) % 100 for j in range(n)],
                                b"coarse_labels": [j % 20 for j in range(n)]})
    _pickle(folder / "meta", {b"fine_label_names": [f"fine{i}".encode() for i in range(100)],
                              b"coarse_label_names": [f"coarse{i}".encode() for i in range(20)]})


def _sample_photos(folder: Path) -> Path:
    """A small 'dog' and 'cat' photo made here (the real ones in ../shared are for screenshots)."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(7)
    for name in ("dog", "cat"):
        Image.fromarray(rng.integers(0, 256, (240, 320, 3), dtype=np.uint8)).save(folder / f"{name}.jpg")
    return folder


def make_image_folder(folder: Path, counts: dict[str, int], size=(32, 24), fmt="PNG") -> None:
    """Class sub-folders of small real images (each class its own colour) for image-folder tests."""
    from PIL import Image

    for i, (name, n) in enumerate(counts.items()):
        (folder / name).mkdir(parents=True, exist_ok=True)
        for j in range(n):
            colour = (40 + 80 * i, 200 - 60 * i, (j * 7) % 255)
            Image.new("RGB", size, colour).save(folder / name / f"{j}.{fmt.lower()}", fmt)


def wait_for(predicate, timeout: float, interval: float = 0.2, what: str = "condition"):
    """Poll `predicate` until it returns a truthy value; fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")
