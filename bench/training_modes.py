"""Groundwork for issue 32: how fast each course model trains here in each training mode a plain Keras script
could use, measured, not guessed: Keras' default (no XLA on a CPU), XLA (`jit_compile=True`),
`steps_per_execution=16` and bf16 mixed precision. Each case is a fresh process (a student's kernel): the course
model built by Train Lab's builder, NumPy arrays scaled once, `model.fit` for two epochs; the second epoch's
samples/s (the first pays for tracing and compiling) and the test accuracy.

    python -m bench.training_modes [--quick] [--models mlp small_cnn ...] [--modes keras xla ...]

Fashion-MNIST models on Debian's real Fashion-MNIST when installed, the CIFAR-10 lessons' models on the bench's
CIFAR-10-shaped stand-in (32×32×3, random pixels: accuracy there means nothing, speed does). Results go to
bench/out/training_modes.json and are printed as a table.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

MODES = ("keras", "xla", "spe16", "bf16")
FASHION, CIFAR = "fashion_mnist", "cifar10"
# (label, dataset, architecture, options, batch size): the list; the assignment's three variants.
MODELS = {
    "mlp": (FASHION, "mlp", {}, 64),
    "mlp_bn": (FASHION, "mlp_bn", {}, 64),
    "deep_mlp": (CIFAR, "deep_mlp", {}, 64),
    "small_cnn": (CIFAR, "small_cnn", {}, 64),
    "basic_cnn": (CIFAR, "basic_cnn", {}, 32),
    "basic_cnn_regularised": (CIFAR, "basic_cnn_regularised", {}, 32),
    "assignment mlp dropout": (FASHION, "custom_mlp", {"hidden_units": [512, 256], "dropout": 0.2}, 128),
    "assignment mlp bn": (FASHION, "custom_mlp", {"hidden_units": [512, 256], "batch_norm": True}, 128),
    "assignment cnn": (FASHION, "custom_cnn", {"blocks": [[32, 1, True], [64, 1, True]], "batch_norm": True,
                                               "dropout": 0.3, "head": "flatten", "dense_units": 128}, 128),
}
OUT = Path(__file__).resolve().parent / "out" / "training_modes.json"


def one_case(label: str, mode: str, train: int, seed: int) -> dict:
    """Run in the child process: train `label` in `mode`; its second epoch's samples/s and test accuracy."""
    import keras
    import numpy as np

    from core.data import datasets
    from core.training.builders import build_model

    dataset, architecture, options, batch = MODELS[label]
    if mode == "bf16":
        keras.mixed_precision.set_global_policy("mixed_bfloat16")
    data = datasets.load(dataset)
    keras.utils.set_random_seed(seed)
    x, y = data.x_train[:train].astype("float32") / 255.0, data.y_train[:train]
    x_test, y_test = data.x_test.astype("float32") / 255.0, data.y_test
    model = build_model(architecture, x.shape[1:], len(data.class_names), options)
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"],
                  jit_compile=True if mode == "xla" else "auto", steps_per_execution=16 if mode == "spe16" else 1)
    times = []

    class EpochTimer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            times.append(time.perf_counter())

        def on_epoch_end(self, epoch, logs=None):
            times[-1] = time.perf_counter() - times[-1]

    model.fit(x, y, batch_size=batch, epochs=2, verbose=0, callbacks=[EpochTimer()])
    accuracy = float(model.evaluate(x_test, y_test, batch_size=256, verbose=0)[1])
    return {"model": label, "mode": mode, "samples/s (epoch 2)": round(len(x) / times[1]),
            "first epoch s": round(times[0], 1), "test accuracy": round(accuracy, 4), "train images": len(x),
            "parameters": int(model.count_params()), "finite": bool(np.isfinite(accuracy))}


def main() -> int:
    """Every chosen model in every chosen mode, each in a fresh process; the table, and the JSON."""
    parser = argparse.ArgumentParser(prog="python -m bench.training_modes", description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", choices=list(MODELS), default=list(MODELS))
    parser.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    parser.add_argument("--quick", action="store_true", help="3,000 training images: the script runs")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--case", nargs=2, help=argparse.SUPPRESS)  # the child's own call
    args = parser.parse_args()
    train = 3000 if args.quick else 12000
    if args.case:
        print(json.dumps(one_case(args.case[0], args.case[1], train, args.seed)))
        return 0
    import pandas as pd

    from bench.common import Lab, write_rows

    lab = Lab()
    lab.make_data()
    rows = []
    with lab.home("training-modes"):
        if (Path("/usr/share/datasets/fashion-mnist") / "t10k-images-idx3-ubyte.gz").is_file():
            os.environ["TRAINLAB_FASHION_MNIST_DIR"] = "/usr/share/datasets/fashion-mnist"  # restored by lab.home
        for label in args.models:
            for mode in args.modes:
                out = subprocess.run([sys.executable, "-m", "bench.training_modes", "--case", label, mode,
                                      "--seed", str(args.seed), *(["--quick"] if args.quick else [])],
                                     capture_output=True, text=True, timeout=3600,
                                     cwd=Path(__file__).resolve().parent.parent)
                try:
                    rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
                except (IndexError, ValueError):
                    rows.append({"model": label, "mode": mode, "error": (out.stderr.strip().splitlines() or ["?"])[-1]})
                print(json.dumps(rows[-1]), flush=True)
    lab.remove()
    table = pd.DataFrame(rows)
    print(table.to_string(index=False))
    write_rows(OUT, time.strftime("%Y-%m-%d %H:%M"), rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
