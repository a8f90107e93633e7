"""What a training process uses of the machine: CPU (in cores busy, threads included) and resident memory,
sampled while a run trains so its page can show them over time."""
from __future__ import annotations

import time
from typing import Callable

import psutil

from core.domain.metric_kinds import CPU_METRIC, MEMORY_METRIC


class UsageSampler:
    """Samples this process's CPU and memory, at most once per `every` seconds.

    Example:
        sampler = UsageSampler(every=2.0)
        sampler.sample()  # None until `every` seconds have passed; then {"cpu_cores": 1.8, "memory_mb": 812.0}

    """

    def __init__(self, every: float = 2.0, clock: Callable[[], float] = time.monotonic):
        self.every = every
        self.clock = clock
        self._process = psutil.Process()
        self._last = (clock(), self._cpu_seconds())

    def _cpu_seconds(self) -> float:
        times = self._process.cpu_times()
        return times.user + times.system

    def sample(self, force: bool = False) -> dict[str, float] | None:
        """CPU cores busy since the last sample and memory now; None when the last sample is too recent
        (`force`: sample anyway, if any time has passed at all)."""
        now = self.clock()
        since, cpu_before = self._last
        if now - since <= 0 or (not force and now - since < self.every):
            return None
        cpu = self._cpu_seconds()
        self._last = (now, cpu)
        return {CPU_METRIC: max(0.0, (cpu - cpu_before) / (now - since)),
                MEMORY_METRIC: self._process.memory_info().rss / 2 ** 20}
