"""Figure 17 (issue 32, b): the course assignment on real Fashion-MNIST, two ways, back to back on this machine.

1. **The for-loop** a student writes from the course's text, in one plain Keras process: for each of the 18 settings
   (3 models × SGD+momentum, Adam, RMSprop × 2 learning rates each, the preset's own), `model.fit` for 5 epochs on
   the first 20,000 training images with `validation_split=0.2`; then the best by validation accuracy retrained on
   all 60,000 for 15 epochs and tested once on the 10,000 test images. (The models are built by Train Lab's builder
   from the preset's lines, so both sides train the very same networks.)
2. **Train Lab's preset through the README's CLI**: `python -m core sweep start --preset assignment --datasets
   fashion_mnist --train-subset 20000 --epochs 5 --halving 2 --retrain-best 15`, in a fresh lab with its default pool
   (two workers), timed from the command to the retrain's test score.

Wall time of each phase and the test accuracy. Needs Debian's dataset-fashion-mnist.

    python -m bench.assignment_race [--only loop|lab]
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from bench.common import DEBIAN_FASHION  # noqa: E402

OUT = Path(__file__).resolve().parent / "out" / "assignment_race.json"
SEARCH_IMAGES, SEARCH_EPOCHS, RETRAIN_EPOCHS, BATCH = 20000, 5, 15, 128
if os.environ.get("TRAINLAB_RACE_QUICK"):  # --quick: checks the script runs; the figures mean nothing
    SEARCH_IMAGES, SEARCH_EPOCHS, RETRAIN_EPOCHS = 2000, 1, 1
CLI = ["sweep", "start", "--preset", "assignment", "--datasets", "fashion_mnist", "--train-subset", str(SEARCH_IMAGES),
       "--epochs", str(SEARCH_EPOCHS), "--halving", "2", "--retrain-best", str(RETRAIN_EPOCHS)]


def _settings():
    """The preset's 18 settings: (variant, optimizer choice, learning rate)."""
    from core.domain.sweep_spec import assignment_preset

    spec = assignment_preset(("fashion_mnist",))
    return [(variant, optimizer, rate) for variant in spec.variants for optimizer in spec.optimizers
            for rate in spec.per_optimizer_lr[optimizer]]


def _model(variant, optimizer: str, rate: float, shape, classes: int):
    import keras

    from core.training.builders import build_model

    model = build_model(variant.architecture, shape, classes, variant.options)
    make = {"sgd_momentum": lambda: keras.optimizers.SGD(rate, momentum=0.9),
            "adam": lambda: keras.optimizers.Adam(rate), "rmsprop": lambda: keras.optimizers.RMSprop(rate)}[optimizer]
    model.compile(make(), "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def the_loop() -> dict:
    """The student's for-loop, timed (run in a process of its own: a notebook kernel)."""
    import keras

    from core.data import datasets

    data = datasets.load("fashion_mnist")
    x, y = data.x_train.astype("float32") / 255.0, data.y_train
    x_test, y_test = data.x_test.astype("float32") / 255.0, data.y_test
    keras.utils.set_random_seed(42)
    started = time.monotonic()
    scores = []
    for variant, optimizer, rate in _settings():
        model = _model(variant, optimizer, rate, x.shape[1:], 10)
        history = model.fit(x[:SEARCH_IMAGES], y[:SEARCH_IMAGES], batch_size=BATCH, epochs=SEARCH_EPOCHS,
                            validation_split=0.2, verbose=0)
        scores.append((max(history.history["val_accuracy"]), variant.label, optimizer, rate))
        print(json.dumps({"setting": scores[-1]}), file=sys.stderr, flush=True)
    searched = time.monotonic()
    best = max(scores)
    variant = next(v for v, _, _ in _settings() if v.label == best[1])
    model = _model(variant, best[2], best[3], x.shape[1:], 10)
    model.fit(x, y, batch_size=BATCH, epochs=RETRAIN_EPOCHS, verbose=0)
    test_accuracy = float(model.evaluate(x_test, y_test, verbose=0)[1])
    finished = time.monotonic()
    return {"way": "for-loop (plain Keras)", "search s": round(searched - started), "retrain s":
            round(finished - searched), "total s": round(finished - started), "best setting": " · ".join(
                map(str, best[1:])), "best val acc": round(100 * best[0], 2), "test acc": round(100 * test_accuracy, 2)}


def the_lab() -> dict:
    """The preset through the CLI in a fresh lab, timed from the command to the retrain's test score."""
    home = Path(tempfile.mkdtemp(prefix="trainlab-race-"))
    env = {**os.environ, "TRAINLAB_HOME": str(home), "TRAINLAB_FASHION_MNIST_DIR": str(DEBIAN_FASHION)}
    os.environ.update(env)
    from core.runtime import worker
    from core.services import sweeps
    from core.settings import load_settings
    from core.store.runs import RunStore
    from core.store.training_modes import run_mode

    settings = load_settings()
    started = time.time()  # wall clock, as the store's finished_at
    subprocess.run([sys.executable, "-m", "core", *CLI], env=env, check=True, cwd=Path(__file__).resolve().parents[1])
    try:
        sweep_id = sweeps.sweeps(settings)[0].id
        while True:
            runs = sweeps.runs_frame(sweep_id, settings)
            retrains = runs[runs["role"] == "retrain"]
            if len(retrains) and retrains["status"].iloc[0] not in ("queued", "running"):
                break
            time.sleep(2)
        store = RunStore(settings.store_location)
        retrain = store.get(int(retrains["run"].iloc[0]))
        trials = [store.get(int(r)) for r in runs[runs["role"] == "trial"]["run"]]
        search_end = max(t.finished_at for t in trials)
        best = sweeps.best_trials(runs)["fashion_mnist"]
        modes = {run.id: run_mode(store, run.id) for run in (*trials, retrain)}
    finally:
        worker.stop(settings)
        shutil.rmtree(home, ignore_errors=True)
    return {"way": "Train Lab preset (CLI)", "search s": round(search_end - started),
            "retrain s": round(retrain.finished_at - search_end), "total s": round(retrain.finished_at - started),
            "best setting": f"{best['architecture']} · {best['optimizer']} · {best['learning_rate']:g}",
            "best val acc": round(100 * float(best["val_accuracy"]), 2),
            "test acc": round(100 * retrain.test_accuracy, 2),
            "trials stopped early": int(runs["stopped_at"].notna().sum()),
            "trial modes": dict(collections.Counter(m.mode for i, m in modes.items() if m and i != retrain.id)),
            "retrain mode": modes[retrain.id].mode if modes[retrain.id] else None,
            "measurements": [{"run": i, "mode": m.mode, "how": m.how, "speedups": m.speedups, "run gain": m.run_gain}
                             for i, m in modes.items() if m and m.how.startswith("measured")]}


def main() -> int:
    """Both ways (or one), the table and the JSON."""
    parser = argparse.ArgumentParser(prog="python -m bench.assignment_race", description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=("loop", "lab"))
    parser.add_argument("--quick", action="store_true", help="2,000 images, 1 epoch: checks the script runs")
    parser.add_argument("--loop-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.quick and not os.environ.get("TRAINLAB_RACE_QUICK"):
        os.environ["TRAINLAB_RACE_QUICK"] = "1"  # read at import, by this process's children too
        return subprocess.call([sys.executable, "-m", "bench.assignment_race", *sys.argv[1:]],
                               cwd=Path(__file__).resolve().parents[1])
    if args.loop_child:
        os.environ["TRAINLAB_FASHION_MNIST_DIR"] = str(DEBIAN_FASHION)
        print(json.dumps(the_loop()))
        return 0
    if not (DEBIAN_FASHION / "t10k-images-idx3-ubyte.gz").is_file():
        print("needs Debian's dataset-fashion-mnist (apt-get install dataset-fashion-mnist)", file=sys.stderr)
        return 2
    from bench.common import write_rows

    rows, day = [], time.strftime("%Y-%m-%d %H:%M")
    if args.only in (None, "loop"):
        out = subprocess.run([sys.executable, "-m", "bench.assignment_race", "--loop-child"], check=True,
                             stdout=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parents[1])
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
        print(json.dumps(rows[-1]), flush=True)
    if args.only in (None, "lab"):
        rows.append(the_lab())
        print(json.dumps(rows[-1]), flush=True)
    if len(rows) == 2:
        loop, lab = rows
        print(f"Train Lab / for-loop: total {lab['total s'] / loop['total s']:.2f} x, search "
              f"{lab['search s'] / loop['search s']:.2f} x, retrain {lab['retrain s'] / loop['retrain s']:.2f} x")
    write_rows(OUT, day, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
