"""The job queue: Huey with its SQLite backend, behind a one-method executor interface.

Runs themselves live in the run store; the queue only carries "train run N" messages to the
worker pool. Another engine can take the jobs later by implementing `Executor.enqueue`.
"""
from __future__ import annotations

from typing import Protocol

from huey import SqliteHuey

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
from core.store.runs import QUEUED, RunStore

TASK_NAME = "train_run"
_QUEUES: dict[str, tuple[SqliteHuey, object]] = {}


class Executor(Protocol):
    """Something that will eventually call `core.training.execute_run(run_id)` in a worker."""

    def enqueue(self, run_id: int) -> None:
        """Hand run `run_id` (already stored as queued) to the workers."""


def _train_run(run_id: int) -> None:
    # Imported here: the consumer process forks its workers and must never import TensorFlow.
    from core.training.fit import RunInterrupted, execute_run

    settings = load_settings()
    make_way_for(settings, run_id, get_queue(settings)[1])  # its threads fit the run, or it ends here
    start_task()
    try:
        outcome = execute_run(run_id, settings, threads=threads_for_run(settings), interrupted=term_received)
    except RunInterrupted as interrupted:
        # A lost attempt, not the run's fault: re-queue it once (the message waits in the queue if the
        # pool is stopping, for the next pool), then fail it, with what happened.
        outcome = requeue_or_fail(RunStore(settings.db_path), run_id, interrupted.attempt, interrupt_reason())
    if outcome == QUEUED:
        get_queue(settings)[1](run_id)
    retire_if_grown()
    retire_if_misshaped(settings)


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


class HueyExecutor:
    """The default executor: a message in Huey's SQLite queue, consumed by `core.worker`."""

    def __init__(self, settings: Settings | None = None):
        self.huey, self._task = get_queue(settings)

    def enqueue(self, run_id: int) -> None:
        """Queue run `run_id` for the worker pool."""
        self._task(run_id)
