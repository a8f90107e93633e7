"""A real browser (Debian's Chromium, driven by Playwright) against a real app and worker pool."""
import os
import subprocess
import sys

import pytest

from core.domain.statuses import RUNNING
from core.runtime import worker
from core.services import jobs
from core.settings import load_settings
from tests.browser_support import CURVE_DRAWN, choose_option, screenshot
from tests.conftest import PROJECT_ROOT, wait_for

pytestmark = pytest.mark.browser


TRACKED_POINTS = """() => {
    const chart = document.querySelector('.js-plotly-plot');
    const traces = (chart && chart._fullData || []).filter(t => (t.name || '').startsWith('#3 '));
    return traces.reduce((n, t) => n + (t.x ? t.x.length : 0), 0);
}"""
OWN_SCRIPT = """
import time
import numpy as np
import keras
from trainlab import TrainLabCallback

class Slow(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        time.sleep(0.5)

rng = np.random.default_rng(0)
x, y = rng.normal(size=(400, 8, 8, 1)).astype("float32"), rng.integers(0, 10, 400)
model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(), keras.layers.Dense(10, "softmax")],
                         name="my_mlp")
model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(x, y, batch_size=16, epochs=10, validation_split=0.2, verbose=0,
          callbacks=[Slow(), TrainLabCallback(name="my own script", dataset="digits", interval=0.2)])
"""


def _residual_cnn(path) -> None:
    """A functional CNN with a residual Add for the bundled 8×8 digits, saved as a student would."""
    import keras

    inputs = keras.Input((8, 8, 1), name="pixels")
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="conv_a")(inputs)
    y = keras.layers.Conv2D(8, 3, padding="same", name="conv_b")(x)
    x = keras.layers.Activation("relu", name="relu")(keras.layers.Add(name="add")([x, y]))
    outputs = keras.layers.Dense(10, activation="softmax", name="classes")(keras.layers.Flatten(name="flatten")(x))
    keras.Model(inputs, outputs, name="residual").save(path)


def test_start_a_run_and_see_its_curve(server, page, tmp_path):
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

    # A student's own model file, uploaded on the Models page: its layer table, then trained on digits as run #2,
    # and a shared link that compares both runs: two runs' lines in the first chart.
    _residual_cnn(tmp_path / "mine.keras")
    page.goto(f"{server.url}/models")
    page.get_by_text("Add your own model (.keras)").click()
    page.get_by_label("Model name").fill("my residual")
    page.locator("input[type=file]").set_input_files(str(tmp_path / "mine.keras"))
    page.get_by_role("button", name="Add model").click()
    page.get_by_text("Added operator / my residual: 5,794 parameters").wait_for(timeout=60_000)
    page.get_by_test_id("stDataFrame").first.wait_for()
    assert page.get_by_test_id("stMetricValue").first.inner_text() == "5,794"
    page.goto(f"{server.url}/train")
    choose_option(page, page.get_by_test_id("stSelectbox").filter(has_text="Architecture"),
                  "operator / my residual (model file)")
    page.get_by_text("A model file: 5,794 parameters").wait_for()
    page.get_by_role("button", name="Start training").click()
    page.get_by_text("Run #2 queued").wait_for(timeout=30_000)
    assert jobs.get_run(2, load_settings()).name == "operator / my residual · digits · adam lr=0.001"
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

    # A student's own script reports in while it trains: its curves grow beside the runs Train Lab trained.
    settings = load_settings()
    jobs.cancel(2, settings)  # compared above: the cores go to the script now
    wait_for(lambda: jobs.get_run(2, settings).is_finished, 60, what="run #2 to stop")
    script = tmp_path / "own.py"
    script.write_text(OWN_SCRIPT)
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}
    process = subprocess.Popen([sys.executable, str(script)], cwd=tmp_path, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: (r := jobs.get_run(3, settings)) and r.epoch >= 2, 120, what="the script's run")
        page.goto(f"{server.url}/runs?runs=1,3&run=3")
        page.get_by_text("From your own code: own.py").wait_for(timeout=60_000)
        first = page.wait_for_function(f"() => ({TRACKED_POINTS})() > 0", timeout=60_000) and \
            page.evaluate(TRACKED_POINTS)
        page.wait_for_function(f"() => ({TRACKED_POINTS})() > {first}", timeout=60_000)  # live, no reload
        legend = page.locator(".js-plotly-plot").first.locator(".legendtext").all_text_contents()
        assert any(t.startswith("#1 ") for t in legend) and any(t.startswith("#3 my own script") for t in legend)
        assert process.wait(120) == 0, process.stderr.read()[-2000:]
        screenshot(page, "browser-tracked.png")
    finally:
        process.kill()
    assert jobs.get_run(3, settings).status == "succeeded"


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
