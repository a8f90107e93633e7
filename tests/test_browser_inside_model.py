"""In Chromium: a digit drawn in the browser, classified by a finished run's model."""
import pytest

from core.domain.config import TrainConfig
from core.domain.statuses import SUCCEEDED
from core.services import jobs
from core.training.fit import execute_run
from core.views import evaluation
from tests.browser_support import StreamlitServer, choose_option, screenshot
from tests.conftest import wait_for
from tests.test_run_models import TINY_CNN

pytestmark = pytest.mark.browser


def test_a_digit_drawn_in_the_browser_is_classified_by_a_finished_run(lab, store, page, tmp_path):
    config = TrainConfig(name="digits mlp", epochs=2, train_subset=600)
    run_id = store.create_run(config.display_name(), config.to_dict(), epochs=2)
    assert execute_run(run_id, lab) == SUCCEEDED, store.get(run_id).error
    app = StreamlitServer(tmp_path / "streamlit.log")
    app.start()
    try:
        page.goto(f"{app.url}/runs?run={run_id}")
        page.get_by_text("Look inside the model", exact=True).click(timeout=60_000)
        choose_option(page, page.locator(f".st-key-try_{run_id}_source"), "a digit I draw")
        page.get_by_text("Draw a digit in the box").wait_for(timeout=30_000)  # nothing drawn yet: no answer
        canvas = page.locator(f".st-key-try_{run_id}_draw canvas").last
        canvas.wait_for(timeout=30_000)
        box = canvas.bounding_box()
        canvas.hover()  # the canvas shows its toolbar (undo, reset …) above it: clear of the Image selector
        page.wait_for_timeout(800)  # it slides in
        tools = page.locator(f".st-key-try_{run_id}_draw button").first.bounding_box()
        chooser = page.locator(f".st-key-try_{run_id}_source").bounding_box()
        assert tools["y"] >= chooser["y"] + chooser["height"], (tools, chooser)
        page.mouse.move(box["x"] + 0.5 * box["width"], box["y"] + 0.15 * box["height"])
        page.mouse.down()
        for step in range(1, 21):  # a vertical stroke: a "1"
            page.mouse.move(box["x"] + 0.5 * box["width"], box["y"] + (0.15 + 0.035 * step) * box["height"])
        page.mouse.up()
        seen = page.get_by_text("what the model sees · 8×8×1")
        wait_for(lambda: seen.count() > 0, 60, what="the model's answer for the drawing")
        assert page.get_by_test_id("stException").count() == 0
        seen.first.scroll_into_view_if_needed()
        screenshot(page, "drawn-digit.png")
    finally:
        app.stop()


def test_clicking_a_confusion_matrix_cell_shows_its_mistakes_and_picks_it_for_grad_cam(lab, store, page, tmp_path):
    config = TrainConfig(name="tiny cnn", architecture="custom_cnn", arch_options=TINY_CNN, epochs=1)
    run_id = store.create_run(config.display_name(), config.to_dict(), epochs=1)
    assert execute_run(run_id, lab) == SUCCEEDED, store.get(run_id).error
    predictions = evaluation.load_predictions(jobs.run_folder(run_id))
    pairs = list(zip(predictions.mistakes_true.tolist(), predictions.mistakes_pred.tolist()))
    true, predicted = max(set(pairs), key=pairs.count)  # the cell with the most kept mistakes
    names, n = predictions.class_names, len(predictions.class_names)
    app = StreamlitServer(tmp_path / "streamlit.log")
    app.start()
    try:
        page.goto(f"{app.url}/runs?run={run_id}")
        page.get_by_text("Test results by class", exact=True).click(timeout=60_000)
        plot = page.locator(f".st-key-confusion_{run_id} .nsewdrag").first
        plot.wait_for(timeout=30_000)
        plot.scroll_into_view_if_needed()
        page.wait_for_timeout(1000)  # the expander's opening animation
        box = plot.bounding_box()
        page.mouse.click(box["x"] + (predicted + 0.5) / n * box["width"], box["y"] + (true + 0.5) / n * box["height"])
        caption = page.get_by_text(f"Misclassified test images kept for {names[true]} → {names[predicted]}: "
                                   f"{pairs.count((true, predicted))}")
        wait_for(lambda: caption.count() > 0, 60, what="the clicked cell's images")
        page.get_by_text("Look inside the model", exact=True).click()
        page.get_by_role("tab", name="Grad-CAM").click()
        chosen = page.locator(f".st-key-cam_cell_{run_id}")
        wait_for(lambda: f"{names[true]} → {names[predicted]} ·" in (chosen.text_content() or "")
                 + " ".join(chosen.locator("input").evaluate_all("els => els.map(e => e.value)")), 60,
                 what="the clicked cell in Grad-CAM's list")
        assert page.get_by_test_id("stException").count() == 0
        page.get_by_text("explains").first.wait_for(timeout=60_000)  # the cell's heat maps drawn
        screenshot(page, "confusion-cell.png")
    finally:
        app.stop()
