"""Figure 19 (issue 32): a retrain-length run of the course assignment's winning CNN (CNN + BN + Dropout, Adam 1e-3
with its cosine decay, batch 128, all 60,000 Fashion-MNIST images, no validation split) through Train Lab (one run
alone in the default pool, training mode forced to Keras' default so that only the loop around the steps differs)
against the same config in the plain script (bench/plain_keras.py: `model.fit` on NumPy arrays), alternating pairs.
Per run: `fit`'s seconds and, for Train Lab, the longest wait between two live points, where an epoch-end stall
shows (tf.data's autotuning thread once made Keras wait 10-40 s there).

    python -m bench.epoch_stalls [--pairs 3] [--epochs 3]

On Debian's real Fashion-MNIST when it is installed (apt-get install dataset-fashion-mnist), else the stand-in.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import DEBIAN_FASHION, Lab, start_pool, stop_pool, wait_finished  # noqa: E402
from bench.overhead import PLAIN  # noqa: E402
from core.domain.config import TrainConfig  # noqa: E402
from core.domain.sweep_parsing import parse_variants  # noqa: E402
from core.settings import load_settings  # noqa: E402


def _config(epochs: int) -> TrainConfig:
    variant = parse_variants("cnn 32x1p-64x1p bn dropout=0.3 flatten dense=128")[0]
    return TrainConfig(dataset="fashion_mnist", architecture=variant.architecture, arch_options=dict(variant.options),
                       optimizer="adam", learning_rate=1e-3, lr_schedule="cosine", batch_size=128, epochs=epochs,
                       seed=42, validation_split=0.0, train_subset=None, training_mode="keras",
                       name="retrain-length run")


def _plain(config: TrainConfig) -> float:
    out = subprocess.run([sys.executable, str(PLAIN), json.dumps(config.to_dict())], capture_output=True, text=True,
                         check=True, timeout=3600)
    return json.loads(out.stdout.strip().splitlines()[-1])["fit_seconds"]


def _train_lab(config: TrainConfig, settings) -> tuple[float, float]:
    """(fit seconds, the longest wait between two of the run's live points)."""
    from core.services import jobs

    run = wait_finished([jobs.submit(config, settings)], settings)[0]
    points = jobs.run_metrics(run.id, settings)
    elapsed = sorted(points[points["kind"] == "batch"]["elapsed"].unique())
    return run.train_seconds, max((b - a for a, b in zip(elapsed, elapsed[1:])), default=0.0)


def run(lab: Lab, pairs: int = 3, epochs: int = 3, quick: bool = False) -> list[dict]:
    """Alternating pairs; one row per pair and a last row of medians."""
    config = _config(1 if quick else epochs)
    rows = []
    with lab.home("epoch-stalls") as settings:
        if DEBIAN_FASHION.exists() and not quick:
            os.environ["TRAINLAB_FASHION_MNIST_DIR"] = str(DEBIAN_FASHION)
            settings = load_settings()
        else:
            lab.make_data()
        start_pool(settings)
        try:
            for pair in range(1 if quick else pairs):
                plain = _plain(config)
                lab_seconds, longest_gap = _train_lab(replace(config, name=f"pair {pair + 1}"), settings)
                rows.append({"pair": pair + 1, "plain fit s": round(plain, 1), "Train Lab fit s": round(lab_seconds, 1),
                             "ratio (plain s / Train Lab s)": round(plain / lab_seconds, 2),
                             "longest wait between points s": round(longest_gap, 1)})
                print(json.dumps(rows[-1]), flush=True)
        finally:
            stop_pool(settings)
    columns = [key for key in rows[0] if key != "pair"]
    rows.append({"pair": "median", **{key: statistics.median(r[key] for r in rows) for key in columns}})
    return rows


def main() -> int:
    """Print figure 19."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    lab, started = Lab(), time.strftime("%Y-%m-%d %H:%M")
    try:
        import pandas as pd

        rows = run(lab, args.pairs, args.epochs, args.quick)
        print(f"figure 19, {started}\n", pd.DataFrame(rows).to_string(index=False))
    finally:
        lab.remove()
    return 0


if __name__ == "__main__":
    sys.exit(main())
