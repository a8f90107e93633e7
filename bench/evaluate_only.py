"""Figure 15: a student's trained model file scored by Train Lab's evaluate-only run against the plain
`model.evaluate` a student would call in their own script, on Fashion-MNIST's 10,000 test images (issue 31;
target: the same test accuracy to 0.1 %).

The student's side is plain Keras and numpy: the files read with gzip (not Train Lab's loader), pixels / 255,
a small CNN trained for two epochs and saved with `model.save`, then `model.evaluate` on the test split. Train
Lab's side is what the Models page's "Score it" does: the file added (checked, loaded in a process of its own),
an evaluate-only run queued and scored by a worker of the lab's pool. Real Fashion-MNIST when Debian's
dataset-fashion-mnist is installed, else the bench's stand-in files of the same shape (said in the row).
"""
from __future__ import annotations

import gzip
import os
import time
from pathlib import Path

import numpy as np

from bench.common import Lab, stop_pool, wait_finished

DEBIAN = Path("/usr/share/datasets/fashion-mnist")


def _idx(path: Path) -> np.ndarray:
    """An IDX file (MNIST's format) as a numpy array."""
    with gzip.open(path, "rb") as fh:
        data = fh.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * dims).reshape(shape)


def _student_script(folder: Path, model_path: Path, epochs: int, train: int) -> tuple[float, float]:
    """What a student's notebook does: train, save, evaluate; (test accuracy, test loss)."""
    import keras

    x_train = _idx(folder / "train-images-idx3-ubyte.gz")[:train, :, :, None] / 255.0
    y_train = _idx(folder / "train-labels-idx1-ubyte.gz")[:train]
    x_test = _idx(folder / "t10k-images-idx3-ubyte.gz")[:, :, :, None] / 255.0
    y_test = _idx(folder / "t10k-labels-idx1-ubyte.gz")
    keras.utils.set_random_seed(7)
    model = keras.Sequential([
        keras.Input((28, 28, 1)), keras.layers.Conv2D(16, 3, activation="relu"), keras.layers.MaxPooling2D(),
        keras.layers.Conv2D(32, 3, activation="relu"), keras.layers.MaxPooling2D(), keras.layers.Flatten(),
        keras.layers.Dense(64, activation="relu"), keras.layers.Dense(10, activation="softmax")], name="student_cnn")
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x_train, y_train, epochs=epochs, batch_size=64, verbose=0)
    model.save(model_path)
    loss, accuracy = keras.saving.load_model(model_path).evaluate(x_test, y_test, verbose=0)
    return float(accuracy), float(loss)


def run(lab: Lab, quick: bool = False) -> list[dict]:
    """Figure 15's row: both accuracies and losses, their difference, and how long each side took."""
    lab.make_data()
    real = (DEBIAN / "t10k-images-idx3-ubyte.gz").is_file()
    folder = DEBIAN if real else lab.data / "fashion"
    with lab.home("evaluate-only", workers=1) as settings:
        os.environ["TRAINLAB_FASHION_MNIST_DIR"] = str(folder)  # restored by lab.home
        from core.services import model_files, scoring
        from core.settings import load_settings

        settings = load_settings()
        model_path = settings.home / "student.keras"
        settings.home.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        plain_accuracy, plain_loss = _student_script(folder, model_path, 1 if quick else 2, 6000 if quick else 60000)
        plain_seconds = time.monotonic() - started
        started = time.monotonic()
        row = model_files.add(model_path, "student cnn", settings)
        run_id = scoring.evaluate(row.id, "fashion_mnist", settings)
        (scored,) = wait_finished([run_id], settings)
        lab_seconds = time.monotonic() - started
        stop_pool(settings)
    return [{"data": "real Fashion-MNIST (Debian)" if real else "stand-in of Fashion-MNIST's shape",
             "test images": 10_000, "plain model.evaluate accuracy": round(plain_accuracy, 5),
             "Train Lab evaluate-only accuracy": round(scored.test_accuracy or float("nan"), 5),
             "difference (points of %)": round(100 * abs((scored.test_accuracy or 0) - plain_accuracy), 4),
             "plain loss": round(plain_loss, 5), "Train Lab loss": round(scored.test_loss or float("nan"), 5),
             "target": "<= 0.1 points", "status": scored.status,
             "student script (train + evaluate) s": round(plain_seconds, 1),
             "add + queue + score s": round(lab_seconds, 1)}]
