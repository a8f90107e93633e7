"""The reporter of one tracked `fit`: it sends the run's requests to Train Lab from a thread of its own, so the
training thread only puts them in a queue and never waits on a disk or a network.

Every half second it sends what the training thread queued, merged into one report (numbered, so Train Lab
stores each once even when an answer is lost and the report is sent again), or a heartbeat when there is
nothing new. A report's answer says whether someone asked the run to stop (`cancel_asked`). While Train Lab
cannot be reached the requests wait in memory and in a spool file (one per run, under TRAINLAB_SPOOL or
~/.trainlab/spool), training goes on, and they are sent in order once it answers again; a process that ends
before then leaves them for `python -m core sync`.
"""
from __future__ import annotations

import atexit
import json
import os
import queue
import threading
import time
from pathlib import Path

from trainlab.sinks import Refused, Unreachable, say

MAX_POINTS = 2000  # per report: what Train Lab takes at once
REST_AFTER = 60.0  # seconds an ended run's thread waits for an evaluate before it rests
CLOSE_WAIT = 5.0  # seconds a process that ends waits for its last requests before leaving them in the spool
MODEL_WAIT = 300.0  # the same with a trained model to send: the server checks and loads it before it answers


def spool_dir() -> Path:
    """Where requests wait while Train Lab cannot be reached."""
    return Path(os.environ.get("TRAINLAB_SPOOL") or Path.home() / ".trainlab" / "spool").expanduser()


class Reporter:
    """Sends one run's requests through a sink on a thread of its own (`sink`: the sink, or a function that makes
    it there: connecting to this machine's store imports Train Lab, which the training thread must not wait
    for); the training thread calls `report`,
    `end` and `test`, which only queue."""

    def __init__(self, sink, start: dict, interval: float = 0.5, heartbeat: float = 2.0):
        self.sink = sink if hasattr(sink, "call") else None
        self._make_sink = None if self.sink is not None else sink
        self.key, self.interval, self.heartbeat = start["key"], interval, heartbeat
        self._model_queued = False  # a trained model waits to be sent: closing waits longer for it
        self.run_id: int | None = None
        self.cancel_asked = threading.Event()
        self.ended = False  # an end was queued: no heartbeat after it
        self.refused: str | None = None  # Train Lab refused the run: nothing more is sent
        self._said: set[str] = set()
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._pending: list[list] = [["start", start, False]]  # [op, payload, in the spool file yet]
        self._seq = 0
        self._last = {"epoch": 0, "batch": 0, "progress": 0.0, "eta_seconds": None}
        self._offline_since: float | None = None
        self._offline = 0.0
        self._spool = spool_dir() / f"{self.key}.jsonl"
        self._closing = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="trainlab-reporter", daemon=True)
        self._thread.start()
        _OPEN.append(self)

    # -- from the training thread: queue only ------------------------------------------------------------
    def report(self, points: list[dict], **where) -> None:
        """Queue points and where training is (epoch, batch, progress, eta_seconds)."""
        self._queue.put(("report", points, where))

    def end(self, status: str, error: str | None = None, train_seconds: float | None = None) -> None:
        """Queue how `fit` ended."""
        self.ended = True
        self._queue.put(("end", {"status": status, "error": error, "train_seconds": train_seconds}, None))

    def model(self, path: str) -> None:
        """Queue the trained model's file, saved by the script at `path` (after the end)."""
        self._queue.put(("model", {"path": path}, None))
        self._model_queued = True

    def test(self, metrics: dict[str, float]) -> None:
        """Queue a `model.evaluate` result (after the end)."""
        self._queue.put(("test", {"metrics": metrics}, None))
        if not self._thread.is_alive() and not self._closing.is_set():  # it rested after the end: wake it
            self._thread = threading.Thread(target=self._loop, name="trainlab-reporter", daemon=True)
            self._thread.start()

    # -- the reporter's thread ---------------------------------------------------------------------------
    def _loop(self) -> None:
        if self.sink is None:
            self.sink = self._make_sink()
            if self.sink is None:  # no Train Lab to report to (said on stderr): nothing is kept or sent
                self.refused = "no Train Lab to report to"
                self._pending.clear()
                return
        last_sent = time.monotonic()
        while True:
            closing = self._closing.wait(self.interval)
            self._take_queued()
            if not self._pending and not self.ended and time.monotonic() - last_sent >= self.heartbeat:
                self._pending.append(["report", {"seq": 0, "points": [], **self._last}, False])
            if self._pending and self.refused is None:
                self._send()
                last_sent = time.monotonic()
            if closing and (not self._pending or self._offline_since is not None or self.refused):
                return
            if self.ended and not self._pending and time.monotonic() - last_sent > REST_AFTER:
                return  # a notebook's many fits keep no thread each; a later evaluate wakes it

    def _take_queued(self) -> None:
        """Merge what the training thread queued into numbered requests, in order."""
        points, where = [], None
        while True:
            try:
                op, payload, extra = self._queue.get_nowait()
            except queue.Empty:
                break
            if op == "report":
                points += payload
                where = extra
                continue
            self._flush_points(points, where)
            points, where = [], None
            self._pending.append([op, payload, False])
        self._flush_points(points, where)

    def _flush_points(self, points: list[dict], where: dict | None) -> None:
        if where is None:
            return
        self._last = {key: where.get(key, self._last[key]) for key in self._last}
        for start in range(0, max(1, len(points)), MAX_POINTS):
            self._seq += 1
            self._pending.append(["report", {"seq": self._seq, "points": points[start:start + MAX_POINTS],
                                             **self._last}, False])

    def _send(self) -> None:
        """Send the waiting requests in order; stop at the first Train Lab cannot take now."""
        while self._pending:
            op, payload, _ = self._pending[0]
            if op == "report" and self.cancel_asked.is_set():  # the run has ended cancelled: only its end is told
                self._pending.pop(0)
                continue
            body = dict(payload) if op == "start" else {"run": self.run_id, "key": self.key, **payload}
            if op == "report":
                body["offline_seconds"] = self._offline_seconds()
            try:
                answer = self.sink.call(op, body)
            except Unreachable as exc:
                self._went_offline(str(exc))
                return
            except Exception as exc:  # noqa: BLE001 - Refused, or a fault of the client: never kills this thread
                why = str(exc) if isinstance(exc, Refused) else f"{type(exc).__name__}: {exc}"
                self._refused(op, why + (f" (the model stays at {payload['path']})" if op == "model" else ""))
                if op == "start":
                    return
                self._pending.pop(0)
                continue
            self._pending.pop(0)
            if op == "start":
                self.run_id = int(answer["run"])
                say(f"this fit is run #{self.run_id} on Train Lab ({self.sink.where}): see it on the Runs page")
            elif op == "report" and answer.get("cancel"):
                self.cancel_asked.set()
            elif op == "model":
                if Path(payload["path"]).parent == spool_dir():
                    Path(payload["path"]).unlink(missing_ok=True)  # copied into the run's folder: the copy here goes
                say(f"the trained model is kept as your model file {answer['name']!r} on the Models page"
                    if "name" in answer else f"the trained model is on run #{self.run_id}'s page")
        self._back_online()

    def _offline_seconds(self) -> float:
        return self._offline + (time.monotonic() - self._offline_since if self._offline_since is not None else 0.0)

    def _went_offline(self, why: str) -> None:
        if self._offline_since is None:
            self._offline_since = time.monotonic()
            say(f"Train Lab cannot be reached ({why}); training goes on and the points wait in {self._spool}")
        self._write_spool()

    def _back_online(self) -> None:
        if self._offline_since is not None:
            self._offline += time.monotonic() - self._offline_since
            self._offline_since = None
        self._spool.unlink(missing_ok=True)

    def _refused(self, op: str, why: str) -> None:
        if self.refused is None and why not in self._said:  # each reason once, not once a second
            self._said.add(why)
            say(f"Train Lab refused the run's {op}: {why}")
        if op == "start":
            self.refused = why
            self._pending.clear()

    def _write_spool(self) -> None:
        """Append the requests not in the spool file yet (the file starts with how to reach Train Lab)."""
        fresh = [entry for entry in self._pending if not entry[2]]
        if not fresh or self.sink is None:  # no sink yet: nowhere known to send them later either
            return
        try:
            self._spool.parent.mkdir(parents=True, exist_ok=True)
            new_file = not self._spool.exists()
            with open(self._spool, "a", encoding="utf-8") as spool:
                if new_file:
                    spool.write(json.dumps({"key": self.key, "pid": os.getpid(), "run": self.run_id,
                                            **self.sink.header()}) + "\n")
                for entry in fresh:
                    spool.write(json.dumps({"op": entry[0], "payload": entry[1]}) + "\n")
                    entry[2] = True
        except OSError as exc:  # a full or read-only disk: the requests still wait in memory
            say(f"cannot write the spool file {self._spool}: {exc}")

    def close(self, wait: float = CLOSE_WAIT) -> None:
        """Send what is left (waiting at most `wait` seconds); what cannot be sent stays in the spool file."""
        self._closing.set()
        self._thread.join(max(wait, MODEL_WAIT) if self._model_queued else wait)
        self._take_queued()
        if self._pending and self.refused is None:
            self._write_spool()
            if self._spool.exists():
                say(f"{len(self._pending)} requests of this fit wait in {self._spool}: once Train Lab answers, send "
                    "them with `python -m core sync` (`python -m trainlab sync` with only the client)")
        if self in _OPEN:
            _OPEN.remove(self)


_OPEN: list[Reporter] = []
_AT_EXIT: list = []  # callables run before the reporters close (a callback ends a fit the exit interrupted)


def _close_all() -> None:
    for hook in list(_AT_EXIT):
        hook()
    for reporter in list(_OPEN):
        reporter.close()


atexit.register(_close_all)
