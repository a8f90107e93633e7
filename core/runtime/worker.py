"""The worker pool's life cycle: the dispatcher process (core/runtime/dispatcher.py) of a data folder, in a
process group of its own (`python -m core worker`: it outlives Streamlit restarts). An exclusive lock on
`workers.lock` keeps one pool per data folder; `ensure_running()` starts one when none holds it."""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from core.domain.statuses import RUNNING
from core.runtime.liveness import process_alive
from core.settings import PROJECT_ROOT, Settings, load_settings
from core.store.runs import RunStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PoolStatus:
    """Whether a worker pool serves this data folder, its size, and the code it runs."""

    running: bool
    pid: int | None
    workers: int
    code: str | None = None  # fingerprint of core/ when the pool started

    @property
    def stale(self) -> bool:
        """True when core/ changed since the pool started (an update was installed)."""
        return self.running and self.code is not None and self.code != code_fingerprint()


def code_fingerprint() -> str:
    """A short hash of core/'s files, every package (path, size, mtime): it changes when the code is updated."""
    digest = hashlib.sha256()
    for path in sorted((PROJECT_ROOT / "core").rglob("*.py")):
        stat = path.stat()
        digest.update(f"{path.relative_to(PROJECT_ROOT)}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:16]


def _lock_path(settings: Settings) -> Path:
    return settings.home / "workers.lock"


def _pid_path(settings: Settings) -> Path:
    return settings.home / "workers.pid"


@contextlib.contextmanager
def _try_lock(settings: Settings) -> Iterator[int | None]:
    """Yield an fd holding the pool lock, or None when another process holds it."""
    settings.home.mkdir(parents=True, exist_ok=True)
    fd = os.open(_lock_path(settings), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield None
            return
        yield fd
    finally:
        os.close(fd)


def status(settings: Settings | None = None) -> PoolStatus:
    """Is a pool running for this data folder? (The lock is held exactly while its process lives.)"""
    settings = settings or load_settings()
    with _try_lock(settings) as fd:
        running = fd is None
    pid = code = None
    if running:
        with contextlib.suppress(OSError, ValueError, TypeError, KeyError):
            recorded = json.loads(_pid_path(settings).read_text())
            # A pool started by a version before code fingerprints wrote a bare pid: stoppable, its code unknown.
            pid, code = (recorded, None) if isinstance(recorded, int) else (int(recorded["pid"]), recorded["code"])
        if pid is not None and not process_alive(pid):  # a file left by a pool that is gone: the new one writes its own
            pid = code = None
    return PoolStatus(running=running, pid=pid, workers=settings.workers, code=code)


def ensure_running(settings: Settings | None = None, warm: bool = True) -> bool:
    """Start a detached worker pool if none is running; True if one was started. A pool running the code from
    before an update is replaced once no run trains. `warm=False` starts a cold one: its workers start only once
    a run is queued (it watches tracked runs' heartbeats meanwhile)."""
    settings = settings or load_settings()
    pool = status(settings)
    if pool.stale and not RunStore(settings.store_location).count_by_status().get(RUNNING):
        log.info("worker pool runs code from before an update; restarting it")
        stop(settings)
    elif pool.running:
        return False
    starting = _STARTING.get(settings.home)
    if starting is not None and starting.poll() is None and process_alive(starting.pid) and \
            time.monotonic() - starting.started < START_GRACE:
        return False  # started a moment ago, and not holding the lock yet: one pool is on its way
    settings.logs_dir.mkdir(parents=True, exist_ok=True)
    with open(settings.logs_dir / "workers.log", "ab") as logfile:
        process = subprocess.Popen(
            [sys.executable, "-m", "core", "worker", *([] if warm else ["--cold"])],
            cwd=PROJECT_ROOT,
            env={**os.environ, "TRAINLAB_HOME": str(settings.home)},
            stdin=subprocess.DEVNULL, stdout=logfile, stderr=subprocess.STDOUT,
            start_new_session=True,  # its own session: Ctrl+C on Streamlit does not reach it
        )
    process.started = time.monotonic()
    _STARTING[settings.home] = process
    return True


START_GRACE = 15.0  # seconds a pool this process started may take to hold its lock before another is started
_STARTING: dict = {}  # data folder -> the pool process this process started last (to start one, not one per look)


def stop(settings: Settings | None = None, timeout: float = 20.0) -> bool:
    """Stop the pool (running runs are re-queued once, for the next pool); True once it is gone. SIGTERM first;
    a pool whose parent died, or that is not gone within `timeout`, loses its whole process group."""
    settings = settings or load_settings()
    _STARTING.pop(settings.home, None)
    pool = status(settings)
    if not pool.running:
        return True
    if pool.pid and process_alive(pool.pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pool.pid, signal.SIGTERM)  # the dispatcher re-queues what trains, then exits
        if not _status_once(settings, False, timeout).running:
            return True
    if pool.pid:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pool.pid, signal.SIGKILL)  # the parent died or hung: its children go with the group
    return not _status_once(settings, False, 5.0).running


def wait_until_running(settings: Settings | None = None, timeout: float = START_GRACE) -> PoolStatus:
    """The pool's status once one holds the lock (a pool just started takes a second or two), or after `timeout`."""
    return _status_once(settings or load_settings(), True, timeout)


def _status_once(settings: Settings, up: bool, timeout: float) -> PoolStatus:
    """The pool's status once it is up (holding the lock, its pid written) or gone, as `up` says, or after `timeout`."""
    deadline, pool = time.monotonic() + timeout, status(settings)
    while (bool(pool.running and pool.pid) if up else pool.running) != up and time.monotonic() < deadline:
        time.sleep(0.05)
        pool = status(settings)
    return pool


def run_pool(settings: Settings | None = None, cold: bool = False, housekeeping=None) -> int:
    """Run the worker pool's dispatcher in this process until stopped; exit code 0, or 1 if one already runs.
    `cold`: its workers start only once a run is queued; `housekeeping`: called between looks (Dispatcher)."""
    settings = settings or load_settings()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(processName)s %(levelname)s %(message)s")
    with _try_lock(settings) as fd:
        if fd is None:
            log.info("a worker pool already serves %s", settings.home)
            return 1
        written = _pid_path(settings).with_suffix(".tmp")  # renamed into place: a reader never sees half of it
        written.write_text(json.dumps({"pid": os.getpid(), "code": code_fingerprint()}))
        written.replace(_pid_path(settings))
        try:
            if settings.executor == "ray":  # the cluster's nodes train; this process hands them the runs
                from core.runtime.ray_executor import RayDispatcher

                dispatcher = RayDispatcher(settings, _lock_path(settings))
            else:
                from core.runtime.local_pool import LocalPool

                dispatcher = LocalPool(settings, _lock_path(settings), fd, cold=cold)
            dispatcher.housekeeping = housekeeping
            return dispatcher.run()
        finally:
            with contextlib.suppress(OSError):
                _pid_path(settings).unlink()
