"""A real browser (Debian's Chromium, driven by Playwright) against a real app and worker pool."""
import os
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from core import worker
from core.settings import load_settings
from tests.conftest import PROJECT_ROOT, wait_for

pytestmark = pytest.mark.browser
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


@pytest.fixture
def app_url(lab, monkeypatch, tmp_path):
    """The app served by `streamlit run` on a free port, with workers starting on demand."""
    monkeypatch.setenv("TRAINLAB_AUTOSTART_WORKERS", "1")
    port = _free_port()
    log = open(tmp_path / "streamlit.log", "wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
         "--server.headless", "true", "--server.fileWatcherType", "none"],
        cwd=PROJECT_ROOT, env=os.environ.copy(), stdout=log, stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _healthy(f"{base}/_stcore/health"), 60, what="streamlit to serve")
        yield base
    finally:
        server.terminate()
        server.wait(10)
        log.close()
        worker.stop(load_settings())


@pytest.fixture
def browser():
    assert Path(CHROMIUM).exists(), "browser tests need Debian's chromium: run `make browser`"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


def test_start_a_run_and_see_its_curve(app_url, browser):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{app_url}/train")
    page.get_by_role("button", name="Start training").click()
    page.get_by_text("Run #1 queued").wait_for(timeout=30_000)

    page.get_by_text("Watch it on the Runs page").click()
    page.wait_for_url("**/runs**")
    # The train-loss line is an SVG path whose `d` grows as points arrive; wait for a real line.
    page.wait_for_function(
        """() => [...document.querySelectorAll('.js-plotly-plot .scatterlayer path.js-line')]
                 .some(p => (p.getAttribute('d') || '').split('L').length > 3)""",
        timeout=120_000,
    )
    # When the run finishes, the page shows its test accuracy as a percentage.
    page.get_by_test_id("stMetricValue").filter(has_text="%").first.wait_for(timeout=120_000)
    artifacts = PROJECT_ROOT / "artifacts"
    artifacts.mkdir(exist_ok=True)
    page.screenshot(path=str(artifacts / "browser-runs.png"), full_page=True)
    assert "Traceback" not in page.content()
