"""What runs inside each warm worker process of the local pool: train the runs the dispatcher hands it over a
pipe (core/runtime/local_pool.py), one at a time, with the CPU threads it gave, until told to end. The worker
never chooses a run; its claim fails harmlessly if the run was cancelled meanwhile. It answers with the run's
status and whether it must be replaced (it grew past TRAINLAB_WORKER_MAX_MB, or a signal interrupted it)."""
from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import sys

import psutil

from core.settings import Settings, load_settings
from core.store.attempts import settle_lost_attempt
from core.store.schema import StoreBusy

log = logging.getLogger(__name__)
_TRAINING = False  # this worker is inside a run now (a SIGTERM then interrupts it; otherwise it just ends)
_TERM_RECEIVED = False  # a SIGTERM reached this worker during its current run


def serve(conn, stopping, lock_fd: int, pool_pid: int) -> None:
    """The worker's life: warm up, say "ready", then for each ("train", run_id, threads) train the run and
    answer ("done", run_id, status, ends); ("end",) or the pipe closing ends it, at once (os._exit: no
    wait for TensorFlow's teardown or its threads)."""
    try:
        _serve(conn, stopping, lock_fd, pool_pid)
    finally:
        logging.shutdown()
        os._exit(0)


def _serve(conn, stopping, lock_fd: int, pool_pid: int) -> None:
    guard_forked_child(lock_fd, pool_pid)
    signal.signal(signal.SIGTERM, _on_sigterm)
    from core.training.threads import load_tensorflow, yield_cpu

    yield_cpu(load_settings().worker_niceness)
    load_tensorflow()
    conn.send(("ready", os.getpid()))
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return  # the pool is gone
        if message[0] != "train":
            return
        _, run_id, threads = message
        status, interrupted = _train(run_id, threads, stopping)
        # A SIGTERM swallowed on the way (a KeyboardInterrupt in a weakref callback is only printed) still ends it.
        ends = interrupted or _TERM_RECEIVED or grown_past_limit(load_settings())
        conn.send(("done", run_id, status, ends))
        if ends:
            return


def _train(run_id: int, threads: int, stopping) -> tuple[str | None, bool]:
    """Claim and train run `run_id`; its status, and whether a signal interrupted it (the run is then
    re-queued once or failed under the retry rule, with who sent the signal)."""
    global _TRAINING, _TERM_RECEIVED
    from core.training.fit import RunInterrupted, execute_run
    from core.training.threads import use_threads

    settings = load_settings()
    _TRAINING, _TERM_RECEIVED = True, False
    try:
        return execute_run(run_id, settings, threads=use_threads(threads), interrupted=lambda: _TERM_RECEIVED), False
    except RunInterrupted as interrupted:
        signalled = interrupted.reason is None  # else the store stayed locked: the worker itself is fine
        reason = interrupt_reason(stopping) if signalled else interrupted.reason
        return settle_lost_attempt(settings.store_location, run_id, interrupted.attempt, reason), signalled
    except StoreBusy:  # its claim was refused: the run still waits in the queue, for the next look
        return None, False
    except KeyboardInterrupt:  # outside the run's training (its claim, or after it was settled): the worker ends;
        return None, True  # a run it left running is found with its process gone and re-queued once
    finally:
        _TRAINING = False


def _on_sigterm(signum, frame) -> None:
    """SIGTERM: an idle worker ends at once; one that trains is interrupted (KeyboardInterrupt, RunInterrupted in
    execute_run). The flag tells it apart from the run's own fault when TensorFlow turns it into another error."""
    global _TERM_RECEIVED
    if not _TRAINING:
        os._exit(0)
    _TERM_RECEIVED = True
    raise KeyboardInterrupt


def interrupt_reason(stopping) -> str:
    """Why the run in this worker was interrupted: the pool stopping (it sets `stopping` first), or a
    SIGTERM from another process while the pool kept running."""
    if stopping is not None and stopping.is_set():
        return f"the worker pool (pid {os.getppid()}) was stopped while this run trained"
    return (f"worker process {os.getpid()} received SIGTERM from another process while the pool "
            f"(pid {os.getppid()}) kept running")


def guard_forked_child(lock_fd: int, pool_pid: int) -> None:
    """In each worker the pool forks: let go of the pool's lock (an orphan holding it would keep every new pool
    out) and die with the pool (PR_SET_PDEATHSIG; its run is then re-queued once by the next pool)."""
    with contextlib.suppress(OSError):
        os.close(lock_fd)
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != pool_pid:  # the pool died before the signal was armed
        os._exit(1)


_PR_SET_PDEATHSIG = 1


def grown_past_limit(settings: Settings) -> bool:
    """After a run: whether this worker's memory passed TRAINLAB_WORKER_MAX_MB, saying so (it is then replaced).
    TensorFlow keeps part of every trained model's memory after `clear_session()` (keras-team/keras#17458,
    tf-keras#286); small models never reach the limit and keep their warm worker."""
    rss = psutil.Process().memory_info().rss / 2**20
    if rss <= settings.worker_max_mb:
        return False
    log.warning("worker %s holds %.0f MB after a run (limit %s MB): replacing it with a fresh one", os.getpid(), rss,
                settings.worker_max_mb)
    return True

