"""Train Lab's benchmarks: `python -m bench` (or `make bench`) prints each figure as a table and
writes them all to bench/out/results.json. Not tests: nothing here fails on a slow machine.

    python -m bench                       # all seventeen figures, about 90 minutes on 2 cores
    python -m bench --only store latency  # some of them
    python -m bench --quick               # smaller data: checks the scripts run, figures not comparable
    python -m bench --sweep               # also the assignment sweep on real Fashion-MNIST (7-8 min)
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

FIGURES = ("overhead", "latency", "store", "memory", "concurrency", "browser", "watching", "opening", "class",
           "class-browsers", "model-cache", "cluster", "tracking", "tracking-class", "evaluate-only", "course-models",
           "epoch-stalls")
TITLES = {
    "overhead": "1. Training overhead: Train Lab run vs plain model.fit (target ratio >= 0.97)",
    "latency": "2. Start -> first live point (target <= 2 s with a worker waiting)",
    "store": "3. Store and Runs page at 500 runs (targets: query 50 ms, curves 200 ms, page 1.5 s)",
    "memory": "4. Worker memory, deep MLP on full CIFAR-10-shaped data (target peak <= 2.5 GB, bounded)",
    "concurrency": "5. Pool throughput: 1 worker vs 2 workers on this machine",
    "browser": "6. Start -> first curve point on screen, in Chromium (targets: 1.5 s warm, 8 s cold)",
    "watching": "7. A class watching the Runs page: server CPU per session, time to curves (targets: idle <= 1 %, "
                "2 training runs <= 5 %, 30 sessions p95 <= 10 s)",
    "opening": "8. 30 sessions opening the Runs page at once, server side (thin protocol clients; target p95 <= 10 s)",
    "class": "9. A signed-in class of 30 on one server for two minutes (targets: no errors, page p95 <= 3 s, "
             "curves <= 3 s behind)",
    "class-browsers": "10. Figure 9 with 30 headless Chromium pages on the same 2 cores "
                      "(the browsers' CPU share shown)",
    "model-cache": "11. Looking inside a run's model: Streamlit-process memory for 30 sessions, shared cache vs a copy "
                   "per session",
    "cluster": "12. Ray executor vs the local pool on this machine: submit -> first point, runs per minute",
    "tracking": "13. A student's own script reporting to Train Lab vs the same script untracked (target <= +2 % wall "
                "time)",
    "tracking-class": "14. One server taking 30 students' scripts' reports while 30 pages watch (thin clients)",
    "evaluate-only": "15. A student's model file scored by an evaluate-only run vs plain model.evaluate (target: the "
                     "same test accuracy to 0.1 %)",
    "course-models": "16. Every course model through Train Lab (training mode auto) vs plain model.fit with Keras' "
                     "defaults, 3 seeds (targets: each >= 1.0 x, dense >= 1.4 x, median >= 1.25 x, accuracy within "
                     "0.5 points)",
    "epoch-stalls": "19. A retrain-length CNN run through Train Lab vs plain model.fit, alternating pairs (no stall at "
                    "an epoch end: the longest wait between live points)",
}
OUT = Path(__file__).resolve().parent / "out"


class _Figure:
    """A figure whose `run` is a function of a module holding several figures."""

    def __init__(self, function):
        self.run = function


def main() -> int:
    """Run the chosen figures, print each as a table and write them all as JSON."""
    import pandas as pd

    from bench import (
        browser_latency,
        class_browsers,
        class_sessions,
        cluster,
        concurrency,
        course_models,
        epoch_stalls,
        evaluate_only,
        latency,
        memory,
        model_cache,
        opening_sessions,
        overhead,
        store_scale,
        tracking,
        watching_sessions,
    )
    from bench.common import Lab, machine

    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=FIGURES, default=list(FIGURES))
    parser.add_argument("--quick", action="store_true", help="small data, one attempt: a smoke run")
    parser.add_argument("--sweep", action="store_true", help="also bench/sweep_assignment.py (real Fashion-MNIST)")
    parser.add_argument("--json", type=Path, default=OUT / "results.json")
    args = parser.parse_args()

    modules = {"overhead": overhead, "latency": latency, "store": store_scale, "memory": memory,
               "concurrency": concurrency, "browser": browser_latency, "watching": watching_sessions,
               "opening": opening_sessions, "class": class_sessions,
               "class-browsers": class_browsers, "model-cache": model_cache, "cluster": cluster,
               "tracking": _Figure(tracking.overhead), "tracking-class": _Figure(tracking.ingest),
               "evaluate-only": evaluate_only, "course-models": course_models,
               "epoch-stalls": epoch_stalls}
    results = {"machine": machine(), "date": time.strftime("%Y-%m-%d %H:%M"), "quick": args.quick, "figures": {}}
    print(f"Train Lab benchmarks on {results['machine']}{' (quick)' if args.quick else ''}\n", flush=True)
    lab = Lab()
    try:
        for name in args.only:
            started = time.monotonic()
            kwargs = {"quick": True, **({"repeat": 1} if name in ("overhead", "latency", "tracking") else {}),
                      **({"seeds": 1} if name == "course-models" else {})} \
                if args.quick \
                else {}
            rows = modules[name].run(lab, **kwargs)
            results["figures"][name] = rows
            print(TITLES[name], f"({time.monotonic() - started:.0f} s)")
            print(pd.DataFrame(rows).to_string(index=False), "\n", flush=True)
    finally:
        lab.remove()
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2))
    print(f"written to {args.json}")
    if args.sweep:
        return subprocess.call([sys.executable, str(Path(__file__).resolve().parent / "sweep_assignment.py")])
    return 0


if __name__ == "__main__":
    sys.exit(main())
