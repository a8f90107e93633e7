"""Figure 6: from pressing Start in a browser to the first curve point on screen.

A real Streamlit server and Debian's Chromium (driven by Playwright) on this machine: the Train
page is opened, Start is clicked, and the clock stops when the page's chart draws the run's
curve. Warm: the worker pool is up (the Train page starts it when it opens). Cold: the pool is
stopped first, and Start is clicked as soon as the page shows, so the run waits for the pool.
"""
from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from bench.common import Lab, stop_pool

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run"]
# A curve is on screen once a trace of the chart has a drawn line or marker.
CURVE_ON_SCREEN = """() => [...document.querySelectorAll('.js-plotly-plot .scatterlayer path.js-line')]
    .some(p => (p.getAttribute('d') || '').length > 0)
    || document.querySelectorAll('.js-plotly-plot .scatterlayer .point').length > 0"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(settings, log: Path, script: str = "app.py") -> tuple[subprocess.Popen, str]:
    """`streamlit run script` on a free port, once it answers its health check; (process, url)."""
    port = _free_port()
    process = subprocess.Popen([sys.executable, "-m", "streamlit", "run", script, "--server.port", str(port),
                                "--server.headless", "true"], cwd=PROJECT_ROOT, env=os.environ.copy(),
                               stdout=log.open("ab"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    for _ in range(120):
        try:
            with opener.open(f"{url}/_stcore/health", timeout=2):
                return process, url
        except OSError:
            time.sleep(0.5)
    process.terminate()
    raise RuntimeError(f"streamlit did not start; see {log}")


def _click_to_curve(page, url: str, settle: float) -> float:
    """Open the Train page in a new tab, wait `settle` s, press Start; seconds until the curve shows."""
    page.goto(f"{url}/train")
    start = page.get_by_role("button", name="Start training")
    start.wait_for(timeout=60_000)
    time.sleep(settle)
    began = time.monotonic()
    start.click()
    page.wait_for_function(CURVE_ON_SCREEN, timeout=120_000, polling=20)
    return time.monotonic() - began


def run(lab: Lab, repeat: int = 5, quick: bool = False) -> list[dict]:
    """Warm (median and worst of `repeat`, each in a fresh browser context) and cold (median of 2)."""
    from playwright.sync_api import sync_playwright

    from core.services import jobs

    repeat = 2 if quick else repeat
    rows = []
    with lab.home("browser_latency") as settings, sync_playwright() as p:
        process, url = _serve(settings, lab.root / "browser_latency-streamlit.log")
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            def fresh_page():
                return browser.new_context(viewport={"width": 1400, "height": 1200}).new_page()

            jobs.warm_workers(settings)
            time.sleep(10)  # both workers import TensorFlow
            _click_to_curve(fresh_page(), url, settle=2)  # each worker's first model: not part of the figure
            _click_to_curve(fresh_page(), url, settle=2)
            warm = [_click_to_curve(fresh_page(), url, settle=3) for _ in range(repeat)]
            cold = []
            for _ in range(1 if quick else 2):
                stop_pool(settings)
                time.sleep(1)
                cold.append(_click_to_curve(fresh_page(), url, settle=0.5))
            rows.append({"case": "bundled digits, course MLP, new browser tab each time",
                         "warm median (s)": round(statistics.median(warm), 2), "warm worst (s)": round(max(warm), 2),
                         "cold median (s)": round(statistics.median(cold), 2)})
        finally:
            browser.close()
            stop_pool(settings)
            process.terminate()
            process.wait(15)
    return rows
