"""A run's life in words every layer shares: its statuses and its kinds.

A run Train Lab trains (`TRAINED`) waits as queued until the dispatcher hands it to a worker, which claims
it (running) and ends it (succeeded, failed or cancelled); a lost attempt goes back to queued once. A run
that trains outside Train Lab and only reports in (`TRACKED`: a student's own script or notebook) starts
as running, is never queued or claimed by the dispatcher, and is alive while its reporter's heartbeat is. A run
that only scores a trained model file on a dataset's test split (`EVALUATED`: a leaderboard's entry) goes through
the queue and a worker like a trained one, without training.
"""
from __future__ import annotations

QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED = "queued", "running", "succeeded", "failed", "cancelled"
ACTIVE_STATUSES = (QUEUED, RUNNING)
FINISHED_STATUSES = (SUCCEEDED, FAILED, CANCELLED)
STATUSES = ACTIVE_STATUSES + FINISHED_STATUSES

TRAINED, TRACKED, EVALUATED = "trained", "tracked", "evaluated"
RUN_KINDS = (TRAINED, TRACKED, EVALUATED)
DISPATCHED_KINDS = (TRAINED, EVALUATED)  # the dispatcher hands these to workers


def is_active(status: str) -> bool:
    """Whether a run of `status` still waits or trains."""
    return status in ACTIVE_STATUSES


def retried_when_lost(kind: str) -> bool:
    """Whether a run of `kind` whose attempt was lost (its worker died) goes back to the queue once: only
    a run Train Lab trains (or scores) can be trained again; a tracked run's script is gone with its process."""
    return kind in DISPATCHED_KINDS
