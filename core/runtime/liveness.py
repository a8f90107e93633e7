"""Which running runs are lost: their worker process died, or they went silent for longer than the heartbeat
timeout. Only the dispatcher asks (core/runtime/dispatcher.py); it re-queues each once, then fails it, so
nothing stays `running` forever (the retry rule is core/store/attempts.py). Reading runs never reaps."""
from __future__ import annotations

import socket
import time
from typing import Callable

import psutil

from core.domain.statuses import QUEUED, RUNNING, TRACKED
from core.domain.tracked_runs import ended_unsaid, stopped_reporting
from core.store.attempts import requeue_or_fail
from core.store.runs import RunStore


def process_alive(pid: int) -> bool:
    """True if process `pid` exists on this machine and is not a zombie (ended, not yet reaped)."""
    try:
        return psutil.Process(pid).status() not in (psutil.STATUS_ZOMBIE, psutil.STATUS_DEAD)
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:
        return True


def why_lost(run, host: str, heartbeat_timeout: float, now: float, quiet_since: float = 0.0) -> str | None:
    """Why running `run` counts as lost, or None while it lives. Its silence is counted from `quiet_since`
    at the earliest: the moment the store took writes again after another process held it locked, since no
    heartbeat could get through meanwhile."""
    tracked = run.kind == TRACKED  # its "worker" is the student's own script, reporting in
    if run.worker_host == host and run.worker_pid and not process_alive(run.worker_pid):
        if tracked:
            return ended_unsaid(run.worker_pid, run.epoch)
        return f"worker process {run.worker_pid} died (killed by a signal, or out of memory)"
    if run.heartbeat_at is not None and now - max(run.heartbeat_at, quiet_since) > heartbeat_timeout:
        if tracked:
            return stopped_reporting(run.epoch, now - run.heartbeat_at)
        return (f"worker {run.worker_pid} on {run.worker_host} sent no heartbeat for "
                f"{now - run.heartbeat_at:.0f} s (stopped, hung, or its machine is gone)")
    return None


def reap_dead_runs(store: RunStore, heartbeat_timeout: float, now: float | None = None,
                   on_requeued: Callable[[list[int]], None] | None = None, quiet_since: float = 0.0) -> list[int]:
    """Re-queue (once) or fail the running runs that are lost (`why_lost`); return their ids. `on_requeued`
    gets the ids that went back to the queue."""
    now = time.time() if now is None else now
    host = socket.gethostname()
    reaped, requeued = [], []
    for run in store.list_runs(statuses=[RUNNING]):
        reason = why_lost(run, host, heartbeat_timeout, now, quiet_since)
        outcome = requeue_or_fail(store, run.id, run.attempt, reason) if reason else None
        if outcome:
            reaped.append(run.id)
        if outcome == QUEUED:
            requeued.append(run.id)
    if requeued and on_requeued is not None:
        on_requeued(requeued)
    return reaped
