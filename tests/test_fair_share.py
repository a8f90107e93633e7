"""A fair share of the workers between users: the next free worker takes the run of whoever trains least."""
import pytest

from core.domain.config import TrainConfig
from core.domain.people import Actor
from core.runtime import worker
from core.services import jobs
from core.store.runs import FINISHED_STATUSES, RUNNING
from tests.conftest import start_pool, wait_for

AMY, BEN = Actor("amy", "student"), Actor("ben", "student")


def test_the_owner_with_fewest_running_then_least_recent_training_goes_first(store):
    amy = [store.create_run(f"amy {i}", {}, owner="amy") for i in range(3)]
    assert store.next_fair_run() == amy[0]  # one owner: first come, first served
    ben = store.create_run("ben 0", {}, owner="ben")
    store.claim(amy[0], 1, "host")
    assert store.next_fair_run() == ben  # amy has a run training, ben none
    store.claim(ben, 2, "host")
    assert store.next_fair_run() == amy[1]  # one each: the same recent training, so the oldest run
    store.finish(ben, "succeeded")
    cleo = store.create_run("cleo 0", {}, owner="cleo")
    assert store.next_fair_run() == cleo  # ben trained recently and amy trains now; cleo has trained nothing
    store.request_cancel(cleo)
    assert store.next_fair_run() == amy[1]  # ben has nothing queued
    for run_id in amy[1:]:
        store.request_cancel(run_id)
    assert store.next_fair_run() is None


@pytest.mark.integration
def test_a_sweep_queued_first_does_not_hold_another_student_up(lab, monkeypatch):
    settings = start_pool(monkeypatch, TRAINLAB_CLASSROOM="1")
    try:
        small = dict(train_subset=300, epochs=3, batch_size=16)
        amy = [jobs.submit(TrainConfig(name=f"amy {i}", seed=i, **small), settings, actor=AMY) for i in range(6)]
        ben = jobs.submit(TrainConfig(name="ben", **small), settings, actor=BEN)
        wait_for(lambda: all(jobs.get_run(i, settings).status in FINISHED_STATUSES for i in [*amy, ben]), 240,
                 interval=0.5, what="every run to finish")
        runs = {r.id: r for r in jobs.runs_by_id([*amy, ben], settings)}
        assert all(r.status == "succeeded" for r in runs.values()), [(r.id, r.status, r.error) for r in runs.values()]
        starts = sorted(runs, key=lambda i: runs[i].started_at)
        # First come, first served would start ben's run seventh; fair, it starts before amy's third.
        assert starts.index(ben) < starts.index(amy[2]), [runs[i].name for i in starts]
        assert not [r for r in jobs.list_runs(settings) if r.status == RUNNING]
    finally:
        assert worker.stop(settings)
