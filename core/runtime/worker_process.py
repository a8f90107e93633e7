"""What runs inside each forked worker process: its warm-up and its retirement when it has grown.

Kept apart from the pool's supervision (worker.py) so the queue's task can call it without the
queue and the pool importing each other.
"""
from __future__ import annotations

import logging
import os

from core.settings import load_settings

log = logging.getLogger(__name__)


def warm_up() -> None:
    """Runs in each worker process after the fork: load TensorFlow once, sized to its share of the CPU."""
    from core.training.threads import configure_tensorflow

    configure_tensorflow(load_settings().threads_per_worker)


def resident_mb() -> float | None:
    """The process's resident memory in MB (Linux), or None where /proc is not available."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def retire_if_grown() -> bool:
    """After a run: end this worker process if its memory passed TRAINLAB_WORKER_MAX_MB.

    TensorFlow keeps part of every trained model's memory after `clear_session()` (an open
    upstream bug: keras-team/keras#17458, tf-keras#286), about the size of the weights plus the
    optimizer's slots per run. The pool's health check replaces an ended worker within seconds
    with a fresh one, so memory stays bounded; small models never reach the limit and keep their
    warm worker. Returns False when the worker stays (it does not return otherwise)."""
    limit = load_settings().worker_max_mb
    rss = resident_mb()
    if rss is None or rss <= limit:
        return False
    log.warning("worker %d holds %.0f MB after a run (limit %d MB): replacing it with a fresh one",
                os.getpid(), rss, limit)
    logging.shutdown()
    os._exit(0)
