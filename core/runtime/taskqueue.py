"""The job queue: Huey with its SQLite backend, behind a one-method executor interface.

Runs themselves live in the run store; the queue only carries "train run N" messages to the
worker pool. A Ray cluster takes the jobs instead with TRAINLAB_EXECUTOR=ray (core/runtime/ray_executor.py).
"""
from __future__ import annotations

import time
from typing import Protocol

from huey import SqliteHuey

from core.domain.statuses import QUEUED
from core.runtime.fair_share import next_fair_run
from core.runtime.worker_process import (
    interrupt_reason,
    make_way_for,
    retire_if_grown,
    retire_if_misshaped,
    start_task,
    term_received,
    threads_for_run,
)
from core.settings import Settings, load_settings
from core.store.attempts import requeue_or_fail
from core.store.runs import RunStore

TASK_NAME = "train_run"
_QUEUES: dict[str, tuple[SqliteHuey, object]] = {}


class Executor(Protocol):
    """Something that will eventually call `core.training.execute_run(run_id)` in a worker. An executor may
    also have `check()`, which refuses (with one line) before anything is stored when it cannot take runs."""

    def enqueue(self, run_id: int) -> None:
        """Hand run `run_id` (already stored as queued) to the workers."""


MAX_CLAIM_RACES = 20  # another worker may claim the chosen run first: choose again, this many times at most


def _train_run(token: int) -> None:
    """Train the fairest queued run (`next_fair_run`), which may be another than the message's `token`.

    Each queued run puts one message in the queue, so there are always at least as many messages as
    queued runs; a message whose run was cancelled or trained already trains the next fair one, or
    nothing if none is queued. The worker chooses at claim time, so the order is fair between users
    whatever order Huey delivers the messages in."""
    # Imported here: the consumer process forks its workers and must never import TensorFlow.
    from core.training.fit import RunInterrupted, execute_run

    settings = load_settings()
    store = RunStore(settings.store_location)
    races = 0
    while races < MAX_CLAIM_RACES:
        run_id = next_fair_run(store)
        if run_id is None:
            if not store.queued_runs():
                break
            _wait_for_a_limit(settings, token)  # queued runs that only a limit holds: one starts when it frees
            continue
        make_way_for(settings, run_id, get_queue(settings)[1])  # its threads fit the run, or it ends here
        start_task()
        try:
            outcome = execute_run(run_id, settings, threads=threads_for_run(settings), interrupted=term_received)
        except RunInterrupted as interrupted:
            # A lost attempt, not the run's fault: re-queue it once (the message waits in the queue if the
            # pool is stopping, for the next pool), then fail it, with what happened.
            outcome = requeue_or_fail(store, run_id, interrupted.attempt, interrupt_reason())
        if outcome == QUEUED:
            get_queue(settings)[1](run_id)
        if outcome is not None:  # None: another worker claimed it first (or took it over); choose again
            break
        races += 1
    retire_if_grown()
    retire_if_misshaped(settings)


def _wait_for_a_limit(settings: Settings, token: int) -> None:
    """Wait a moment for a run to end (which frees a student's limit of runs at once). A pool stopping
    meanwhile interrupts the wait: this message goes back to the queue first, so no queued run is left
    without one."""
    try:
        time.sleep(max(1.0, 4 * settings.poll_interval))
    except BaseException:
        get_queue(settings)[1](token)
        raise


def get_queue(settings: Settings | None = None) -> tuple[SqliteHuey, object]:
    """The Huey instance for this data folder and its registered training task (cached)."""
    settings = settings or load_settings()
    key = str(settings.queue_path)
    if key not in _QUEUES:
        settings.home.mkdir(parents=True, exist_ok=True)
        huey = SqliteHuey(name="trainlab", filename=key, results=False, timeout=30)
        task = huey.task(name=TASK_NAME)(_train_run)
        _QUEUES[key] = (huey, task)
    return _QUEUES[key]


def executor_for(settings: Settings) -> Executor:
    """The executor the settings choose: this machine's worker pool, or a Ray cluster."""
    if settings.executor == "ray":
        from core.runtime.ray_executor import RayExecutor

        return RayExecutor(settings)
    return HueyExecutor(settings)


class HueyExecutor:
    """The default executor: a message in Huey's SQLite queue, consumed by `core.worker`."""

    def __init__(self, settings: Settings | None = None):
        self.huey, self._task = get_queue(settings)

    def enqueue(self, run_id: int) -> None:
        """Queue run `run_id` for the worker pool."""
        self._task(run_id)
