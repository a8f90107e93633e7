"""Benchmark: the course assignment's sweep on real Fashion-MNIST, then its best setting retrained.

Runs the assignment preset (three structures × SGD+momentum, Adam, RMSprop × two learning rates
each, random stratified validation split) on Fashion-MNIST from Debian's dataset-fashion-mnist,
through the real queue and two workers, exactly as the Sweeps page would. The search uses a
training subset and a few epochs with successive halving; the best setting (by validation
accuracy) is then retrained on all 60,000 training images and evaluated once on the 10,000
test images. Prints the best test accuracy beside the assignment's 90.5 % target and the wall
time, and writes them as JSON.

    .venv/bin/python bench/sweep_assignment.py [--train-subset 20000] [--epochs 5] [--retrain-epochs 15]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
OUT = Path(__file__).resolve().parent / "out"


def main() -> int:
    """Run the assignment sweep and its retrain on real Fashion-MNIST; print the results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train-subset", type=int, default=20000, help="training images per search trial")
    parser.add_argument("--epochs", type=int, default=5, help="epochs per search trial")
    parser.add_argument("--retrain-epochs", type=int, default=15, help="epochs of the final retrain")
    parser.add_argument("--no-halving", action="store_true", help="train every trial to the end")
    parser.add_argument("--first-check", type=int, default=2,
                        help="epoch of the first halving check (BatchNorm nets score poorly on validation "
                             "until their moving statistics settle, so not epoch 1)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json", type=Path, default=OUT / "sweep_assignment.json")
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="trainlab-bench-sweep-"))
    os.environ.update(TRAINLAB_HOME=str(home), TRAINLAB_WORKERS=str(args.workers), TRAINLAB_AUTOSTART_WORKERS="1",
                      TF_CPP_MIN_LOG_LEVEL="2")
    from core.data.datasets import get_info
    from core.domain.sweep_spec import ASSIGNMENT_TARGETS, Halving, assignment_preset
    from core.runtime import worker
    from core.services import sweeps
    from core.settings import load_settings

    settings = load_settings()
    info = get_info("fashion_mnist", settings)
    if not info.available:
        print(f"Fashion-MNIST is not on this machine: {info.hint}", file=sys.stderr)
        return 2
    spec = assignment_preset(("fashion_mnist",))
    spec = replace(spec, epochs=(args.epochs,), shared={**spec.shared, "train_subset": args.train_subset},
                   halving=None if args.no_halving else Halving(eta=3, min_epochs=args.first_check))
    try:
        started = time.monotonic()
        sweep_id = sweeps.start(spec, settings)
        _wait(sweep_id, settings, "search")
        searched = time.monotonic()
        runs = sweeps.runs_frame(sweep_id, settings)
        trials = sweeps.trials_table(runs)
        best = sweeps.best_trials(runs)["fashion_mnist"]
        retrain_id = sweeps.retrain_best(sweep_id, "fashion_mnist", args.retrain_epochs, settings=settings)
        _wait(sweep_id, settings, "retrain")
        finished = time.monotonic()
        report = sweeps.retrain_report(sweeps.runs_frame(sweep_id, settings)).iloc[0]
    finally:
        worker.stop(settings)

    print()
    print(trials.sort_values("val_accuracy", ascending=False)[
        ["run", "architecture", "optimizer", "learning_rate", "val_accuracy", "stopped_at", "train_seconds"]
    ].to_string(index=False))
    result = {
        "machine": f"{os.cpu_count()} CPU cores, {args.workers} workers",
        "trials": int(len(trials)), "stopped_early": int(trials["stopped_at"].notna().sum()),
        "train_subset": args.train_subset, "search_epochs": args.epochs, "retrain_epochs": args.retrain_epochs,
        "best_setting": report["best setting"], "best_val_accuracy": float(best["val_accuracy"]),
        "retrain_run": int(retrain_id), "retrain_status": report["retrain status"],
        "test_accuracy": None if report["test accuracy"] is None else float(report["test accuracy"]),
        "target": ASSIGNMENT_TARGETS["fashion_mnist"],
        "search_seconds": round(searched - started, 1), "retrain_seconds": round(finished - searched, 1),
        "wall_seconds": round(finished - started, 1),
    }
    print()
    for key, value in result.items():
        print(f"{key:>20}: {value}")
    reached = result["test_accuracy"] is not None and result["test_accuracy"] >= result["target"]
    print(f"\nbest test accuracy {result['test_accuracy']:.4f} vs target {result['target']:.3f}: "
          f"{'reached' if reached else 'NOT reached'} in {result['wall_seconds'] / 60:.1f} min")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2))
    return 0 if reached else 1


def _wait(sweep_id: int, settings, phase: str) -> None:
    from core.services import sweeps

    last = 0.0
    while True:
        progress = sweeps.progress(sweeps.runs_frame(sweep_id, settings), settings)
        if not progress.active:
            return
        if time.monotonic() - last > 30:
            eta = f", about {progress.eta_seconds / 60:.0f} min left" if progress.eta_seconds else ""
            print(f"[{time.strftime('%H:%M:%S')}] {phase}: {progress.text()}{eta}", flush=True)
            last = time.monotonic()
        time.sleep(2)


if __name__ == "__main__":
    sys.exit(main())
