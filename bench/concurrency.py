"""Figure 5: total training throughput of the pool with 1 worker (all cores) and 2 workers (half each)."""
from __future__ import annotations

import time

from bench.common import Lab, start_pool, stop_pool, wait_finished
from core.domain.config import TrainConfig

CASES = {
    "course MLP, Fashion-MNIST-shaped": TrainConfig(dataset="fashion_mnist", architecture="mlp", batch_size=64,
                                                    epochs=3, name="bench concurrency"),
    "small CNN, CIFAR-10-shaped": TrainConfig(dataset="cifar10", architecture="small_cnn", batch_size=64, epochs=1,
                                              name="bench concurrency"),
}


def run(lab: Lab, runs: int = 4, quick: bool = False) -> list[dict]:
    """Wall time for `runs` identical runs queued at once, for each worker count."""
    from core.data.datasets import get_info
    from core.domain.config import training_sizes
    from core.services import jobs

    lab.make_data()
    rows = []
    for workers in (1, 2):
        with lab.home(f"concurrency-{workers}", workers=workers) as settings:
            start_pool(settings)
            try:
                for label, config in CASES.items():
                    if quick:
                        config = TrainConfig.from_dict({**config.to_dict(), "train_subset": 3000, "epochs": 1})
                    n_train, _ = training_sizes(config, get_info(config.dataset, settings))
                    started = time.monotonic()
                    ids = [jobs.submit(config, settings) for _ in range(runs)]
                    done = wait_finished(ids, settings)
                    wall = time.monotonic() - started
                    rows.append({"case": label, "workers": workers,
                                 "threads_per_run": sorted({r.threads for r in done}),
                                 "runs": runs, "wall_seconds": round(wall, 1),
                                 "total_samples_per_s": round(runs * n_train * config.epochs / wall),
                                 "mean_run_seconds": round(sum(r.train_seconds for r in done) / runs, 1)})
            finally:
                stop_pool(settings)
    for row in rows:  # throughput relative to one worker on the same case
        base = next(r for r in rows if r["case"] == row["case"] and r["workers"] == 1)
        row["vs_1_worker"] = round(row["total_samples_per_s"] / base["total_samples_per_s"], 2)
    return rows
