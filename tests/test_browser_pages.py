"""Every page in a real browser: direct URLs on a fresh server, what a new user meets, and live refresh."""
import time

import pytest

from core.domain.config import TrainConfig
from core.domain.statuses import CANCELLED, SUCCEEDED
from core.services import jobs
from core.settings import load_settings
from core.store.sweeps import NewRun, create_sweep
from tests.browser_support import CHART_OVERLAPS, CURVE_DRAWN, CUT_TEXT, StreamlitServer, screenshot
from tests.conftest import wait_for
from tests.test_pages import _finished_run

pytestmark = pytest.mark.browser

# (URL path, the page's heading, its tab title), in the sidebar's order.
PAGES = [("", "Train Lab", "Train Lab"), ("lessons", "Lessons", "Lessons · Train Lab"),
         ("train", "Train", "Train · Train Lab"), ("runs", "Runs", "Runs · Train Lab"),
         ("sweeps", "Sweeps", "Sweeps · Train Lab"), ("models", "Models", "Models · Train Lab"),
         ("augment", "Augment", "Augment · Train Lab"), ("data", "Data", "Data · Train Lab")]
# Opened on the last fresh server as its second page (a server each costs ~10 s of the suite's two cores; the
# first-request path is the same mechanism for every page, checked eight times above).
LATER_PAGES = [("own_code", "Your code", "Your code · Train Lab")]
SIDEBAR = ["Home", "Lessons", "Train", "Runs", "Sweeps", "Models", "Augment", "Data", "Your code"]


def _check_page(page, heading: str, title: str) -> None:
    page.get_by_role("heading", name=heading, exact=True).first.wait_for(timeout=60_000)
    sidebar_links = page.get_by_test_id("stSidebar").get_by_test_id("stPageLink")
    sidebar_links.nth(len(SIDEBAR) - 1).wait_for(timeout=30_000)
    links = sidebar_links.all_inner_texts()
    assert [text.split("\n")[-1].strip() for text in links] == SIDEBAR
    assert page.title() == title
    assert page.get_by_test_id("stException").count() == 0


def test_every_page_opens_from_its_direct_url_on_a_fresh_server_and_after_a_reload(lab, store, page, tmp_path):
    _finished_run(store, name="first")
    _finished_run(store, name="second")
    # One port for the eight fresh servers: each server is new, its first request a page's, while the browser keeps
    # Streamlit's scripts cached from the last server (a cold load costs Chromium about a second more each).
    app = StreamlitServer(tmp_path / "streamlit.log")
    for path, heading, title in PAGES:
        app.start()
        try:
            page.goto(f"{app.url}/{path}")  # the server's first page request
            _check_page(page, heading, title)
            page.reload()
            _check_page(page, heading, title)
            if path == "runs":  # a shared comparison link keeps its runs
                page.goto(f"{app.url}/runs?runs=1,2")
                _check_page(page, heading, title)
                chips = page.get_by_test_id("stMultiSelect").filter(has_text="Runs to compare").inner_text()
                assert "#1 first" in chips and "#2 second" in chips
            if path == PAGES[-1][0]:
                for later, later_heading, later_title in LATER_PAGES:
                    page.goto(f"{app.url}/{later}")
                    _check_page(page, later_heading, later_title)
                    page.reload()
                    _check_page(page, later_heading, later_title)
        finally:
            page.goto("about:blank")  # else the page would reconnect to the next server before the test asks
            app.stop()


def test_the_dog_preset_shows_eight_different_crops(lab, page, tmp_path):
    app = StreamlitServer(tmp_path / "streamlit.log")
    app.start()
    try:
        page.goto(f"{app.url}/augment")
        page.get_by_text("Output shape (150, 200, 3)").wait_for(timeout=60_000)
        images = page.get_by_test_id("stImage").locator("img")
        wait_for(lambda: images.count() >= 9, 30, what="the photo and its copies")
        sources = [images.nth(i).get_attribute("src") for i in range(images.count())]
        # Streamlit names a media file by its content, so equal copies would share one address.
        copies = sources[1:]
        assert len(copies) == 8 and len(set(copies)) == 8
        screenshot(page, "browser-augment-dog.png")
    finally:
        app.stop()


def test_runs_page_opened_before_the_first_run_shows_its_curves_without_a_reload(server, page):
    page.goto(f"{server.url}/runs")
    page.get_by_text("No runs yet").wait_for(timeout=60_000)
    run_id = jobs.submit(TrainConfig(epochs=3, name="appears by itself"), load_settings())
    page.get_by_role("heading", name=f"Run #{run_id}").wait_for(timeout=60_000)
    page.wait_for_function(CURVE_DRAWN, timeout=120_000)
    assert page.get_by_text("Compare", exact=True).count() >= 1
    screenshot(page, "browser-runs-before-first-run.png")


def test_refresh_stops_when_nothing_is_training(lab, store, page, tmp_path):
    _finished_run(store, name="done")
    app = StreamlitServer(tmp_path / "streamlit.log")
    app.start()
    try:
        page.goto(f"{app.url}/runs?runs=1")
        page.wait_for_function(CURVE_DRAWN, timeout=60_000)
        time.sleep(2)
        stale = []
        for _ in range(40):  # 10 s: a refreshing page marks its elements stale while it redraws
            stale.append(page.evaluate("document.querySelectorAll('[data-stale=\"true\"]').length"))
            time.sleep(0.25)
        assert sum(1 for n in stale if n) == 0, stale
        # ...and a run started elsewhere still appears without a reload.
        store.create_run("queued elsewhere", TrainConfig().to_dict())
        page.get_by_text("queued elsewhere").first.wait_for(state="attached", timeout=20_000)  # a grid cell
    finally:
        app.stop()


def test_train_page_refuses_what_a_number_field_cannot_hold(lab, store, page, tmp_path):
    app = StreamlitServer(tmp_path / "streamlit.log")
    app.start()
    try:
        for label, typed, message in (("Epochs (at most 200)", "1e3", "Epochs: must be a whole number from 1 to 200"),
                                      ("Epochs (at most 200)", "0", "Epochs: must be a whole number from 1 to 200"),
                                      ("Learning rate", "-1", "Learning rate: must be greater than 0")):
            page.goto(f"{app.url}/train")
            field = page.get_by_role("spinbutton", name=label, exact=True)
            field.fill(typed)
            page.get_by_role("button", name="Start training").click()
            page.get_by_text(message).wait_for(timeout=30_000)
        page.goto(f"{app.url}/train")
        page.get_by_label("Run name (optional)").fill("x" * 500)
        page.get_by_role("button", name="Start training").click()
        page.get_by_text("Run name: must be at most 120 characters; got 500").wait_for(timeout=30_000)
        assert store.list_runs() == []
    finally:
        app.stop()


def test_a_lessons_result_opens_where_the_student_is_looking(lab, page, tmp_path):
    """Scrolled down to lesson 8's card, its button shows the result in view, not at the top of the page, even
    with lesson 1's result open above (it closes as lesson 8's opens, and the page kept a scroll past it)."""
    app = StreamlitServer(tmp_path / "streamlit.log")
    app.start()
    try:
        page.goto(f"{app.url}/lessons")
        page.get_by_role("button", name="Show the three conv demos").click(timeout=60_000)
        page.get_by_role("heading", name="Lesson 1: Padding, stride and kernels").wait_for(timeout=60_000)
        wait_for(lambda: page.get_by_test_id("stStatusWidget").count() == 0, 60, what="lesson 1's maps")
        button = page.get_by_role("button", name="Show both presets")
        button.wait_for(timeout=60_000)
        button.scroll_into_view_if_needed()
        page.wait_for_timeout(500)
        button.click()
        heading = page.get_by_role("heading", name="Lesson 8: Augmentation on a dog and a cat")
        heading.wait_for(timeout=60_000)
        wait_for(lambda: page.get_by_test_id("stImage").count() >= 2, 60, what="the presets' pictures")
        page.get_by_role("button", name="Show both presets").wait_for(timeout=30_000)  # the cards drawn again
        page.wait_for_timeout(1500)  # the run has ended: the page is at its kept scroll position
        box = heading.bounding_box()
        viewport = page.viewport_size
        assert box is not None and 0 <= box["y"] <= viewport["height"] - box["height"], (box, viewport)
        screenshot(page, "browser-lesson-8-in-view-1400.png")
    finally:
        app.stop()


# The column headers a table draws in view (its grid keeps them in an accessibility tree as it draws them).
SHOWN_HEADERS = """() => [...document.querySelectorAll('[data-testid=stDataFrame]')].map(
  grid => [...grid.querySelectorAll('[role=columnheader]')].map(h => h.textContent))"""


def _headers_in_view(page) -> set[str]:
    """The column headers the page's first table draws, once it has drawn them."""
    wait_for(lambda: any(page.evaluate(SHOWN_HEADERS)), 30, what="a table's headers")
    return set(page.evaluate(SHOWN_HEADERS)[0])


def _cells(page) -> list[str]:
    """The cells the page's first table draws (its accessible table holds only those in view)."""
    return [t.strip() for t in page.get_by_test_id("stDataFrame").first.locator("td").all_inner_texts()]


def _finished_sweep(store) -> None:
    """A sweep whose trials vary what the assignment's preset varies (architecture, optimizer, learning rate): two
    finished, one cancelled; none has a validation score (each shows "—" there)."""
    trials = [TrainConfig(architecture=arch, optimizer=optimizer, learning_rate=lr, name=f"trial {optimizer}")
              for arch, optimizer, lr in (("mlp", "adam", 0.001), ("small_cnn", "sgd", 0.01), ("mlp", "rmsprop", 0.01))]
    varied = [{"architecture": c.architecture, "optimizer": c.optimizer, "learning_rate": c.learning_rate}
              for c in trials]
    _, run_ids = create_sweep(store, "optimizers", {}, [NewRun(c.display_name(), c.to_dict(), c.epochs, params)
                                                        for c, params in zip(trials, varied)])
    for run_id, status, accuracy in zip(run_ids, (SUCCEEDED, SUCCEEDED, CANCELLED), (0.9, 0.8, None)):
        store.claim(run_id, 1, "elsewhere")
        store.finish(run_id, status, test_accuracy=accuracy, test_loss=accuracy and 0.3, train_seconds=5.0)


def test_nothing_is_cut_at_1024_px_on_any_page_with_the_bundled_data(lab, store, page, tmp_path):
    """Every page at 1024 px, as a newcomer opens it with the bundled digits, one finished run and a sweep: no
    text or chosen value cut short (checked on the rendered text, not by eye alone), no chart's text drawn over
    another's (titles under the toolbar, the legend over axis titles, an empty chart's message over its axes),
    and the tables' key columns in view (the runs' score, dataset and architecture beside long run names, the
    sweep's score and varied settings)."""
    run_id = _finished_run(store)
    for i in range(3):  # long names in the tables, beside their key columns
        _finished_run(store, name=f"a rather long run name that goes on and on, number {i}", accuracy=0.9 + i / 100)
    _finished_sweep(store)
    app = StreamlitServer(tmp_path / "streamlit.log")
    app.start()
    try:
        page.set_viewport_size({"width": 1024, "height": 900})
        cut, overlaps = {}, {}
        for path in ("", "lessons", "train", f"runs?run={run_id}", "sweeps", "models", "augment", "data"):
            page.goto(f"{app.url}/{path}")
            page.get_by_test_id("stMain").wait_for(timeout=60_000)
            wait_for(lambda: page.get_by_test_id("stStatusWidget").count() == 0, 60, what=f"/{path} to finish")
            page.wait_for_timeout(1500)
            if path in ("", f"runs?run={run_id}"):
                assert {"test acc"} | ({"val acc", "dataset", "architecture"} if path else set()) \
                    <= _headers_in_view(page)
                assert "92.00 %" in _cells(page)
            if path == "sweeps":  # the trials table of the newest sweep, its charts, then the form a newcomer opens
                assert {"val acc", "architecture", "optimizer", "lr"} <= _headers_in_view(page)
                assert "—" in _cells(page)
                overlaps[f"{path}, Parallel coordinates"] = page.evaluate(CHART_OVERLAPS)  # the tab it opens on
                for tab in ("Score per hyperparameter", "Optimizer × learning rate"):
                    page.get_by_role("tab", name=tab).click()
                    page.wait_for_timeout(1500)
                    overlaps[f"{path}, {tab}"] = page.evaluate(CHART_OVERLAPS)
            overlaps[path] = page.evaluate(CHART_OVERLAPS)
            screenshot(page, f"browser-1024-{path.split('?')[0] or 'home'}.png")
            if path == "sweeps":
                page.get_by_text("New sweep", exact=True).first.click()
                page.wait_for_timeout(2500)
            cut[path] = page.evaluate(CUT_TEXT)
            if path == "sweeps":  # the preset's three optimizers, each chip whole
                page.get_by_role("button", name="Load the assignment preset").click()
                page.get_by_text("Adam", exact=True).first.wait_for(timeout=30_000)
                page.wait_for_timeout(1000)
                cut["sweeps, the assignment preset"] = page.evaluate(CUT_TEXT)
        assert not any(cut.values()), {p: c for p, c in cut.items() if c}
        assert not any(overlaps.values()), {p: c for p, c in overlaps.items() if c}
    finally:
        app.stop()
