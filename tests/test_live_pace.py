"""How often live pages redraw: the user's pace while a run is young, slower once runs have settled."""
import time

from core.services import jobs
from core.services.jobs import SETTLED_PACE, Activity


def test_the_pace_follows_the_newest_runs_age():
    now = 1_000_000.0
    assert Activity((), 1, newest_start=now - 10).pace(2, now) == 2  # first minute: as chosen
    assert Activity((), 1, newest_start=now - 120).pace(2, now) == SETTLED_PACE  # settled: slower
    assert Activity((), 1, newest_start=now - 120).pace(10, now) == 10  # never faster than chosen
    assert Activity((), 1, newest_start=None).pace(1, now) == 1  # only queued runs: about to start


def test_activity_reports_when_the_newest_running_run_started(lab, store):
    first, second = store.create_run("a", {}), store.create_run("b", {})
    assert jobs.activity(lab).newest_start is None
    store.claim(first, 1, "elsewhere")
    time.sleep(0.05)
    store.claim(second, 1, "elsewhere")
    assert jobs.activity(lab).newest_start == store.get(second).started_at
    store.finish(second, "succeeded")
    assert jobs.activity(lab).newest_start == store.get(first).started_at
