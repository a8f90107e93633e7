"""Dead-worker detection: a run whose process is gone or silent ends as failed, with the reason."""
import os
import signal
import socket
import subprocess
import sys
import time

from core.services.liveness import process_alive, reap_dead_runs
from core.store.runs import FAILED, RUNNING


def test_process_alive_tells_live_dead_and_zombie_processes():
    assert process_alive(os.getpid())
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    assert process_alive(child.pid)
    os.kill(child.pid, signal.SIGKILL)
    time.sleep(0.5)
    assert not process_alive(child.pid)  # a zombie (not yet reaped) counts as dead
    child.wait()
    assert not process_alive(child.pid)


def test_runs_of_dead_or_silent_workers_are_failed(store):
    host = socket.gethostname()
    dead = store.create_run("dead", {})
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    store.claim(dead, child.pid, host)
    silent = store.create_run("silent", {})
    store.claim(silent, os.getpid(), "another-host")
    healthy = store.create_run("healthy", {})
    store.claim(healthy, os.getpid(), host)

    now = time.time()
    assert reap_dead_runs(store, heartbeat_timeout=30, now=now) == [dead]
    assert "died" in store.get(dead).error and store.get(dead).status == FAILED
    # Judged by heartbeat alone (another host, or a live pid): silent for over 1 s fails, fresh stays.
    time.sleep(1.2)
    store.heartbeat(healthy)
    assert reap_dead_runs(store, heartbeat_timeout=1.0) == [silent]
    assert "no heartbeat" in store.get(silent).error
    assert store.get(healthy).status == RUNNING
