"""What runs inside each forked worker process: its warm-up and its retirement when it has grown.

Kept apart from the pool's supervision (worker.py) so the queue's task can call it without the
queue and the pool importing each other.
"""
from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import sys

from core.domain.statuses import QUEUED, RUNNING
from core.settings import Settings, load_settings
from core.store.runs import RunStore

log = logging.getLogger(__name__)
POOL_STOPPING = None  # the pool's stop flag (a multiprocessing Event), set by the pool before it forks workers


def warm_up() -> None:
    """Runs in each worker process after the fork: load TensorFlow once (its threads are set per run)."""
    from core.training.threads import load_tensorflow

    remember_sigterm()
    load_tensorflow()


_TERM_RECEIVED = False  # a SIGTERM reached this worker during its current task


def remember_sigterm() -> None:
    """Wrap the SIGTERM handler Huey gave this worker (it raises KeyboardInterrupt in a running task) so
    the task can tell afterwards that one came: a KeyboardInterrupt raised while TensorFlow traces a
    function can come out of it as another error, which would otherwise read as the run's own fault."""
    previous = signal.getsignal(signal.SIGTERM)
    if not callable(previous):
        return

    def remember(signum, frame):
        global _TERM_RECEIVED
        _TERM_RECEIVED = True
        previous(signum, frame)

    with contextlib.suppress(ValueError):  # not the main thread: keep Huey's handler as it is
        signal.signal(signal.SIGTERM, remember)


def start_task() -> None:
    """At the start of each task: no SIGTERM has reached it yet."""
    global _TERM_RECEIVED
    _TERM_RECEIVED = False


def term_received() -> bool:
    """Whether a SIGTERM reached this worker since its current task began."""
    return _TERM_RECEIVED


# -- a lone run gets the whole machine, concurrent runs share it ----------------------------------------------
_THREADS: int | None = None  # the CPU threads this process's TensorFlow was given at its first run


def fair_share(settings: Settings, others_active: int) -> int:
    """CPU threads for a run while `others_active` other runs are queued or running in this pool: all the
    cores when it is alone, an equal part of them when it shares the pool's workers."""
    sharing = min(settings.workers, others_active + 1)
    return max(1, (os.cpu_count() or 1) // sharing)


def _active(settings: Settings) -> int:
    counts = RunStore(settings.store_location).count_by_status()
    return counts.get(RUNNING, 0) + counts.get(QUEUED, 0)


def threads_for_run(settings: Settings) -> int:
    """Before this worker claims a queued run: the CPU threads it will train with.

    TensorFlow fixes its thread pool at its first operation, so a worker's first run decides: the fair
    share of the cores at that moment (the run being claimed is still counted as queued). A lone run on
    a 2-core laptop trains with both cores (1.4-1.7x faster than with one), two runs with one each."""
    global _THREADS
    if _THREADS is None:
        from core.training.threads import use_threads

        _THREADS = use_threads(fair_share(settings, max(0, _active(settings) - 1)))
    return _THREADS


def make_way_for(settings: Settings, run_id: int, requeue) -> None:
    """Before a claim: a worker whose threads were fixed below the share this run would get now (it
    trained while others did, and now the run would be alone) hands the run back with `requeue(run_id)`
    and ends, so the pool's fresh worker trains it with every core it may have. The run waits a few
    seconds for that worker's TensorFlow; it then trains 1.4-1.7x faster on this 2-core machine. A
    fresh worker never makes way, so a run is handed back at most once per worker."""
    if _THREADS is None or _THREADS >= fair_share(settings, max(0, _active(settings) - 1)):
        return
    requeue(run_id)
    _end_worker(f"worker {os.getpid()} has {_THREADS} CPU threads, fewer than run {run_id}'s share: "
                "handing it to a fresh worker")


def retire_if_misshaped(settings: Settings) -> bool:
    """After a run: end this worker if the next run would get another share of the cores than its
    TensorFlow has (say it trained alone with every core and now runs are queued behind others), so
    the pool's fresh replacement picks the right share at its first run. False when the worker stays."""
    if _THREADS is None or fair_share(settings, _active(settings)) == _THREADS:
        return False
    _end_worker(f"worker {os.getpid()} has {_THREADS} CPU threads, the next run's share differs: replacing it")


def interrupt_reason() -> str:
    """Why the task in this worker was interrupted (Huey raises KeyboardInterrupt on SIGTERM): the
    pool stopping (its stop flag is set first), or a SIGTERM from another process while it kept running."""
    if POOL_STOPPING is not None and POOL_STOPPING.is_set():
        return f"the worker pool (pid {os.getppid()}) was stopped while this run trained"
    return (f"worker process {os.getpid()} received SIGTERM from another process while the pool "
            f"(pid {os.getppid()}) kept running")


def process_alive(pid: int) -> bool:
    """True if process `pid` exists on this machine and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            # The state follows the parenthesised command name, which may hold spaces.
            state = fh.read().rsplit(")", 1)[1].split()[0]
        return state not in ("Z", "X")
    except FileNotFoundError:
        return False
    except OSError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def guard_forked_child(lock_fd: int, pool_pid: int) -> None:
    """In each process the pool forks: let go of the pool's lock and die with the pool.

    A forked child shares the parent's lock on workers.lock; an orphan still holding it would keep
    every new pool out while queued runs wait. Closing the child's copy leaves the lock to the pool
    alone, and PR_SET_PDEATHSIG kills the child when the pool's parent dies (its run is then found
    dead and re-queued once), so no worker trains unsupervised. Processes a worker forks are left alone."""
    global _GUARDED
    if _GUARDED:
        return
    _GUARDED = True
    with contextlib.suppress(OSError):
        os.close(lock_fd)
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != pool_pid:  # the pool died before the signal was armed
        os._exit(1)


_PR_SET_PDEATHSIG = 1
_GUARDED = False  # True in a process the pool forked (and in whatever that process forks)


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
    _end_worker(f"worker {os.getpid()} holds {rss:.0f} MB after a run (limit {limit} MB): "
                "replacing it with a fresh one", level=logging.WARNING)


def _end_worker(reason: str, level: int = logging.INFO) -> None:
    """End this worker process at once, saying why; the pool's health check starts a fresh one."""
    log.log(level, reason)
    logging.shutdown()
    os._exit(0)
