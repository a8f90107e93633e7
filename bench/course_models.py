"""Figure 16 (issue 32): every course model that trains here, through Train Lab (one run alone in the default pool,
`training_mode = auto`, as a user would start it) against the same model in a plain `model.fit` script with Keras'
defaults (bench/plain_keras.py in a fresh process: a student's kernel), three seeds each, alternating. Measured:
samples/s of `fit` (the first epoch's tracing included on both sides), the test accuracy on the same split, the
mode `auto` chose and what measuring cost its first run. Targets: no model slower than plain (>= 1.0 x), the dense
ones >= 1.4 x, the median >= 1.25 x, test accuracy within 0.5 points of plain's mean.

    python -m bench.course_models [--quick] [--models mlp small_cnn ...] [--seeds 3]

Fashion-MNIST models train on Debian's real Fashion-MNIST when it is installed, else on the bench's stand-in; the
CIFAR-10 lessons' models on the CIFAR-10-shaped stand-in (random pixels: their accuracy means nothing, speed does).
Samples/s count `fit` only: the first run of a model also pays `auto`'s measurement, reported beside it.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import DEBIAN_FASHION, Lab, start_pool, stop_pool, wait_finished, write_rows  # noqa: E402
from bench.overhead import PLAIN  # noqa: E402
from bench.training_modes import FASHION, MODELS  # noqa: E402
from core.domain.config import TrainConfig  # noqa: E402

DENSE = ("mlp", "mlp_bn", "deep_mlp", "assignment mlp dropout", "assignment mlp bn")
OUT = Path(__file__).resolve().parent / "out" / "course_models.json"


def _config(label: str, seed: int, quick: bool) -> TrainConfig:
    dataset, architecture, options, batch = MODELS[label]
    # Course-length runs: every model at least 1,000 steps, so `auto` measures (a shorter run trains as Keras'
    # default: the probe would cost more than it wins).
    size = (3000 if quick else 36000) if dataset == FASHION else (2000 if quick else 17600)
    return TrainConfig(dataset=dataset, architecture=architecture, arch_options=options, batch_size=batch,
                       epochs=1 if quick else 5, train_subset=size, seed=seed, name=f"bench {label} seed {seed}")


def _plain(config: TrainConfig) -> tuple[float, float]:
    """(samples/s of fit, test accuracy) of the plain script."""
    out = subprocess.run([sys.executable, str(PLAIN), json.dumps(config.to_dict()), "--evaluate"],
                         capture_output=True, text=True, check=True, timeout=3600)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    return result["samples"] / result["fit_seconds"], result["test_accuracy"]


def _train_lab(config: TrainConfig, settings) -> tuple[float, float, dict]:
    """(samples/s of fit, test accuracy, the mode it trained with) of one Train Lab run alone in the pool."""
    from core.data.datasets import get_info
    from core.domain.config import training_sizes
    from core.services import jobs
    from core.store.runs import RunStore
    from core.store.training_modes import run_mode

    run = wait_finished([jobs.submit(config, settings)], settings)[0]
    n_train, _ = training_sizes(config, get_info(config.dataset, settings))
    mode = run_mode(RunStore(settings.store_location), run.id)
    return n_train * config.epochs / run.train_seconds, run.test_accuracy, mode.to_dict() if mode else {}


def _row(label: str, plain: list, lab: list, modes: list[dict]) -> dict:
    plain_rate, lab_rate = statistics.mean(r for r, _ in plain), statistics.mean(r for r, _ in lab)
    plain_acc, lab_acc = statistics.mean(a for _, a in plain), statistics.mean(a for _, a in lab)
    first = modes[0]
    speedups = first.get("speedups") or {}
    return {"model": label, "dataset": MODELS[label][0], "plain samples/s": round(plain_rate),
            "Train Lab samples/s": round(lab_rate), "ratio": round(lab_rate / plain_rate, 2),
            "plain test acc": round(100 * plain_acc, 2), "Train Lab test acc": round(100 * lab_acc, 2),
            "acc diff (points)": round(100 * (lab_acc - plain_acc), 2),
            "mode": "/".join(sorted({m.get("mode", "?") for m in modes})),
            "spe a step": speedups.get("spe"), "XLA+spe a step": speedups.get("xla_spe"),
            "measuring, first run (s)": first.get("probe_seconds"), "seeds": len(plain)}


def run(lab: Lab, quick: bool = False, models: list[str] | None = None, seeds: int = 3) -> list[dict]:
    """Figure 16's rows: each model, `seeds` seeds, Train Lab and plain alternating."""
    lab.make_data()
    rows = []
    with lab.home("course-models", workers=2) as settings:
        os.environ["TRAINLAB_MEASURE_TRAINING_MODES"] = "1"
        fashion_dir = os.environ["TRAINLAB_FASHION_MNIST_DIR"]
        if (DEBIAN_FASHION / "t10k-images-idx3-ubyte.gz").is_file():
            os.environ["TRAINLAB_FASHION_MNIST_DIR"] = str(DEBIAN_FASHION)
        start_pool(settings)
        try:
            for label in models or list(MODELS):
                plain, trained, modes = [], [], []
                for seed in range(1, seeds + 1):
                    config = _config(label, seed, quick)
                    rate, accuracy, mode = _train_lab(config, settings)
                    trained.append((rate, accuracy))
                    modes.append(mode)
                    plain.append(_plain(config))
                rows.append(_row(label, plain, trained, modes))
                print(json.dumps(rows[-1]), flush=True)
        finally:
            stop_pool(settings)
            os.environ.pop("TRAINLAB_MEASURE_TRAINING_MODES", None)
            os.environ["TRAINLAB_FASHION_MNIST_DIR"] = fashion_dir
    return rows


def main() -> int:
    """The chosen models; the table, the targets' figures, and the JSON."""
    parser = argparse.ArgumentParser(prog="python -m bench.course_models", description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", choices=list(MODELS), default=list(MODELS))
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="a few thousand images, one epoch: the script runs")
    args = parser.parse_args()
    import pandas as pd

    lab, started = Lab(), time.strftime("%Y-%m-%d %H:%M")
    try:
        rows = run(lab, args.quick, args.models, args.seeds)
    finally:
        lab.remove()
    print(pd.DataFrame(rows).to_string(index=False))
    ratios = [r["ratio"] for r in rows]
    print(f"median ratio {statistics.median(ratios):.2f}; slowest {min(ratios):.2f}; "
          f"dense slowest {min((r['ratio'] for r in rows if r['model'] in DENSE), default=float('nan')):.2f}")
    write_rows(OUT, started, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
