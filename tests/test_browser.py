"""A real browser (Debian's Chromium, driven by Playwright) against a real app and worker pool."""
import pytest

from core.domain.statuses import RUNNING
from core.runtime import worker
from core.services import jobs
from core.settings import load_settings
from tests.browser_support import CURVE_DRAWN, screenshot
from tests.conftest import wait_for

pytestmark = pytest.mark.browser


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
    screenshot(page, "browser-runs.png")
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
    screenshot(page, "browser-compare.png")


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
    screenshot(page, "browser-after-restart.png")
    jobs.cancel(1, settings)
    wait_for(lambda: jobs.get_run(1, settings).is_finished, 30, what="the cancel")
