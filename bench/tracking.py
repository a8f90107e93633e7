"""Figures 13 and 14: students' own scripts reporting in (README, "Your own code").

13. What tracking costs a student's `fit`: the same plain Keras script (bench/plain_keras.py: the course MLP on
    Fashion-MNIST-shaped data, batch 32, the worst case of many small steps) with and without
    `TrainLabCallback` reporting into this machine's lab, alternating, best of several attempts each (other
    load only ever slows an attempt down). Target: at most 2 % more wall time.
14. One classroom server (`serve.py`) taking reports from 30 students' scripts (thin clients: the client's
    own HttpSink, one thread each, each with its student's key) while 30 signed-in pages watch two of those
    runs on the Runs page (bench/stream_client.py): first at a script's real pace (a report every half
    second, epoch metrics every 5 s), then as fast as the server answers (reports of 200 points back to back).
    Measured: points stored per second, request latency, refusals, the pages' errors, the server's CPU.
"""
from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid

from bench.browser_latency import _serve
from bench.class_sessions import PASSWORD, _sign_in
from bench.common import Lab, stop_pool
from bench.overhead import PLAIN
from bench.stream_client import watch_page
from bench.watching_sessions import _p95, cpu_seconds
from core.domain.config import TrainConfig

CASE = TrainConfig(dataset="fashion_mnist", architecture="mlp", batch_size=32, epochs=2, name="bench tracking")


def _fit_seconds(config: TrainConfig, track: bool) -> float:
    out = subprocess.run([sys.executable, str(PLAIN), json.dumps(config.to_dict()), *(["--track"] if track else [])],
                         capture_output=True, text=True, check=True, timeout=3600)
    return json.loads(out.stdout.strip().splitlines()[-1])["fit_seconds"]


def overhead(lab: Lab, repeat: int = 4, quick: bool = False) -> list[dict]:
    """Figure 13: fit wall time with and without tracking, and the extra share tracking costs."""
    lab.make_data()
    config = TrainConfig.from_dict({**CASE.to_dict(), **({"train_subset": 6000, "epochs": 1} if quick else {})})
    with lab.home("tracking") as settings:
        plain, tracked = [], []
        for _ in range(repeat):
            plain.append(_fit_seconds(config, track=False))
            tracked.append(_fit_seconds(config, track=True))
        stop_pool(settings)  # the cold dispatcher the first tracked run started
        from core.services import jobs

        runs = jobs.list_runs(settings)
    return [{"case": "course MLP, Fashion-MNIST-shaped, batch 32", "epochs": config.epochs,
             "untracked fit (s)": round(min(plain), 2), "tracked fit (s)": round(min(tracked), 2),
             "extra wall time": f"{100 * (min(tracked) / min(plain) - 1):+.1f} %",
             "extra, medians": f"{100 * (statistics.median(tracked) / statistics.median(plain) - 1):+.1f} %",
             "target": "<= +2 %", "attempts": repeat,
             "tracked runs stored": f"{sum(r.status == 'succeeded' for r in runs)}/{len(runs)}"}]


class _Reporter(threading.Thread):
    """One student's script, as the server sees it: a start, then reports until told to stop."""

    def __init__(self, url: str, key: str, name: str, burst: int, pause: float, stop: threading.Event):
        super().__init__(daemon=True)
        from trainlab.sinks import HttpSink

        self.sink, self.name = HttpSink(url, key, timeout=30), name
        self.burst, self.pause, self.stop = burst, pause, stop
        self.key, self.run_id, self.seq, self.step = uuid.uuid4().hex, None, 0, 0
        self.latencies: list[float] = []
        self.points = self.refused = self.slowed = self.unreachable = 0

    def begin(self) -> int:
        start = {"key": self.key, "name": self.name, "epochs": 1000, "steps": 100, "host": "laptop"}
        self.run_id = self.sink.call("start", start)["run"]
        return self.run_id

    def _points(self) -> list[dict]:
        points = []
        for _ in range(self.burst):
            self.step += 1
            points += [{"kind": "batch", "step": self.step, "epoch": self.step / 100, "elapsed": self.step / 10,
                        "name": name, "value": 1.0 / self.step} for name in ("loss", "accuracy")]
            if self.step % 100 == 0:  # an epoch's end: Keras' metrics, validation included
                points += [{"kind": "epoch", "step": self.step, "epoch": self.step / 100, "elapsed": self.step / 10,
                            "name": name, "value": 0.5} for name in ("loss", "accuracy", "val_loss", "val_accuracy",
                                                                       "learning_rate")]
        return points

    def run(self) -> None:
        from trainlab.sinks import Refused, Unreachable

        while not self.stop.is_set():
            points = self._points()
            self.seq += 1
            body = {"run": self.run_id, "key": self.key, "seq": self.seq, "points": points,
                    "epoch": 1 + self.step // 100, "batch": self.step % 100, "progress": min(1.0, self.step / 100_000)}
            began = time.monotonic()
            try:
                self.sink.call("report", body)
            except Refused:
                self.refused += 1
            except Unreachable as exc:  # 429: over the key's rate (the client keeps the report and sends it later)
                if str(exc).startswith("429"):
                    self.slowed += 1
                else:
                    self.unreachable += 1
            else:
                self.latencies.append(time.monotonic() - began)
                self.points += len(points)
            self.stop.wait(self.pause)


def _phase(url: str, keys: list[str], cookies: list[str], burst: int, pause: float, seconds: float,
           process) -> dict:
    stop = threading.Event()
    reporters = [_Reporter(url, key, f"script {i}", burst, pause, stop) for i, key in enumerate(keys)]
    ids = [r.begin() for r in reporters]
    cpu_before = cpu_seconds(process.pid)
    for reporter in reporters:
        reporter.start()

    async def watchers():
        return await asyncio.gather(*(watch_page(url, "runs", f"runs={ids[0]},{ids[1]}", ids[:2], seconds, cookie)
                                      for cookie in cookies))

    watched = asyncio.run(watchers())
    stop.set()
    for reporter in reporters:
        reporter.join(30)
    cpu = cpu_seconds(process.pid) - cpu_before
    latencies = [x for r in reporters for x in r.latencies]
    return {"scripts": len(reporters), "pages watching": len(cookies), "seconds": seconds,
            "points per report": 2 * burst, "points stored per s": round(sum(r.points for r in reporters) / seconds),
            "reports per s": round(len(latencies) / seconds, 1),
            "report p50 (ms)": round(1000 * statistics.median(latencies)) if latencies else None,
            "report p95 (ms)": round(1000 * _p95(latencies)) if latencies else None,
            "refused / told to slow down (429) / unreachable":
                f"{sum(r.refused for r in reporters)} / {sum(r.slowed for r in reporters)} / "
                f"{sum(r.unreachable for r in reporters)}",
            "pages drew curves": f"{sum(w.opened is not None for w in watched)}/{len(watched)}",
            "page errors": sum(len(w.errors) for w in watched),
            "server CPU % of a core": round(100 * cpu / seconds, 1)}


def ingest(lab: Lab, quick: bool = False, students: int = 30, seconds: float = 60.0) -> list[dict]:
    """Figure 14: a class's scripts reporting to one server while the class watches; two rows (paces)."""
    from core.domain.people import Actor
    from core.services import accounts, api_keys

    students, seconds = (4, 15.0) if quick else (students, seconds)
    rows = []
    with lab.home("tracking_class") as settings:
        os.environ.update(TRAINLAB_CLASSROOM="1", TRAINLAB_AUTOSTART_WORKERS="0")
        try:
            from core.settings import load_settings

            settings = load_settings()
            names = [f"student{i:02d}" for i in range(students)]
            for name in names:
                accounts.add(name, "student", PASSWORD, settings)
            keys = [api_keys.make(Actor(name, "student"), "bench", settings) for name in names]
            process, url = _serve(settings, lab.root / "tracking-streamlit.log", script="serve.py")
            try:
                cookies = [_sign_in(url, name) for name in names]
                rows.append({"pace": "a script's (a report each 0.5 s)", **_phase(url, keys, cookies, 1, 0.5, seconds,
                                                                                  process)})
                rows.append({"pace": "as fast as answered (200 points a report)",
                             **_phase(url, keys, cookies, 100, 0.0, seconds, process)})
            finally:
                process.terminate()
                process.wait(15)
        finally:
            os.environ.pop("TRAINLAB_CLASSROOM", None)
    for row in rows:
        print(row, flush=True)
    return rows


if __name__ == "__main__":
    quick = "--quick" in sys.argv
    print(overhead(Lab(), quick=quick))
    print(ingest(Lab(), quick=quick))
