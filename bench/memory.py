"""Figure 4: a worker's memory training the deep MLP on full CIFAR-10-shaped data, 5 runs in a row."""
from __future__ import annotations

import threading
import time

from bench.common import Lab, rss_mb, start_pool, stop_pool, wait_finished
from core.domain.config import TrainConfig

CONFIG = TrainConfig(dataset="cifar10", architecture="deep_mlp", batch_size=64, epochs=1, name="bench memory")


class Sampler:
    """Polls the pool's worker processes every 50 ms and keeps the largest RSS seen (a worker
    replaced mid-way is followed: every child of the pool's consumer is read)."""

    def __init__(self, pool_pid: int):
        self.pool_pid, self.peak = pool_pid, 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def _poll(self):
        while not self._stop.wait(0.05):
            for pid in _children(self.pool_pid):
                try:
                    self.peak = max(self.peak, rss_mb(pid)[0])
                except FileNotFoundError:
                    pass

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in open(f"/proc/{pid}/task/{pid}/children").read().split()]
    except FileNotFoundError:
        return []


def _worker_rss(pool_pid: int) -> float:
    """RSS of the pool's worker: of the dispatcher's children, the one that loaded TensorFlow."""
    return max((rss_mb(pid)[0] for pid in _children(pool_pid)), default=0.0)


def run(lab: Lab, runs: int = 5, quick: bool = False) -> list[dict]:
    """Figure 4: worker memory after each of several deep-MLP runs."""
    from core.runtime import worker
    from core.services import jobs

    lab.make_data()
    config = TrainConfig.from_dict({**CONFIG.to_dict(), "train_subset": 5000}) if quick else CONFIG
    rows = []
    with lab.home("memory", workers=1) as settings:
        start_pool(settings)
        try:
            pool_pid = worker.status(settings).pid
            idle = _worker_rss(pool_pid)
            for i in range(1, runs + 1):
                with Sampler(pool_pid) as sampler:
                    run = wait_finished([jobs.submit(config, settings)], settings)[0]
                time.sleep(1.0)
                try:
                    after = rss_mb(run.worker_pid)[0]  # 0 once it exited (a zombie until reaped)
                except FileNotFoundError:
                    after = 0.0
                rows.append({"run": i, "worker_pid": run.worker_pid, "peak_rss_mb": round(sampler.peak),
                             "rss_after_mb": round(after) if after else None,
                             "worker_replaced_after": not after, "idle_rss_mb": round(idle),
                             "train_seconds": round(run.train_seconds, 1), "parameters": run.param_count,
                             "limit_mb": settings.worker_max_mb, "target": "peak <= 2500 MB, bounded"})
        finally:
            stop_pool(settings)
    return rows
