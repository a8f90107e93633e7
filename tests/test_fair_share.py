"""A fair share of the workers between users: the next free worker takes the run of whoever trains least."""
import time

import pytest

from core.domain.class_rules import ClassRules
from core.domain.config import TrainConfig
from core.domain.fair_queue import DEFAULT_SECONDS, Loads, Training, Waiting, schedule
from core.domain.people import Actor
from core.domain.statuses import FINISHED_STATUSES, RUNNING
from core.runtime import worker
from core.services import accounts, jobs
from core.store.accounts import save_class_settings
from core.store.queue import FairQueue, next_fair_run
from tests.conftest import start_pool, wait_for

AMY, BEN = Actor("amy", "student"), Actor("ben", "student")


def test_the_owner_with_fewest_running_then_least_recent_training_goes_first(store):
    amy = [store.create_run(f"amy {i}", {}, owner="amy") for i in range(3)]
    assert next_fair_run(store) == amy[0]  # one owner: first come, first served
    ben = store.create_run("ben 0", {}, owner="ben")
    store.claim(amy[0], 1, "host")
    assert next_fair_run(store) == ben  # amy has a run training, ben none
    store.claim(ben, 2, "host")
    assert next_fair_run(store) == amy[1]  # ben has nothing queued
    store.finish(ben, "succeeded")
    cleo = store.create_run("cleo 0", {}, owner="cleo")
    assert next_fair_run(store) == cleo  # amy trains now, ben trained recently; cleo has trained nothing
    store.request_cancel(cleo)
    dan = store.create_run("dan 0", {}, owner="dan")
    assert next_fair_run(store, now=time.time() + 5) == dan  # ben trained recently, dan not at all
    for run_id in [*amy[1:], dan]:
        store.request_cancel(run_id)
    assert next_fair_run(store) is None


def test_a_students_limit_of_runs_at_once_holds_their_next_run(store, lab):
    accounts.add("amy", "student", "amy-password", lab)
    accounts.add("tess", "teacher", "tess-password", lab)
    save_class_settings(store, ClassRules(max_running=1).to_dict())
    amy = [store.create_run(f"amy {i}", {}, owner="amy") for i in range(2)]
    store.claim(amy[0], 1, "host")
    assert next_fair_run(store) is None  # amy is at her limit: a free worker waits
    tess = store.create_run("tess", {}, owner="tess")
    assert next_fair_run(store) == tess  # teachers are not limited
    store.request_cancel(tess)
    store.finish(amy[0], "succeeded")
    assert next_fair_run(store) == amy[1]  # her run ended: the limit lets the next one go


def test_runs_handed_out_but_not_yet_claimed_count_as_training(store, lab):
    # A Ray dispatcher hands several runs out in one look, before any worker claims its run.
    accounts.add("amy", "student", "amy-password", lab)
    amy = [store.create_run(f"amy {i}", {}, owner="amy") for i in range(2)]
    ben = store.create_run("ben 0", {}, owner="ben")
    assert next_fair_run(store, exclude=frozenset({amy[0]})) == amy[1]  # merely passed over: amy has 0 training
    assert next_fair_run(store, handed=frozenset({amy[0]})) == ben  # handed out: amy has one on its way
    save_class_settings(store, ClassRules(max_running=1).to_dict())
    assert next_fair_run(store, handed=frozenset({amy[0], ben})) is None  # the one handed out holds amy at her limit


def test_one_look_reads_the_queue_once_and_counts_each_run_it_starts(store, lab):
    # The Ray dispatcher's look: runs started in it count as their owner's training for the runs after.
    accounts.add("amy", "student", "amy-password", lab)
    save_class_settings(store, ClassRules(max_running=2).to_dict())
    amy = [store.create_run(f"amy {i}", {"cpus": i}, owner="amy") for i in range(3)]
    ben = [store.create_run(f"ben {i}", {}, owner="ben") for i in range(2)]
    statements = []
    store.connection().set_trace_callback(statements.append)
    queue = FairQueue(store)
    picked = []
    while (run_id := queue.next()) is not None:
        picked.append(run_id)
        queue.skip(run_id) if run_id == ben[0] else queue.take(run_id)  # ben's first waits for room
    assert picked == [amy[0], ben[0], ben[1], amy[1]]  # amy's third is held by her limit of two at once
    assert queue.config(amy[1]) == {"cpus": 1}
    assert len(statements) <= 6  # the queue, the loads, the class's limits and users: once, not per run
    store.connection().set_trace_callback(None)


def test_the_queue_order_and_likely_starts_are_played_forward():
    waiting = [Waiting(i, "amy", 100) for i in range(1, 7)] + [Waiting(7, "ben", 50)]
    places = schedule(waiting, [], workers=2, loads=Loads())
    assert [run for run, _ in sorted(places.items(), key=lambda p: p[1].position)] == [1, 7, 2, 3, 4, 5, 6]
    assert [places[i].starts_in for i in (1, 7, 2, 3, 4)] == [0, 0, 50, 100, 150]
    # Both workers busy (amy's run has 30 s left, an unknown one DEFAULT_SECONDS), ben held to one at once.
    held = schedule([Waiting(8, "ben", 10), Waiting(9, "ben", 10)], [Training("amy", 30), Training("ben", None)],
                    workers=2, loads=Loads(running={"amy": 1, "ben": 1}, at_once_limit={"ben": 1}))
    assert held[8].starts_in == DEFAULT_SECONDS and held[9].starts_in == DEFAULT_SECONDS + 10
    assert schedule([Waiting(1, "ben")], [], 1, Loads(running={"ben": 1}, at_once_limit={"ben": 1})) == {}


@pytest.mark.integration
def test_a_sweep_queued_first_does_not_hold_another_student_up(lab, monkeypatch):
    settings = start_pool(monkeypatch, TRAINLAB_CLASSROOM="1")
    try:
        small = dict(train_subset=300, epochs=3, batch_size=16)
        amy = [jobs.submit(TrainConfig(name=f"amy {i}", seed=i, **small), settings, actor=AMY) for i in range(6)]
        ben = jobs.submit(TrainConfig(name="ben", **small), settings, actor=BEN)
        teacher = Actor("tess", "teacher")
        wait_for(lambda: all(jobs.get_run(i, settings, actor=teacher).status in FINISHED_STATUSES
                             for i in [*amy, ben]), 240, interval=0.5, what="every run to finish")
        runs = {r.id: r for r in jobs.runs_by_id([*amy, ben], settings, actor=teacher)}
        assert all(r.status == "succeeded" for r in runs.values()), [(r.id, r.status, r.error) for r in runs.values()]
        starts = sorted(runs, key=lambda i: runs[i].started_at)
        # First come, first served would start ben's run seventh; fair, it starts before amy's third.
        assert starts.index(ben) < starts.index(amy[2]), [runs[i].name for i in starts]
        assert not [r for r in jobs.list_runs(settings, actor=teacher) if r.status == RUNNING]
    finally:
        assert worker.stop(settings)
