"""Dead-worker detection: a run whose process is gone or silent ends as failed, with the reason."""
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from core.domain.statuses import FAILED, QUEUED, RUNNING, SUCCEEDED
from core.runtime.liveness import process_alive, reap_dead_runs
from core.store.attempts import requeue_or_fail
from core.store.runs import MetricPoint, Superseded
from tests.conftest import on_both_databases


def test_process_alive_tells_live_dead_and_zombie_processes():
    assert process_alive(os.getpid())
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    assert process_alive(child.pid)
    os.kill(child.pid, signal.SIGKILL)
    time.sleep(0.5)
    assert not process_alive(child.pid)  # a zombie (not yet reaped) counts as dead
    child.wait()
    assert not process_alive(child.pid)


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


@on_both_databases
def test_a_run_of_a_dead_or_silent_worker_is_requeued_once_then_failed(store):
    host = socket.gethostname()
    dead = store.create_run("dead", {})
    assert store.claim(dead, _dead_pid(), host) == 1
    store.report(dead, [MetricPoint("batch", 1, 0.1, 0.1, "loss", 2.0)], 1, 1, 0.1, None, attempt=1)
    silent = store.create_run("silent", {})
    store.claim(silent, os.getpid(), "another-host")
    healthy = store.create_run("healthy", {})
    store.claim(healthy, os.getpid(), host)

    handed_back = []
    assert reap_dead_runs(store, heartbeat_timeout=30, on_requeued=handed_back.extend) == [dead]
    run = store.get(dead)
    assert (run.status, handed_back) == (QUEUED, [dead])  # lost to a fault: queued again, for the workers
    assert "attempt 1 lost: worker process" in run.attempt_note and "died" in run.attempt_note
    assert store.metrics(dead) == []  # the retry starts its curves over
    assert store.claim(dead, _dead_pid(), host) == 2
    assert reap_dead_runs(store, heartbeat_timeout=30) == [dead]
    run = store.get(dead)
    assert run.status == FAILED and "died" in run.error and "attempt 2 of 2" in run.error

    # Judged by heartbeat alone (another host, or a live pid): silent for over 1 s is lost, fresh stays.
    time.sleep(1.2)
    store.heartbeat(healthy)
    assert reap_dead_runs(store, heartbeat_timeout=1.0) == [silent]
    assert "no heartbeat for" in store.get(silent).attempt_note and store.get(silent).status == QUEUED
    assert store.get(healthy).status == RUNNING


@on_both_databases
def test_a_superseded_attempt_can_write_nothing(store):
    run_id = store.create_run("r", {})
    first = store.claim(run_id, os.getpid(), "elsewhere")
    store.heartbeat(run_id, attempt=first)
    assert requeue_or_fail(store, run_id, first, "worker 1 stopped") == QUEUED
    second = store.claim(run_id, os.getpid(), "here")
    assert second == first + 1
    point = [MetricPoint("batch", 5, 0.5, 1.0, "loss", 9.0)]
    for write in (lambda: store.report(run_id, point, 1, 5, 0.5, None, attempt=first),
                  lambda: store.heartbeat(run_id, attempt=first),
                  lambda: store.set_plan(run_id, 1, 10, 99, attempt=first)):
        with pytest.raises(Superseded):
            write()
    assert store.finish(run_id, SUCCEEDED, test_accuracy=0.99, attempt=first) is False
    assert store.metrics(run_id) == [] and store.get(run_id).status == RUNNING
    store.report(run_id, point, 1, 5, 0.5, None, attempt=second)  # the owner writes
    assert store.finish(run_id, SUCCEEDED, test_accuracy=0.5, attempt=second)
    assert store.get(run_id).test_accuracy == 0.5 and len(store.metrics(run_id)) == 1
