"""Find runs whose worker died or went silent: re-queue them once, then fail them, so nothing stays
`running` forever (the retry rule is core/store/attempts.py)."""
from __future__ import annotations

import socket
import time
from typing import Callable

from core.domain.statuses import QUEUED, RUNNING
from core.runtime.worker_process import process_alive
from core.store.attempts import requeue_or_fail
from core.store.runs import RunStore


def reap_dead_runs(store: RunStore, heartbeat_timeout: float, now: float | None = None,
                   on_requeued: Callable[[list[int]], None] | None = None) -> list[int]:
    """Re-queue (once) or fail running runs whose worker process is gone or silent; return their ids.

    `on_requeued` gets the ids that went back to the queue, to hand them to the workers again."""
    now = time.time() if now is None else now
    host = socket.gethostname()
    reaped, requeued = [], []
    for run in store.list_runs(statuses=[RUNNING]):
        reason = None
        if run.worker_host == host and run.worker_pid and not process_alive(run.worker_pid):
            reason = f"worker process {run.worker_pid} died (killed by a signal, or out of memory)"
        elif run.heartbeat_at is not None and now - run.heartbeat_at > heartbeat_timeout:
            reason = (f"worker {run.worker_pid} on {run.worker_host} sent no heartbeat for "
                      f"{now - run.heartbeat_at:.0f} s (stopped, hung, or its machine is gone)")
        outcome = requeue_or_fail(store, run.id, run.attempt, reason) if reason else None
        if outcome:
            reaped.append(run.id)
        if outcome == QUEUED:
            requeued.append(run.id)
    if requeued and on_requeued is not None:
        on_requeued(requeued)
    return reaped
