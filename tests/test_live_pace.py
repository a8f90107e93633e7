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


def test_sessions_refreshing_within_a_second_share_one_figure_key_while_a_run_trains(lab, store):
    run_id = store.create_run("a", {})
    store.claim(run_id, 1, "elsewhere")
    store.report(run_id, [], epoch=1, batch=1, progress=0.0, eta_seconds=None, attempt=1)
    now = 1_000_000.2
    before = jobs.data_version(jobs.runs_by_id([run_id], lab), lab, now=now)
    store.report(run_id, [], epoch=1, batch=5, progress=0.1, eta_seconds=None, attempt=1)
    after = jobs.runs_by_id([run_id], lab)
    assert jobs.data_version(after, lab, now=now + 0.5) == before  # new points, same second: one shared build
    assert jobs.data_version(after, lab, now=now + 1.0) != before  # the next second draws them
    store.report(run_id, [], epoch=2, batch=0, progress=0.5, eta_seconds=None, attempt=1)
    assert jobs.data_version(jobs.runs_by_id([run_id], lab), lab, now=now) != before  # a new epoch: at once


def test_an_ended_runs_figure_key_is_fixed_by_its_data_not_the_clock(lab, store):
    run_id = store.create_run("a", {})
    store.claim(run_id, 1, "elsewhere")
    store.finish(run_id, "succeeded")
    ended = jobs.runs_by_id([run_id], lab)
    assert jobs.data_version(ended, lab, now=1.0) == jobs.data_version(ended, lab, now=5000.0)
    assert jobs.data_version(ended, lab) != jobs.data_version(jobs.runs_by_id([run_id], lab),
                                                              lab.model_copy(update={"home": lab.home / "other"}))
