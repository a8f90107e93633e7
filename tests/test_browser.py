"""A real browser (Debian's Chromium, driven by Playwright) against a real app and worker pool."""
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from core import jobs, worker
from core.settings import load_settings
from core.store import RUNNING
from tests.conftest import PROJECT_ROOT, wait_for

pytestmark = pytest.mark.browser
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"]
CURVE_DRAWN = """() => [...document.querySelectorAll('.js-plotly-plot .scatterlayer path.js-line')]
                       .some(p => (p.getAttribute('d') || '').split('L').length > 3)"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# Local requests never go through a proxy (and urlopen's global opener may hold one from the environment).
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _healthy(url: str) -> bool:
    try:
        with _DIRECT.open(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


class StreamlitServer:
    """`streamlit run app.py` on a fixed port, which a test can stop and start again."""

    def __init__(self, log_path: Path):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(self.port),
                 "--server.headless", "true", "--server.fileWatcherType", "none"],
                cwd=PROJECT_ROOT, env=os.environ.copy(), stdout=log, stderr=subprocess.STDOUT,
            )
        try:
            wait_for(lambda: _healthy(f"{self.url}/_stcore/health"), 60, what="streamlit to serve")
        except AssertionError as exc:
            log = self.log_path.read_text(errors="replace")[-3000:]
            raise AssertionError(f"{exc}; exit code {self.process.poll()}; server log:\n{log}") from None

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(15)


@pytest.fixture
def server(lab, monkeypatch, tmp_path):
    """The app served on a free port, with workers starting on demand; all stopped afterwards."""
    monkeypatch.setenv("TRAINLAB_AUTOSTART_WORKERS", "1")
    app = StreamlitServer(tmp_path / "streamlit.log")
    app.start()
    try:
        yield app
    finally:
        app.stop()
        worker.stop(load_settings())


@pytest.fixture
def page():
    assert Path(CHROMIUM).exists(), "browser tests need Debian's chromium: run `make browser`"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield chromium.new_page(viewport={"width": 1400, "height": 1000})
        chromium.close()


def _screenshot(page, name: str) -> None:
    artifacts = PROJECT_ROOT / "artifacts"
    artifacts.mkdir(exist_ok=True)
    page.screenshot(path=str(artifacts / name), full_page=True)


def test_start_a_run_and_see_its_curve(server, page):
    page.goto(f"{server.url}/train")
    page.get_by_role("button", name="Start training").click()
    page.get_by_text("Run #1 queued").wait_for(timeout=30_000)

    page.get_by_text("Watch it on the Runs page").click()
    page.wait_for_url("**/runs**")
    # The train line is an SVG path whose `d` grows as points arrive; wait for a real line.
    page.wait_for_function(CURVE_DRAWN, timeout=120_000)
    # When the run finishes, the page shows its test accuracy as a percentage.
    page.get_by_test_id("stMetricValue").filter(has_text="%").first.wait_for(timeout=120_000)
    _screenshot(page, "browser-runs.png")
    assert "Traceback" not in page.content()

    # A second run, then a shared link that compares both: two runs' lines in the first chart.
    page.goto(f"{server.url}/train")
    page.get_by_role("button", name="Start training").click()
    page.get_by_text("Run #2 queued").wait_for(timeout=30_000)
    page.goto(f"{server.url}/runs?runs=1,2")
    page.wait_for_function(
        """() => {
            const chart = document.querySelector('.js-plotly-plot');
            if (!chart) return false;
            const legend = [...chart.querySelectorAll('.legendtext')].map(t => t.textContent);
            const lines = [...chart.querySelectorAll('.scatterlayer path.js-line')]
                .filter(p => (p.getAttribute('d') || '').split('L').length > 3);
            return legend.some(t => t.startsWith('#1 ')) && legend.some(t => t.startsWith('#2 ')) && lines.length >= 4;
        }""",
        timeout=120_000,
    )
    _screenshot(page, "browser-compare.png")


def test_a_run_keeps_training_across_a_streamlit_restart(server, page):
    settings = load_settings()
    page.goto(f"{server.url}/train")
    epochs = page.get_by_label("Epochs (at most 200)")
    epochs.fill("60")
    epochs.press("Enter")
    page.get_by_role("button", name="Start training").click()
    page.get_by_text("Run #1 queued").wait_for(timeout=30_000)
    wait_for(lambda: jobs.get_run(1, settings).batch > 0, 120, what="the run to train")
    assert jobs.get_run(1, settings).epochs == 60

    server.stop()  # Streamlit gone: the worker pool and the run carry on
    before = jobs.get_run(1, settings).progress
    wait_for(lambda: jobs.get_run(1, settings).progress > before, 30, what="progress without Streamlit")
    assert jobs.get_run(1, settings).status == RUNNING and worker.status(settings).running

    server.start()
    page.goto(f"{server.url}/runs?run=1")
    page.wait_for_function(CURVE_DRAWN, timeout=60_000)
    page.get_by_text("Run #1").wait_for(timeout=10_000)
    _screenshot(page, "browser-after-restart.png")
    jobs.cancel(1, settings)
    wait_for(lambda: jobs.get_run(1, settings).is_finished, 30, what="the cancel")
