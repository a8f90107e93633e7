"""Figure 9: a signed-in class on one server (issue 16; targets: no errors, page p95 <= 3 s, curves <= 3 s
behind the store, memory that does not grow per session beyond Streamlit's own).

A real classroom server (`serve.py`, sign-in on) with 30 student accounts. Each session signs in over
HTTP (the `/signin` form), then opens `/runs?runs=A,B` with its cookie through the app's WebSocket
(bench/stream_client.py), comparing two runs that train, and stays two minutes, rerunning the live
fragments when the server asks, as a browser's timers do. Meanwhile a few students submit runs
through the same service the Train page calls. Measured: time from connecting to both curves, how far
each received chart is behind the store (the time since the store first held the chart's last
point), errors shown, and the server's resident memory before and after the sessions joined.
"""
from __future__ import annotations

import asyncio
import statistics
import threading
import time
import urllib.parse
import urllib.request
from contextlib import contextmanager

from bench.browser_latency import _serve
from bench.common import Lab, stop_pool
from bench.stream_client import watch_page
from bench.watching_sessions import _p95, cpu_seconds, rss_mb

PASSWORD = "class-password-1"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def _sign_in(url: str, name: str) -> str:
    """The session cookie of `name`, from the sign-in form."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect)
    body = urllib.parse.urlencode({"name": name, "password": PASSWORD, "next": "/runs"}).encode()
    try:
        opener.open(f"{url}/signin", body, timeout=60)
    except urllib.error.HTTPError as answer:  # the 303 to /runs carries the cookie
        cookie = answer.headers.get("set-cookie", "")
        return cookie.split(";", 1)[0]
    raise RuntimeError(f"sign-in of {name} did not redirect")


def _store_progress(settings, ids: list[int], stop: threading.Event, seen: dict) -> None:
    """Record when the store first held each run's newest epoch value (monotonic time)."""
    from core.services import jobs

    while not stop.is_set():
        frame = jobs.metrics_of(ids, settings)
        now = time.monotonic()
        if len(frame):
            for run_id, epoch in frame.groupby("run_id")["epoch"].max().items():
                seen.setdefault(str(run_id), []).append((now, float(epoch)))
        time.sleep(0.2)


def _lag(chart_time: float, x: float, history: list[tuple[float, float]]) -> float | None:
    first = next((t for t, epoch in history if epoch >= x - 1e-9), None)
    return None if first is None else max(0.0, chart_time - first)


@contextmanager
def signed_in_class(lab: Lab, name: str, sessions: int):
    """A classroom server (`serve.py`) with `sessions` student accounts, two of their runs training (with
    points to draw), and a session cookie per student: yields (settings, process, url, busy run ids,
    student names, cookies). Stops the server and the pool, and leaves classroom mode, at the end."""
    import os

    from core.domain.config import TrainConfig
    from core.domain.people import Actor
    from core.services import accounts, jobs

    with lab.home(name):
        os.environ["TRAINLAB_CLASSROOM"] = "1"
        try:
            from core.settings import load_settings

            settings = load_settings()
            names = [f"student{i:02d}" for i in range(sessions)]
            for student in ["teacher", *names]:
                accounts.add(student, "teacher" if student == "teacher" else "student", PASSWORD, settings)
            process, url = _serve(settings, lab.root / f"{name}-streamlit.log", script="serve.py")
            try:
                busy = [jobs.submit(TrainConfig(name=f"busy {i}", epochs=200, batch_size=4, train_subset=1400,
                                                seed=i), settings, actor=Actor(names[i], "student"))
                        for i in range(2)]
                deadline = time.monotonic() + 120
                while time.monotonic() < deadline and not all(
                        jobs.metrics_of([i], settings)["step"].nunique() >= 3 for i in busy):  # curves to draw
                    time.sleep(0.5)
                yield settings, process, url, busy, names, [_sign_in(url, student) for student in names]
                for run_id in busy:
                    jobs.cancel(run_id, settings, actor=Actor("teacher", "teacher"))
            finally:
                stop_pool(settings)
                process.terminate()
                process.wait(15)
        finally:
            os.environ.pop("TRAINLAB_CLASSROOM", None)


def submit_later(settings, names: list[str], seconds: float) -> threading.Thread:
    """A few students start runs while the class watches (through the Train page's service)."""
    from core.domain.config import TrainConfig
    from core.domain.people import Actor
    from core.services import jobs

    def submit() -> None:
        for i in range(2, 5):
            time.sleep(seconds / 5)
            jobs.submit(TrainConfig(name=f"submitted {i}", epochs=1), settings,
                        actor=Actor(names[i % len(names)], "student"))

    thread = threading.Thread(target=submit)
    thread.start()
    return thread


def run(lab: Lab, quick: bool = False, sessions: int = 30, seconds: float = 120.0) -> list[dict]:
    """One row: page p50/p95, curve lag p50/p95, errors, memory before and after the class joined."""
    sessions, seconds = (4, 30.0) if quick else (sessions, seconds)
    with signed_in_class(lab, "class_sessions", sessions) as (settings, process, url, busy, names, cookies):
        rss_before, cpu_before = rss_mb(process.pid), cpu_seconds(process.pid)
        stop, store_seen = threading.Event(), {}
        watcher = threading.Thread(target=_store_progress, args=(settings, busy, stop, store_seen))
        watcher.start()
        submitter = submit_later(settings, names, seconds)
        query = "runs=" + ",".join(map(str, busy))

        async def everyone():
            return await asyncio.gather(*(watch_page(url, "runs", query, busy, seconds, cookie)
                                          for cookie in cookies))

        watched = asyncio.run(everyone())
        stop.set()
        watcher.join()
        submitter.join()
        rss_after, cpu = rss_mb(process.pid), cpu_seconds(process.pid) - cpu_before
    opened = [w.opened for w in watched if w.opened is not None]
    lags = [lag for w in watched for t, last in w.charts[1:] for run_id, x in last.items()
            if (lag := _lag(t, x, store_seen.get(run_id, []))) is not None]
    row = {
        "sessions": sessions, "seconds": seconds, "drew curves": f"{len(opened)}/{sessions}",
        "page p50 (s)": round(statistics.median(opened), 2) if opened else None,
        "page p95 (s)": round(_p95(opened), 2) if opened else None,
        "charts received": sum(len(w.charts) for w in watched),
        "fragment reruns sent": sum(w.reruns for w in watched),
        "curve lag p50 (s)": round(statistics.median(lags), 2) if lags else None,
        "curve lag p95 (s)": round(_p95(lags), 2) if lags else None,
        "errors": sum(len(w.errors) for w in watched),
        "server RSS before / after (MB)": f"{rss_before:.0f} / {rss_after:.0f}",
        "RSS per session (MB)": round((rss_after - rss_before) / sessions, 2),
        "server CPU % of a core": round(100 * cpu / seconds, 1),
    }
    print(row, flush=True)
    return [row]


if __name__ == "__main__":
    import sys

    run(Lab(), quick="--quick" in sys.argv)
