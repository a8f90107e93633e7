"""How often pages redraw and when their cached figures are rebuilt: the lab's activity as a page sees it,
and a cache key for what is drawn from some runs' metrics."""
from __future__ import annotations

import time
from dataclasses import dataclass

from core.domain.statuses import QUEUED, RUNNING
from core.settings import Settings, load_settings
from core.store.runs import Run


@dataclass(frozen=True)
class Activity:
    """What a page needs to decide whether to refresh: a fingerprint of the runs and their statuses
    (changes when a run is created, starts, ends or is deleted) and how many are queued or running."""

    fingerprint: tuple
    active: int
    newest_start: float | None = None  # when the most recently started running run began

    def pace(self, every: float, now: float | None = None) -> float:
        """Seconds between live redraws for a page whose user chose `every`: that while a run is young
        (its first minute shows the most change, and a queued run is about to start), then at least
        SETTLED_PACE, so a class watching long runs costs the server less."""
        now = time.time() if now is None else now
        young = self.newest_start is None or now - self.newest_start < YOUNG_RUN_SECONDS
        return every if young else max(every, SETTLED_PACE)


YOUNG_RUN_SECONDS = 60
SETTLED_PACE = 5.0


def data_version(runs: list[Run], settings: Settings | None = None, now: float | None = None) -> tuple:
    """A key for caching what is drawn from these runs' metrics: it names the store (two data folders
    never share an entry) and changes when a run changes status, epoch, name or attempt.

    A training run writes points several times a second, faster than any page refreshes: keyed by
    every point, each of thirty watching sessions would build its own figures. While a run is queued
    or running the key therefore moves on once per LIVE_BUCKET_SECONDS, and every session refreshing
    within that second shares one build (a curve is at most that much behind the store); an ended
    run's key is fixed by its last point."""
    now = time.time() if now is None else now
    store = str((settings or load_settings()).store_location)
    key = tuple((r.id, r.status, r.epoch, r.finished_at, r.attempt, r.name) for r in runs)
    if any(r.status in (QUEUED, RUNNING) for r in runs):
        return store, key, int(now // LIVE_BUCKET_SECONDS)
    return store, key, tuple((r.batch, r.progress) for r in runs)


LIVE_BUCKET_SECONDS = 1.0
