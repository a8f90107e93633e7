"""Fault injection on real worker pools: kill, stop and pause processes, then check that every run
ends in a terminal state (or is re-queued once) with a true reason, that no run is written by two
attempts, and that a new run still succeeds."""
import os
import signal
import subprocess
import sys
import time

import pytest

from core.domain.config import TrainConfig
from core.domain.statuses import FAILED, QUEUED, RUNNING, SUCCEEDED
from core.runtime import worker
from core.runtime.liveness import process_alive
from core.services import jobs
from core.store.runs import RunStore
from tests.conftest import PROJECT_ROOT, child_pids, start_pool, wait_for

pytestmark = pytest.mark.integration

LONG = dict(epochs=200, batch_size=4, train_subset=400)  # trains for minutes unless stopped
SHORT = dict(epochs=2, train_subset=200)


def _pool(monkeypatch, workers: int):
    settings = start_pool(monkeypatch, TRAINLAB_WORKERS=str(workers), TRAINLAB_AUTOSTART_WORKERS="1",
                          TRAINLAB_HEARTBEAT_TIMEOUT="4")
    wait_for(lambda: len(_workers_of(settings)) >= workers, 60, what="the pool's workers")
    return settings


@pytest.fixture
def pool(lab, monkeypatch):
    """A two-worker pool that the app would restart by itself (autostart on), stopped afterwards."""
    settings = _pool(monkeypatch, 2)
    yield settings
    assert worker.stop(settings)


@pytest.fixture
def one_worker_pool(lab, monkeypatch):
    """The same with one worker, for a fault that needs no second (each worker's TensorFlow import and its
    replacement's are seconds of CPU)."""
    settings = _pool(monkeypatch, 1)
    yield settings
    assert worker.stop(settings)


def _workers_of(settings) -> list[int]:
    pool = worker.status(settings)
    return child_pids(pool.pid) if pool.running and pool.pid else []


def _training(run_id, settings, attempt=1):
    return wait_for(lambda: (r := jobs.get_run(run_id, settings)).status == RUNNING and r.batch > 0
                    and r.attempt == attempt and r, 120, what=f"run #{run_id} attempt {attempt} to train")


def _left_running(run_id, settings, timeout=30):
    return wait_for(lambda: (r := jobs.get_run(run_id, settings)).status != RUNNING and r, timeout,
                    what=f"run #{run_id} to leave 'running'")


def _cli(*args, settings) -> subprocess.CompletedProcess:
    env = {**os.environ, "TRAINLAB_HOME": str(settings.home)}
    return subprocess.run([sys.executable, "-m", "core", *args], cwd=PROJECT_ROOT, env=env, capture_output=True,
                          text=True, timeout=60)


def test_killing_the_pools_parent_takes_its_workers_and_the_next_look_brings_a_pool_back(pool):
    settings = pool
    run_id = jobs.submit(TrainConfig(name="orphaned", **LONG), settings)
    _training(run_id, settings)
    parent, children = worker.status(settings).pid, _workers_of(settings)
    os.kill(parent, signal.SIGKILL)
    # The workers die with their parent, so none holds the pool's lock: no pool is reported running.
    wait_for(lambda: not any(process_alive(c) for c in children), 10, what="the orphaned workers to die")
    wait_for(lambda: not worker.status(settings).running, 10, what="the lock to be free")
    status = _cli("workers", "status", settings=settings)
    assert "not running" in status.stdout + status.stderr, status

    # The next look at the runs re-queues the lost run and starts a pool; it trains again and succeeds.
    run = _left_running(run_id, settings)
    assert run.status == QUEUED and "attempt 1 lost: worker process" in run.attempt_note
    wait_for(lambda: worker.status(settings).running, 30, what="a new pool")
    fresh = jobs.submit(TrainConfig(name="after", **SHORT), settings)
    assert wait_for(lambda: jobs.get_run(fresh, settings).status in (SUCCEEDED, FAILED) and
                    jobs.get_run(fresh, settings), 120, what="the new run").status == SUCCEEDED
    assert _training(run_id, settings, attempt=2)
    assert jobs.cancel(run_id, settings) == RUNNING


def test_workers_stop_is_fast_and_truthful_when_the_parent_is_already_dead(one_worker_pool):
    settings = one_worker_pool
    parent = worker.status(settings).pid
    os.kill(parent, signal.SIGKILL)
    started = time.monotonic()
    stopped = _cli("workers", "stop", settings=settings)
    assert stopped.returncode == 0 and "did not stop" not in stopped.stdout, stopped
    assert time.monotonic() - started < 10
    assert not worker.status(settings).running


def test_a_paused_worker_cannot_write_into_the_run_it_lost(pool):
    settings = pool
    run_id = jobs.submit(TrainConfig(name="paused", epochs=6, batch_size=8, train_subset=600), settings)
    first = _training(run_id, settings)
    os.kill(first.worker_pid, signal.SIGSTOP)
    try:
        # Past the heartbeat timeout the attempt counts as lost: re-queued, and the other worker takes it.
        second = _training(run_id, settings, attempt=2)
        assert second.worker_pid != first.worker_pid and "no heartbeat" in second.attempt_note
    finally:
        os.kill(first.worker_pid, signal.SIGCONT)
    done = wait_for(lambda: (r := jobs.get_run(run_id, settings)).status != RUNNING and r, 180, what="attempt 2")
    assert done.status == SUCCEEDED and done.attempt == 2, done.error
    time.sleep(2)  # the resumed attempt 1 tries to write, is refused and stops
    points = RunStore(settings.db_path).metrics(run_id)
    steps = [(p.kind, p.name, p.step) for p in points]
    assert len(steps) == len(set(steps)), "two attempts wrote points of the same step"
    run_dir = settings.runs_dir / str(run_id)
    assert (run_dir / "model.keras").is_file() and not list(run_dir.glob(".attempt*"))
    log = (settings.logs_dir / "workers.log").read_text()
    assert f"run {run_id}: attempt 1 was superseded" in log
    # The superseded worker stopped training and lives on, unless it left cleanly because the next run's
    # share of the cores differs from its threads (it trained alone with all of them).
    assert process_alive(first.worker_pid) or f"worker {first.worker_pid} has {first.threads} CPU threads" in log


def test_sigterm_to_one_worker_says_so_and_the_pool_keeps_going(one_worker_pool):
    settings = one_worker_pool
    run_id = jobs.submit(TrainConfig(name="terminated", **LONG), settings)
    run = _training(run_id, settings)
    os.kill(run.worker_pid, signal.SIGTERM)
    after = _training(run_id, settings, attempt=2)  # re-queued at once, and trains again
    pool_pid = worker.status(settings).pid
    assert after.attempt_note == (f"attempt 1 lost: worker process {run.worker_pid} received SIGTERM from another "
                                  f"process while the pool (pid {pool_pid}) kept running; re-queued")
    jobs.cancel(run_id, settings)


def test_stopping_the_pool_requeues_its_run_for_the_next_pool(one_worker_pool):
    settings = one_worker_pool
    run_id = jobs.submit(TrainConfig(name="restarted", epochs=3, batch_size=8, train_subset=600), settings)
    run = _training(run_id, settings)
    pool_pid = worker.status(settings).pid
    assert worker.stop(settings)
    after = jobs.get_run(run_id, settings)
    assert after.status == QUEUED, after
    assert after.attempt_note == f"attempt 1 lost: the worker pool (pid {pool_pid}) was stopped while this run " \
                                 "trained; re-queued"
    assert run.worker_pid not in child_pids(pool_pid)
    assert worker.ensure_running(settings)
    done = wait_for(lambda: (r := jobs.get_run(run_id, settings)).status in (SUCCEEDED, FAILED) and r, 180,
                    what="the re-queued run in the next pool")
    assert done.status == SUCCEEDED and done.attempt == 2


def test_an_attempt_lost_while_saving_leaves_no_model_behind(lab, store):
    """In-process: the attempt is superseded after its fit, while it evaluates and saves."""
    import io
    import threading

    import numpy as np

    from core.data.uploads import save_npz
    from core.store.attempts import requeue_or_fail
    from core.training.fit import execute_run

    rng = np.random.default_rng(0)
    buffer = io.BytesIO()  # a large test split makes evaluating and saving take a moment
    np.savez(buffer, x_train=rng.integers(0, 256, (64, 8, 8), np.uint8), y_train=np.arange(64) % 2,
             x_test=rng.integers(0, 256, (60_000, 8, 8), np.uint8), y_test=np.arange(60_000) % 2)
    save_npz("bigtest", buffer.getvalue(), lab)
    run_id = store.create_run("saving", TrainConfig(dataset="upload:bigtest", epochs=1, batch_size=32).to_dict())
    outcome = []
    trainer = threading.Thread(target=lambda: outcome.append(execute_run(run_id, lab)))
    trainer.start()
    wait_for(lambda: (r := store.get(run_id)).is_finished or (r.status == RUNNING and r.progress >= 1.0), 120,
             interval=0.005, what="the fit to end")
    assert requeue_or_fail(store, run_id, 1, "lost while saving") == QUEUED, store.get(run_id)
    trainer.join(120)
    run_dir = lab.runs_dir / str(run_id)
    assert outcome == [None] and store.get(run_id).status == QUEUED
    assert not (run_dir / "model.keras").exists() and not (run_dir / "predictions.npz").exists()
    assert not list(run_dir.glob(".attempt*")) and store.metrics(run_id) == []
