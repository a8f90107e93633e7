"""A lone run gets every core, runs that share the pool get an equal part; the run records its threads."""
import os
import time

import psutil
import pytest

from core.domain.core_share import fair_share


@pytest.mark.parametrize("workers, others, cores, expected", [
    (2, 0, 2, 2),   # alone on a 2-core laptop: both cores
    (2, 1, 2, 1),   # two runs at once: one core each
    (2, 17, 2, 1),  # a sweep queued behind: never less than one
    (4, 1, 16, 8),  # a 16-core server, 4 workers, two runs: half each
    (4, 9, 16, 4),  # ... and four at once: a quarter each
    (1, 5, 8, 8),   # one worker: it always has every core
])
def test_the_fair_share_of_the_cores(lab, monkeypatch, workers, others, cores, expected):
    monkeypatch.setattr(os, "cpu_count", lambda: cores)
    assert fair_share(lab.model_copy(update={"workers": workers}), others) == expected


@pytest.mark.integration
def test_a_lone_run_trains_with_every_core_and_runs_at_once_share_them(lab, monkeypatch):
    from core.domain.config import TrainConfig
    from core.runtime import worker
    from core.services import jobs
    from tests.conftest import start_pool, wait_for

    settings = start_pool(monkeypatch)
    tiny = dict(train_subset=200, epochs=1)
    try:
        def finished(*ids):
            return wait_for(lambda: all(jobs.get_run(i, settings).is_finished for i in ids) and
                            [jobs.get_run(i, settings) for i in ids], 180, what=f"runs {ids} to end")

        [alone] = finished(jobs.submit(TrainConfig(name="alone", **tiny), settings))
        assert alone.status == "succeeded" and alone.threads == os.cpu_count()
        # The warm worker trains at the pool's lower priority (the pages and the dispatcher go first).
        assert psutil.Process(alone.worker_pid).nice() == settings.worker_niceness == 10
        # Two at once: the worker that never trained yet takes the share of two runs (the other keeps the
        # threads it fixed when it trained alone, and ends after its run when they no longer fit).
        overlapping = dict(train_subset=800, epochs=10, batch_size=16)  # both are claimed while both wait
        time.sleep(1.5)  # the lone run's worker has looked at the queue after its run (empty: it stays)
        pair = finished(*(jobs.submit(TrainConfig(name=f"pair {i}", **overlapping), settings) for i in range(2)))
        assert all(r.status == "succeeded" for r in pair)
        assert pair[0].started_at < pair[1].finished_at and pair[1].started_at < pair[0].finished_at
        assert min(r.threads for r in pair) == max(1, os.cpu_count() // 2)
        # Alone again: a worker left with one thread hands the run to a fresh worker, which has every core.
        [again] = finished(jobs.submit(TrainConfig(name="alone again", **tiny), settings))
        assert again.status == "succeeded" and again.threads == os.cpu_count()
    finally:
        assert worker.stop(settings)
