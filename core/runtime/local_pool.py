"""The slots of this machine: TRAINLAB_WORKERS warm worker processes (core/runtime/worker_process.py), forked
once the dispatcher has imported TensorFlow (imported, not started: fork is safe, and each worker is warm at once).
Each worker gets its CPU threads with its first run (README, "A run alone still gets the whole machine"); one
whose threads no longer fit, that died (its run re-queued once) or that grew is replaced."""
from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import signal
import time
from dataclasses import dataclass
from multiprocessing.connection import wait as wait_for_any

from core.domain.core_share import fair_share
from core.domain.statuses import QUEUED, RUNNING
from core.runtime.dispatcher import Dispatcher
from core.runtime.worker_process import serve
from core.store.attempts import settle_lost_attempt
from core.store.queue import FairQueue
from core.store.schema import StoreError

log = logging.getLogger(__name__)
_FORK = multiprocessing.get_context("fork")
STOP_GRACE = 10.0  # seconds stopping workers get to re-queue their runs before they are killed


@dataclass
class Slot:
    """One worker process, as the dispatcher knows it."""

    process: object  # multiprocessing.Process
    conn: object  # the dispatcher's end of its pipe
    ready: bool = False  # TensorFlow loaded, waiting for a run
    threads: int | None = None  # CPU threads fixed at its first run (None: still free to choose)
    run_id: int | None = None  # the run it trains now
    attempt: int = 0  # that run's attempts when it was handed over (its claim makes one more)

    @property
    def idle(self) -> bool:
        """Warm, alive and without a run: it can take one now."""
        return self.ready and self.run_id is None and self.process.is_alive()

    @property
    def renewing(self) -> bool:
        """Starting, or ending without a run (then replaced): a fresh worker will be ready here."""
        return not self.ready and self.run_id is None and self.process.is_alive()


class LocalPool(Dispatcher):
    """The dispatcher of the one-machine shape: its slots are warm worker processes it forked."""

    def __init__(self, settings, lock_path=None, lock_fd: int = -1, cold: bool = False):
        super().__init__(settings, lock_path)
        self.cold = cold  # no workers until a run is queued (a pool started to watch tracked runs)
        self.slots: list[Slot] = []
        self._lock_fd = lock_fd
        self._stop_flag = _FORK.Event()  # read by the workers: an interruption is the pool stopping

    def open(self) -> None:
        """Fork the workers (a cold pool: at the first look that finds a run queued)."""
        self._warm_up()
        log.info("worker pool: %d workers for %s%s", self.settings.workers, self.settings.home,
                 " (cold: they start with the first queued run)" if self.cold else "")

    def _warm_up(self) -> None:
        """Start workers until the pool has TRAINLAB_WORKERS of them; a cold pool waits for a queued run."""
        if self.cold and not self.store.count_by_status().get(QUEUED):
            return
        self.cold = False
        if len(self.slots) < self.settings.workers:
            _import_tensorflow()
        while len(self.slots) < self.settings.workers:
            self.store.close()  # no open database connection may cross the fork
            mine, theirs = _FORK.Pipe()
            process = _FORK.Process(target=serve, args=(theirs, self._stop_flag, self._lock_fd, os.getpid()),
                                    name="trainlab-worker", daemon=False)
            process.start()
            theirs.close()
            self.slots.append(Slot(process, mine))

    def wait(self, seconds: float) -> None:
        """Until the next look: a worker's message or end wakes it early."""
        waitables = [s.conn for s in self.slots] + [s.process.sentinel for s in self.slots]
        with contextlib.suppress(InterruptedError):
            wait_for_any(waitables, timeout=seconds)

    def settle(self) -> None:
        """Read the workers' messages; replace the workers that ended (a lost run is re-queued once)."""
        for slot in list(self.slots):
            alive = slot.process.is_alive()
            while _poll(slot.conn) and self._receive(slot):  # a dead one's last words ("done") may be in the pipe
                pass
            if not alive:
                self._ended(slot)
        self._warm_up()

    def _receive(self, slot: Slot) -> bool:
        """Read one message from the worker; False once its end of the pipe is closed."""
        try:
            message = slot.conn.recv()
        except (EOFError, OSError):
            return False
        if message[0] == "ready":
            slot.ready = True
        elif message[0] == "done":
            slot.run_id = None
            slot.ready = not message[3]  # a worker that ends after its run takes no other
        return True

    def _ended(self, slot: Slot) -> None:
        """A worker process ended: forget it (settle() starts a fresh one; liveness re-queues a run it left)."""
        slot.process.join(timeout=1)
        slot.conn.close()
        self.slots.remove(slot)

    def busy(self) -> bool:
        """Whether a worker trains a run now."""
        return any(slot.run_id is not None for slot in self.slots)

    def hand_out(self) -> None:
        """Hand the fairest queued runs to the idle workers, each with its share of the cores."""
        if not any(slot.idle for slot in self.slots):
            return
        queue = FairQueue(self.store, handed={s.run_id: s.attempt for s in self.slots if s.run_id is not None})
        counts = self.store.count_by_status()
        # The runs handed out stay queued until claimed, so the count holds for the whole look.
        share = fair_share(self.settings, max(0, counts.get(RUNNING, 0) + counts.get(QUEUED, 0) - 1))
        while (run_id := queue.next()) is not None:
            slot = self._slot_for(share)
            if slot is None:
                break
            queue.take(run_id)
            slot.threads = slot.threads or share
            slot.run_id, slot.attempt = run_id, queue.attempt(run_id)
            slot.conn.send(("train", run_id, slot.threads))
        self._reshape(share)

    def _slot_for(self, share: int) -> Slot | None:
        """The idle worker to train a run of `share` threads: one with exactly those, else a fresh one, else one
        with more (it shares the cores a little more than its part); None when only fewer are left (_reshape)."""
        idle = [s for s in self.slots if s.idle]
        for fits in (lambda s: s.threads == share, lambda s: s.threads is None, lambda s: (s.threads or 0) > share):
            chosen = next((s for s in idle if fits(s)), None)
            if chosen is not None:
                return chosen
        return None

    def _reshape(self, share: int) -> None:
        """Keep one worker ready for the next run's share: when no free worker has those threads (or is fresh),
        replace one idle worker whose threads differ (only one: a second run would change the share again)."""
        if any(s.renewing or (s.idle and s.threads in (None, share)) for s in self.slots):
            return
        slot = next((s for s in self.slots if s.idle), None)
        if slot is not None:
            self._retire(slot, f"worker {slot.process.pid} has {slot.threads} CPU threads, not the next run's "
                               f"{share}: a fresh worker takes its place")

    def _retire(self, slot: Slot, why: str) -> None:
        log.info(why)
        with contextlib.suppress(OSError, ValueError):
            slot.conn.send(("end",))
        slot.ready = False  # it ends by itself; settle() replaces it

    def close(self) -> None:
        """Stop: each worker re-queues its run once and ends; stragglers are killed and their runs re-queued
        here. With the data folder gone there is nothing to hand back: all are killed."""
        self._stop_flag.set()
        for slot in self.slots:
            # One without a run holds nothing to hand back: end it at once (one still importing TensorFlow
            # would only notice a SIGTERM once the import is done, seconds later).
            gentle = slot.run_id is not None and not self.folder_gone
            with contextlib.suppress(ProcessLookupError):
                os.kill(slot.process.pid, signal.SIGTERM if gentle else signal.SIGKILL)
        deadline = time.monotonic() + STOP_GRACE  # for all of them together: the pool's stop waits 20 s in all
        for slot in self.slots:
            slot.process.join(timeout=max(0.0, deadline - time.monotonic()))
            if slot.process.is_alive():  # paused, or stuck waiting for a locked store: its run is settled here
                slot.process.kill()
                slot.process.join(timeout=2)
        if not self.folder_gone:
            for slot in self.slots:
                self._stopped_with(slot)
        self.slots.clear()

    def _stopped_with(self, slot: Slot) -> None:
        """A worker the stop killed before it handed its run back: re-queue the run once here, with why."""
        if slot.run_id is None:
            return
        try:
            run = self.store.get(slot.run_id)
            if run is not None and run.status == RUNNING and run.worker_pid == slot.process.pid:
                settle_lost_attempt(self.settings.store_location, run.id, run.attempt,
                                    f"the worker pool (pid {os.getpid()}) was stopped while this run trained", tries=3)
        except StoreError as exc:  # the next pool's look finds it with its process gone
            log.warning("run %s: %s", slot.run_id, exc)


def _import_tensorflow() -> None:
    """Import TensorFlow here once (not start it) so each forked worker has it; a broken install is the worker's
    to report."""
    try:
        from core.training.threads import import_tensorflow

        import_tensorflow()
    except Exception as exc:  # noqa: BLE001 - the worker's own import says what is wrong, on its run
        log.warning("worker pool: TensorFlow did not import here (%s); each worker imports it itself", exc)


def _poll(conn) -> bool:
    try:
        return conn.poll()
    except (EOFError, OSError):
        return False
