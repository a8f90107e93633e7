"""What happens to a run whose attempt was lost to an infrastructure fault: one retry, then failed.

A lost attempt (its worker killed, replaced, silent, or its pool stopped) is not the run's fault, so
the run goes back to the queue once, its curves cleared for the new attempt and the reason kept in
`attempt_note`; a second lost attempt fails the run with the reason. A run that raised in its own
code is never retried (the worker fails it itself). Each transition names the attempt it judged, so
it never touches a newer one.
"""
from __future__ import annotations

import logging
import time

from core.domain.statuses import CANCELLED, FAILED, QUEUED, RUNNING, retried_when_lost
from core.store.runs import RunStore
from core.store.schema import StoreBusy

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 2  # the first attempt and one retry


def requeue_or_fail(store: RunStore, run_id: int, attempt: int, reason: str) -> str | None:
    """Re-queue run `run_id` if `attempt` still owns it and attempts are left, else fail it with `reason`.

    A tracked run (core/domain/statuses.py) is never re-queued: it fails at once, or ends cancelled when a cancel
    was asked. Returns QUEUED, FAILED, CANCELLED, or None when the attempt no longer owned the run (it had
    finished, or another transition came first)."""
    with store.transaction() as conn:
        row = conn.execute("SELECT kind, cancel_requested FROM runs WHERE id=?", (run_id,)).fetchone()
        retried = row is not None and retried_when_lost(row[0])
        if row is not None and not retried and row[1]:  # a tracked run asked to stop, gone silent: as asked
            cur = conn.execute(
                "UPDATE runs SET status=?, finished_at=?, error=?, eta_seconds=NULL, train_seconds=COALESCE("
                "train_seconds, heartbeat_at - started_at) WHERE id=? AND status=? AND attempt=?",
                (CANCELLED, time.time(), f"cancelled from Train Lab ({reason})", run_id, RUNNING, attempt))
            return CANCELLED if cur.rowcount == 1 else None
        if retried and attempt < MAX_ATTEMPTS:
            note = f"attempt {attempt} lost: {reason}; re-queued"
            cur = conn.execute(
                "UPDATE runs SET status=?, started_at=NULL, heartbeat_at=NULL, worker_pid=NULL, worker_host=NULL, "
                "epoch=0, batch=0, progress=0, eta_seconds=NULL, attempt_note=? WHERE id=? AND status=? AND attempt=?",
                (QUEUED, note, run_id, RUNNING, attempt))
            if cur.rowcount == 1:
                conn.execute("DELETE FROM metrics WHERE run_id=?", (run_id,))  # the new attempt starts over
                return QUEUED
            return None
        # A tracked run's reason is its own story ("the script stopped reporting at epoch 7 ..."): no attempts.
        error = f"{reason} (attempt {attempt} of {MAX_ATTEMPTS}; not retried again)" if retried else reason
        # Its training time is what it trained until its last sign of life (a killed script's run too).
        cur = conn.execute(
            "UPDATE runs SET status=?, finished_at=?, error=?, eta_seconds=NULL, "
            "train_seconds=COALESCE(train_seconds, heartbeat_at - started_at) WHERE id=? AND status=? AND attempt=?",
            (FAILED, time.time(), error, run_id, RUNNING, attempt))
        return FAILED if cur.rowcount == 1 else None


def settle_lost_attempt(location: str, run_id: int, attempt: int, reason: str, tries: int = 10) -> str | None:
    """`requeue_or_fail`, waiting out a store another process keeps locked; if it stays locked, the
    dispatcher's heartbeat check settles the run once the store is back."""
    store = RunStore(location)
    for _ in range(tries):
        try:
            return requeue_or_fail(store, run_id, attempt, reason)
        except StoreBusy:
            log.warning("run %s: the store is locked; waiting to re-queue it", run_id)
    return None
