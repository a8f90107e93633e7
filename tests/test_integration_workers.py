"""Real worker processes on tiny data: concurrency, cancel, a SIGKILLed worker, recovery."""
import os
import signal
import time

import pytest

from core.domain.config import TrainConfig
from core.domain.statuses import CANCELLED, FAILED, RUNNING, SUCCEEDED
from core.runtime import worker
from core.services import jobs
from core.settings import load_settings
from tests.conftest import start_pool, wait_for

pytestmark = pytest.mark.integration


@pytest.fixture
def pool(lab, monkeypatch):
    """A real two-worker pool for the test's lab, stopped afterwards."""
    settings = start_pool(monkeypatch, TRAINLAB_HEARTBEAT_TIMEOUT="10")
    yield settings
    assert worker.stop(settings)


def _status(run_id, settings):
    return jobs.get_run(run_id, settings).status


def _wait_status(run_id, settings, statuses, timeout):
    return wait_for(lambda: _status(run_id, settings) in statuses and jobs.get_run(run_id, settings), timeout,
                    what=f"run #{run_id} to reach {statuses}")


def test_worker_pool_end_to_end(pool):
    settings = pool
    small = dict(train_subset=800, epochs=12, batch_size=8)

    # 1. Two runs train at the same time, one per worker, and both succeed.
    first = jobs.submit(TrainConfig(name="first", **small), settings)
    second = jobs.submit(TrainConfig(name="second", architecture="mlp_bn", **small), settings)
    a = _wait_status(first, settings, (SUCCEEDED, FAILED), 240)
    b = _wait_status(second, settings, (SUCCEEDED, FAILED), 240)
    assert (a.status, b.status) == (SUCCEEDED, SUCCEEDED), (a.error, b.error)
    assert a.started_at < b.finished_at and b.started_at < a.finished_at  # they overlapped
    assert a.worker_pid != b.worker_pid and os.getpid() not in (a.worker_pid, b.worker_pid)
    assert a.test_accuracy > 0.5 and b.test_accuracy > 0.5

    # 2. A running run is cancelled within a moment of the request.
    long = dict(epochs=200, batch_size=4)
    third = jobs.submit(TrainConfig(name="to cancel", **long), settings)
    wait_for(lambda: jobs.get_run(third, settings).batch > 0, 120, what="the third run to train")
    assert jobs.cancel(third, settings) == RUNNING
    cancelled = _wait_status(third, settings, (CANCELLED, FAILED, SUCCEEDED), 30)
    assert cancelled.status == CANCELLED and cancelled.progress < 0.5

    # 3. A worker killed mid-run: its run is re-queued once and trains again in a fresh worker; killed
    # again, it fails with the reason. Never running forever.
    fourth = jobs.submit(TrainConfig(name="to kill", **long), settings)
    for attempt in (1, 2):
        run = wait_for(lambda: (r := jobs.get_run(fourth, settings)).batch > 0 and r.attempt == attempt and r, 120,
                       what=f"attempt {attempt} of the fourth run to train")
        os.kill(run.worker_pid, signal.SIGKILL)
        killed_at = time.monotonic()
        # Noticed: it leaves this attempt's `running` (re-queued, and perhaps claimed again at once, or failed).
        after = wait_for(lambda: ((r := jobs.get_run(fourth, settings)).status != RUNNING or r.attempt > attempt) and r,
                         30, what="the killed run to be noticed")
        assert time.monotonic() - killed_at < 30
    assert "attempt 1 lost: worker process" in after.attempt_note
    assert after.status == FAILED and "died" in after.error and "attempt 2 of 2" in after.error

    # 4. The pool replaces the dead worker and keeps training new runs.
    fifth = jobs.submit(TrainConfig(name="after the kill", train_subset=200, epochs=2), settings)
    assert _wait_status(fifth, settings, (SUCCEEDED, FAILED), 120).status == SUCCEEDED
    metrics = jobs.run_metrics(fifth, settings)
    assert set(metrics["name"]) >= {"loss", "accuracy", "val_loss", "val_accuracy"}


def test_runs_queued_without_workers_wait_and_then_train(lab, monkeypatch):
    run_id = jobs.submit(TrainConfig(train_subset=100, epochs=1), lab)  # autostart is off in tests
    time.sleep(1)
    assert _status(run_id, lab) == "queued"
    monkeypatch.setenv("TRAINLAB_AUTOSTART_WORKERS", "1")
    settings = load_settings()
    assert jobs.ensure_workers(settings)  # e.g. a page opened after a reboot
    try:
        assert _wait_status(run_id, settings, (SUCCEEDED, FAILED), 120).status == SUCCEEDED
    finally:
        assert worker.stop(settings)


LOCK_HOLDER = """
import fcntl, json, os, sys, time
home = sys.argv[1]
fd = os.open(os.path.join(home, "workers.lock"), os.O_RDWR | os.O_CREAT)
fcntl.flock(fd, fcntl.LOCK_EX)
open(os.path.join(home, "workers.pid"), "w").write(json.dumps({"pid": os.getpid(), "code": "from-an-old-version"}))
print("ready", flush=True)
time.sleep(120)
"""


def test_a_pool_running_old_code_is_replaced_when_idle(lab):
    import subprocess
    import sys

    lab.home.mkdir(parents=True, exist_ok=True)
    old = subprocess.Popen([sys.executable, "-c", LOCK_HOLDER, str(lab.home)], stdout=subprocess.PIPE, text=True)
    try:
        assert old.stdout.readline().strip() == "ready"
        assert worker.status(lab).stale
        assert worker.ensure_running(lab)  # the old "pool" is stopped and a current one started
        assert old.wait(20) != 0  # it was terminated
        pool = wait_for(lambda: (s := worker.status(lab)).running and s.code and s, 30, what="the new pool")
        assert pool.code == worker.code_fingerprint() and not pool.stale
    finally:
        old.kill()
        worker.stop(lab)


def test_a_sweep_trains_through_the_pool_and_cancels_as_a_whole(pool):
    from core.domain.sweep_spec import SweepSpec, Variant
    from core.services import sweeps

    settings = pool
    # 1. Two short trials train on the two workers and the results table fills in; the dispatcher then queues
    # the retrain of the best setting the sweep asked for, which trains too.
    short = SweepSpec(name="short", datasets=("digits",), variants=(Variant("mlp", "mlp"),), optimizers=("adam",),
                      learning_rates=(1e-3, 1e-2), batch_sizes=(16,), epochs=(2,), shared={"train_subset": 300},
                      retrain_epochs=1)
    done_id = sweeps.start(short, settings)

    def finished_with_retrain():
        frame = sweeps.runs_frame(done_id, settings)
        return [frame] if len(frame) == 3 and not sweeps.progress(frame, settings).active else None

    (runs,) = wait_for(finished_with_retrain, 180, what="the short sweep and its retrain")
    table = sweeps.trials_table(runs)
    assert set(table["status"]) == {SUCCEEDED} and table["val_accuracy"].notna().all() and table["best"].sum() == 1
    retrain = runs[runs["role"] == "retrain"].iloc[0]
    assert retrain["status"] == SUCCEEDED and retrain["epochs"] == 1
    assert retrain["learning_rate"] == table[table["best"]]["learning_rate"].iloc[0]

    # 2. Cancelling a sweep stops its running trials and drops its queued ones.
    long = SweepSpec(name="long", datasets=("digits",), variants=(Variant("mlp", "mlp"),), optimizers=("adam",),
                     learning_rates=(1e-3, 2e-3, 3e-3, 4e-3), batch_sizes=(4,), epochs=(200,))
    sweep_id = sweeps.start(long, settings)
    wait_for(lambda: (sweeps.runs_frame(sweep_id, settings)["status"] == RUNNING).sum() == 2, 120,
             what="two trials to run")
    assert sweeps.cancel(sweep_id, settings) == 4
    wait_for(lambda: sweeps.runs_frame(sweep_id, settings)["status"].isin([CANCELLED, FAILED]).all(), 30,
             what="every trial to stop")
    runs = sweeps.runs_frame(sweep_id, settings)
    assert set(runs["status"]) == {CANCELLED}
    assert not sweeps.progress(runs, settings).active


def test_a_worker_that_grew_past_the_limit_is_replaced_and_the_next_run_trains(lab, monkeypatch):
    # Every TensorFlow worker holds more than 256 MB, so with this limit each run retires its worker.
    monkeypatch.setenv("TRAINLAB_WORKERS", "1")
    monkeypatch.setenv("TRAINLAB_WORKER_MAX_MB", "256")
    settings = load_settings()
    assert worker.ensure_running(settings)
    try:
        first = jobs.submit(TrainConfig(train_subset=200, epochs=1), settings)
        a = _wait_status(first, settings, (SUCCEEDED, FAILED), 120)
        second = jobs.submit(TrainConfig(train_subset=200, epochs=1), settings)
        b = _wait_status(second, settings, (SUCCEEDED, FAILED), 120)
        assert (a.status, b.status) == (SUCCEEDED, SUCCEEDED), (a.error, b.error)
        assert a.worker_pid != b.worker_pid  # a fresh process trained the second run
        wait_for(lambda: not os.path.exists(f"/proc/{a.worker_pid}/status") or
                 "zombie" in open(f"/proc/{a.worker_pid}/status").read(), 10, what="the first worker to end")
    finally:
        assert worker.stop(settings)
