"""Figure 8: how long a class waits for the Runs page when everyone opens it at once.

N sessions connect at the same moment and ask for `/runs?runs=A,B` through the app's own WebSocket
protocol (bench/stream_client.py): the time measured is the server's, from connecting to the
message carrying both runs' curves, and to the end of the page's first run. Once with nothing
training, once while two runs train (the workers then hold both cores). Figure 7 opens the same
page in Chromium, where the browsers' own drawing dominates on a machine this small.
"""
from __future__ import annotations

import asyncio
import statistics
import time

from bench.browser_latency import _serve
from bench.common import Lab, stop_pool
from bench.stream_client import open_comparison
from bench.watching_sessions import _finished_runs, _p95, cpu_seconds, rss_mb


def _open(url: str, ids: list[int], count: int, server_pid: int, state: str) -> dict:
    server0, client0 = cpu_seconds(server_pid), time.process_time()
    seen = asyncio.run(open_comparison(url, ids, count))
    server, client = cpu_seconds(server_pid) - server0, time.process_time() - client0
    drawn = [s.seconds for s in seen if s.seconds is not None]
    complete = [s.finished for s in seen if s.finished is not None]
    return {
        "sessions": count, "training": state, "drew curves": f"{len(drawn)}/{count}",
        "curves p50 (s)": round(statistics.median(drawn), 2) if drawn else None,
        "curves p95 (s)": round(_p95(drawn), 2) if drawn else None,
        "page complete p95 (s)": round(_p95(complete), 2) if complete else None,
        "server CPU-s per open": round(server / count, 3),
        "client CPU-s per open": round(client / count, 3),
        "errors": sum(len(s.errors) for s in seen),
        "server RSS (MB)": round(rss_mb(server_pid)),
    }


def run(lab: Lab, quick: bool = False, session_counts: tuple[int, ...] = (1, 10, 30)) -> list[dict]:
    """One row per session count and state (nothing training; two runs training)."""
    from core.domain.config import TrainConfig
    from core.services import jobs

    counts = (1, 4) if quick else session_counts
    rows = []
    with lab.home("opening_sessions") as settings:
        process, url = _serve(settings, lab.root / "opening_sessions-streamlit.log")
        try:
            finished = _finished_runs(settings)
            asyncio.run(open_comparison(url, finished, 1))  # the server's imports
            for count in counts:
                rows.append(_open(url, finished, count, process.pid, "none"))
                print(rows[-1], flush=True)
            busy = [jobs.submit(TrainConfig(name=f"busy {i}", epochs=200, batch_size=4, train_subset=1400,
                                            seed=10 + i), settings) for i in range(2)]
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and not all(
                    jobs.metrics_of([i])["step"].nunique() >= 3 for i in busy):  # both have curves to draw
                time.sleep(0.5)
            for count in counts:
                rows.append(_open(url, busy, count, process.pid, "2 runs"))
                print(rows[-1], flush=True)
            for run_id in busy:
                jobs.cancel(run_id, settings)
        finally:
            stop_pool(settings)
            process.terminate()
            process.wait(15)
    return rows


if __name__ == "__main__":
    import sys

    run(Lab(), quick="--quick" in sys.argv,
        session_counts=tuple(int(a) for a in sys.argv[1:] if a.isdigit()) or (1, 10, 30))
