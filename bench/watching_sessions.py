"""Figure 7: what a class of watching browsers costs the server.

A real Streamlit server and N Chromium sessions (Playwright, on this same machine) each open
`/runs?runs=A,B`, comparing two runs. Measured from /proc: the Streamlit process's CPU-seconds per
session-minute while the sessions just watch (nothing training; then two training runs, compared), its
resident memory, and each session's time from opening the page to the comparison's curves on screen.
The clients' own CPU (Chromium) is measured too, since it shares this machine.
"""
from __future__ import annotations

import os
import statistics
import time
from pathlib import Path

from bench.browser_latency import CHROMIUM, FLAGS, _serve
from bench.common import Lab, stop_pool

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
CURVES_DRAWN = """() => [...document.querySelectorAll('.js-plotly-plot .scatterlayer path.js-line')]
    .filter(p => (p.getAttribute('d') || '').split('L').length > 2).length >= 2"""


def cpu_seconds(pid: int) -> float:
    """CPU-seconds (user + system) of process `pid`, its threads included."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def tree_cpu_seconds(root: int) -> float:
    """CPU-seconds of `root` and every process below it (Chromium's renderers)."""
    total, children = 0.0, {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    stack = [root]
    while stack:
        pid = stack.pop()
        try:
            total += cpu_seconds(pid)
        except OSError:
            continue
        stack.extend(children.get(pid, []))
    return total


def rss_mb(pid: int) -> float:
    """Resident memory of `pid` in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _finished_runs(settings, count: int = 2) -> list[int]:
    from core.domain.config import TrainConfig
    from core.services import jobs

    ids = [jobs.submit(TrainConfig(name=f"watched {i}", train_subset=300, epochs=3, seed=i), settings)
           for i in range(count)]
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and any(not jobs.get_run(i, settings).is_finished for i in ids):
        time.sleep(0.5)
    return ids


def _open_sessions(browser, url: str, ids: list[int], count: int) -> list[float]:
    """Open `count` sessions at once; seconds until each shows both runs' curves (None if it never did)."""
    pages = [browser.new_context(viewport={"width": 1400, "height": 1200}).new_page() for _ in range(count)]
    began = time.monotonic()
    for page in pages:
        page.goto(f"{url}/runs?runs={','.join(map(str, ids))}", wait_until="commit", timeout=180_000)
    times = []
    for page in pages:
        try:
            page.wait_for_function(CURVES_DRAWN, timeout=180_000, polling=100)
            times.append(time.monotonic() - began)
        except Exception:  # noqa: BLE001 - a session that never drew is reported as such
            times.append(float("nan"))
    return pages, times


def _cpu_per_session_minute(server_pid: int, browser_pid: int, sessions: int, seconds: float) -> tuple[float, float]:
    server0, clients0 = cpu_seconds(server_pid), tree_cpu_seconds(browser_pid)
    time.sleep(seconds)
    server = cpu_seconds(server_pid) - server0
    clients = tree_cpu_seconds(browser_pid) - clients0
    minutes = seconds / 60
    return server / sessions / minutes, clients / sessions / minutes


def run(lab: Lab, quick: bool = False, session_counts: tuple[int, ...] = (1, 10, 30)) -> list[dict]:
    """One row per session count: page-open p50/p95, idle and training CPU per session, RSS."""
    from playwright.sync_api import sync_playwright

    from core.domain.config import TrainConfig
    from core.services import jobs

    window = 20 if quick else 40
    counts = (1, 4) if quick else session_counts
    rows = []
    with lab.home("watching_sessions") as settings, sync_playwright() as p:
        process, url = _serve(settings, lab.root / "watching_sessions-streamlit.log")
        try:
            ids = _finished_runs(settings)
            for count in counts:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
                browser_pid = _browser_pid(browser)
                try:
                    pages, opened = _open_sessions(browser, url, ids, count)
                    time.sleep(10)  # let every session settle
                    idle, idle_clients = _cpu_per_session_minute(process.pid, browser_pid, count, window)
                    busy = [jobs.submit(TrainConfig(name=f"busy {i}", epochs=200, batch_size=4, train_subset=1400,
                                                    seed=10 + i), settings) for i in range(2)]
                    for page in pages:  # every session now watches the two training runs
                        page.goto(f"{url}/runs?runs={','.join(map(str, busy))}", wait_until="commit", timeout=180_000)
                    time.sleep(15)
                    training, _ = _cpu_per_session_minute(process.pid, browser_pid, count, window)
                    time.sleep(max(0.0, 75 - 15 - window))  # the runs leave their first minute: a slower pace
                    settled, _ = _cpu_per_session_minute(process.pid, browser_pid, count, window)
                    still = sum(jobs.get_run(i, settings).status == "running" for i in busy)
                    for run_id in busy:
                        jobs.cancel(run_id, settings)
                    drawn = [t for t in opened if t == t]
                    rows.append({
                        "sessions": count, "drew curves": f"{len(drawn)}/{count}",
                        "open p50 (s)": round(statistics.median(drawn), 2) if drawn else None,
                        "open p95 (s)": round(_p95(drawn), 2) if drawn else None,
                        "idle server CPU %/session": round(100 * idle / 60, 2),
                        "2 training runs, first minute: server CPU %/session": round(100 * training / 60, 2),
                        "2 training runs, later: server CPU %/session": round(100 * settled / 60, 2),
                        "idle client CPU %/session": round(100 * idle_clients / 60, 2),
                        "server RSS (MB)": round(rss_mb(process.pid)),
                        "busy runs still training at the end": still,
                    })
                    print(rows[-1], flush=True)  # a long figure: each row as soon as it is measured
                    for page in pages:
                        page.context.close()
                    time.sleep(5)
                finally:
                    browser.close()
        finally:
            stop_pool(settings)
            process.terminate()
            process.wait(15)
    return rows


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def _browser_pid(browser) -> int:
    """The pid of the Chromium that Playwright launched (the newest chromium process of ours)."""
    candidates = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if cmdline and cmdline[0].endswith(b"chromium") and not any(a.startswith(b"--type=") for a in cmdline):
                candidates.append(int(entry.name))
    return max(candidates)


if __name__ == "__main__":
    import sys

    lab = Lab()
    run(lab, quick="--quick" in sys.argv,
        session_counts=tuple(int(a) for a in sys.argv[1:] if a.isdigit()) or (1, 10, 30))
