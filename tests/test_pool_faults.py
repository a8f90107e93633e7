"""Faults of the dispatcher found by probing: a store another process keeps locked past the heartbeat
timeout, a pool whose data folder is deleted under it, and a pool left idle."""
import os
import shutil
import signal
import subprocess
import sys

import pytest

from core.domain.config import TrainConfig
from core.domain.statuses import QUEUED, SUCCEEDED
from core.runtime import worker
from core.runtime.liveness import process_alive
from core.services import jobs
from tests.conftest import PROJECT_ROOT, start_pool, wait_for

pytestmark = pytest.mark.integration

# Another process (a backup tool, a long transaction) takes the store's write lock and keeps it.
LOCK_HOLDER = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
conn.execute("COMMIT")
"""


def _finished(run_id, settings, timeout=180):
    return wait_for(lambda: (r := jobs.get_run(run_id, settings)).is_finished and r, timeout,
                    what=f"run #{run_id} to end")


def test_a_store_locked_past_the_heartbeat_timeout_fails_no_run_and_a_submit_says_so_in_one_line(lab, monkeypatch):
    settings = start_pool(monkeypatch, TRAINLAB_WORKERS="1", TRAINLAB_HEARTBEAT_TIMEOUT="3",
                          TRAINLAB_STORE_BUSY_SECONDS="1.5")
    try:
        run_id = jobs.submit(TrainConfig(name="locked out", epochs=4, batch_size=8, train_subset=600), settings)
        wait_for(lambda: jobs.get_run(run_id, settings).batch > 0, 120, what="the run to train")
        holder = subprocess.Popen([sys.executable, "-c", LOCK_HOLDER, str(settings.db_path), "8"],
                                  stdout=subprocess.PIPE, text=True)
        assert holder.stdout.readline().strip() == "locked"
        submit = subprocess.run([sys.executable, "-m", "core", "submit", "--epochs", "1"], cwd=PROJECT_ROOT,
                                env={**os.environ, "TRAINLAB_HOME": str(settings.home)}, capture_output=True,
                                text=True, timeout=60)
        said = (submit.stdout + submit.stderr).strip()
        assert holder.poll() is None, "the lock was let go before the submit met it"
        assert submit.returncode == 2 and "was locked by another process" in said, said
        assert "Traceback" not in said and len(said.splitlines()) == 1, said
        assert holder.wait(30) == 0
        done = _finished(run_id, settings)
        # The lock outlasted the heartbeat timeout and a write's patience: the attempt may be lost, never the run.
        assert done.status == SUCCEEDED, (done.error, done.attempt_note)
        assert done.attempt == 1 or "locked by another process" in done.attempt_note, done.attempt_note
        assert [r.id for r in jobs.list_runs(settings)] == [run_id]  # the refused submit stored nothing
    finally:
        assert worker.stop(settings)


def test_a_pool_whose_data_folder_is_deleted_ends_with_its_workers(lab, monkeypatch):
    settings = start_pool(monkeypatch)
    pool = worker.status(settings).pid
    workers = wait_for(lambda: len(kids := _children(pool)) >= 2 and kids, 60, what="the pool's workers")
    shutil.rmtree(settings.home)
    wait_for(lambda: not process_alive(pool), 20, what="the pool to end")
    wait_for(lambda: not any(process_alive(w) for w in workers), 20, what="its workers to end")


def test_an_idle_pool_ends_and_the_next_submit_brings_it_back(lab, monkeypatch):
    settings = start_pool(monkeypatch, TRAINLAB_WORKERS="1", TRAINLAB_POOL_IDLE_SECONDS="3",
                          TRAINLAB_AUTOSTART_WORKERS="1")
    first = worker.status(settings).pid
    try:
        wait_for(lambda: not worker.status(settings).running, 30, what="the idle pool to end")
        wait_for(lambda: not process_alive(first), 10, what="its process to exit")
        assert "nothing queued or running for" in (settings.logs_dir / "workers.log").read_text()
        done = _finished(jobs.submit(TrainConfig(name="after a rest", epochs=1, train_subset=200), settings), settings)
        assert done.status == SUCCEEDED, done.error
        assert worker.status(settings).pid not in (None, first)
    finally:
        assert worker.stop(settings)


def test_stopping_a_pool_with_a_paused_worker_requeues_its_run_with_the_true_reason(lab, monkeypatch):
    settings = start_pool(monkeypatch, TRAINLAB_WORKERS="1")
    pool = worker.status(settings).pid
    run_id = jobs.submit(TrainConfig(name="paused at the stop", epochs=200, batch_size=4), settings)
    run = wait_for(lambda: (r := jobs.get_run(run_id, settings)).batch > 0 and r, 120, what="the run to train")
    os.kill(run.worker_pid, signal.SIGSTOP)  # it cannot hand its run back when told to stop
    assert worker.stop(settings)
    after = jobs.get_run(run_id, settings)
    assert after.status == QUEUED, after
    assert after.attempt_note == f"attempt 1 lost: the worker pool (pid {pool}) was stopped while this run trained; " \
                                 "re-queued"
    assert not process_alive(run.worker_pid)


def test_workers_start_then_status_agree_at_once(lab):
    def cli(*args):
        return subprocess.run([sys.executable, "-m", "core", "workers", *args], cwd=PROJECT_ROOT, capture_output=True,
                              text=True, timeout=60, env={**os.environ, "TRAINLAB_HOME": str(lab.home)}).stdout
    try:
        assert cli("start").startswith("worker pool started (pid ")
        assert cli("status").startswith("running (pid ")  # right after: never "not running"
    finally:
        assert "stopped" in cli("stop")


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in open(f"/proc/{pid}/task/{pid}/children").read().split()]
    except FileNotFoundError:
        return []
