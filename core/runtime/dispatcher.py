"""The one place that decides what trains next, for this machine's worker pool and a Ray cluster alike.

The store is the only queue. One dispatcher per data folder (`python -m core worker`, started on demand) looks
at it a few times a second: it settles the runs whose slot ended, reaps the lost ones (core/runtime/liveness.py)
and hands the fairest queued runs (core/store/queue.py) to its free slots: warm local worker processes
(core/runtime/local_pool.py, the default) or room on Ray nodes (core/runtime/ray_executor.py). Pages and
commands never change runs. A dispatcher ends when stopped, when its data folder or lock file is gone, or after
TRAINLAB_POOL_IDLE_SECONDS with nothing queued or running."""
from __future__ import annotations

import logging
import os
import signal
import threading
import time
from pathlib import Path
from typing import Callable

from core.domain.statuses import QUEUED, RUNNING
from core.runtime.liveness import reap_dead_runs
from core.settings import Settings
from core.store.runs import RunStore
from core.store.schema import StoreBusy, StoreError

log = logging.getLogger(__name__)
REAP_EVERY = 1.0  # seconds between looks for lost runs (a dead worker's run shows as re-queued within this)
HOUSEKEEPING_EVERY = 2.0  # seconds between two calls of the housekeeping the dispatcher was given
LOCK_WAIT_SIGN = 1.0  # a write that waited this long for the store's lock means another process held it


class Dispatcher:
    """Looks at the store until stopped and keeps every free slot busy with the fairest queued run.
    Subclasses define `open`, `settle`, `hand_out`, `busy` and `close`, and may refine `wait`."""

    def __init__(self, settings: Settings, lock_path: Path | None = None):
        self.settings = settings
        self.store = RunStore(settings.store_location)
        self.stopping = threading.Event()
        self._lock_path = lock_path
        self._lock_id = _file_id(lock_path) if lock_path else None
        self._reaped_at = -REAP_EVERY
        self._store_back_at = 0.0  # when the store last took writes again after another process locked it
        self._idle_since = time.monotonic()
        self.folder_gone = False  # its data folder was deleted: nothing may be written there any more
        # Work a layer above hands the dispatcher to do between looks (a sweep's retrain queued when its search
        # ends: core/services/sweep_retrains.py), so it needs no process of its own; its faults are only logged.
        self.housekeeping: Callable[[], object] | None = None
        self._kept_house_at = -HOUSEKEEPING_EVERY

    def run(self) -> int:
        """Dispatch until SIGTERM, or until there is no reason to go on; exit code 0."""
        self.open()
        self._idle_since = time.monotonic()  # opening (TensorFlow's import, the pool's fork) is not idleness
        signal.signal(signal.SIGTERM, lambda *_: self.stopping.set())
        try:
            while not self.stopping.is_set():
                try:
                    self.look()
                except StoreBusy as exc:  # locked by another process, or a write cut off by a database restart
                    self._store_back_at = time.time() + self.settings.poll_interval  # heartbeats could not get in
                    log.warning("dispatcher: %s; it waits", exc)
                except StoreError as exc:  # unreachable or damaged for a moment: the next look tries again
                    log.warning("dispatcher: %s", exc)
                why = self.reason_to_end()
                if why:
                    log.info("%s: the dispatcher ends (a page or a submit starts it again)", why)
                    break
                self.wait(max(0.05, self.settings.poll_interval))
        finally:
            self.close()
        return 0

    def look(self) -> None:
        """One look: settle what ended, reap what is lost, start what fits, then the housekeeping."""
        self.settle()
        self.reap()
        self.hand_out()
        self._keep_house()

    def _keep_house(self) -> None:
        clock = time.monotonic()
        if self.housekeeping is None or clock - self._kept_house_at < HOUSEKEEPING_EVERY:
            return
        self._kept_house_at = clock
        try:
            self.housekeeping()
        except StoreError:
            raise  # the look's own handling: waits, or says the store is away
        except Exception:  # noqa: BLE001 - a fault of the housekeeping must not stop the dispatching
            log.exception("dispatcher: the housekeeping failed; the next look tries again")

    def reap(self, now: float | None = None) -> list[int]:
        """Re-queue (once) or fail the running runs whose worker died or went silent (every REAP_EVERY s)."""
        clock = time.monotonic()
        if clock - self._reaped_at < REAP_EVERY:
            return []
        self._reaped_at = clock
        if not self.store.count_by_status().get(RUNNING):
            return []  # nothing to judge: no write to probe the lock with either
        waited = time.monotonic()
        with self.store.transaction():  # a cheap write: did another process hold the lock meanwhile?
            pass
        if time.monotonic() - waited > LOCK_WAIT_SIGN:
            self._store_back_at = time.time()
        return reap_dead_runs(self.store, self.settings.heartbeat_timeout, now, quiet_since=self._store_back_at)

    def reason_to_end(self) -> str | None:
        """Why this dispatcher should end now, or None: its data folder or lock file is gone (nothing must train
        into a deleted folder), or nothing was queued or running for a while."""
        if self._lock_path is not None and _file_id(self._lock_path) != self._lock_id:
            self.folder_gone = True
            return f"its data folder's lock file {self._lock_path} is gone"
        if self.busy():
            self._idle_since = time.monotonic()
            return None
        counts = self.store.count_by_status()
        if counts.get(QUEUED) or counts.get(RUNNING):
            self._idle_since = time.monotonic()
            return None
        idle = time.monotonic() - self._idle_since
        if idle >= self.settings.pool_idle_seconds:
            return f"nothing queued or running for {idle:.0f} s"
        return None

    def wait(self, seconds: float) -> None:
        """Sleep until the next look (or until stopped)."""
        self.stopping.wait(seconds)

    # -- what a slot is: the executor's part ------------------------------------------------------------------
    def open(self) -> None:
        """Get the slots ready (start the workers, join the cluster)."""

    def settle(self) -> None:
        """Take note of the runs whose slot ended (a lost one is re-queued once or failed)."""

    def hand_out(self) -> None:
        """Start the fairest queued runs on the free slots."""

    def busy(self) -> bool:
        """Whether a slot trains a run now."""
        return False

    def close(self) -> None:
        """Stop the slots; runs still training go back to the queue once, for the next dispatcher."""


def _file_id(path: Path) -> tuple[int, int] | None:
    """The file's identity (device, inode), or None when it is gone: a folder deleted and made again has a new one."""
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return stat.st_dev, stat.st_ino
