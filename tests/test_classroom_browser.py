"""Classroom mode in a real browser: sign-in, a student who cannot cancel another's run, a teacher who can."""
import asyncio

import pytest

from core.domain.config import TrainConfig
from core.domain.people import Actor
from core.services import accounts, jobs
from core.services.permissions import PermissionDenied
from tests.browser_support import CHROMIUM, CHROMIUM_FLAGS, StreamlitServer, screenshot
from tests.conftest import wait_for

pytestmark = pytest.mark.browser


@pytest.fixture
def classroom_server(classroom, tmp_path):
    """serve.py (the app behind the sign-in gate) in classroom mode, with tess (teacher), amy and ben."""
    settings = classroom
    app = StreamlitServer(tmp_path / "streamlit.log", script="serve.py")
    app.start()
    try:
        yield app, settings
    finally:
        app.stop()


def _sign_in(page, url: str, name: str, password: str) -> None:
    page.get_by_label("User name").fill(name)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_students_and_a_teacher_in_one_class(classroom_server):
    from playwright.sync_api import expect, sync_playwright

    server, settings = classroom_server
    run_id = jobs.submit(TrainConfig(name="amy's run", epochs=1), settings, actor=Actor("amy", "student"))
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        ben = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
        ben.goto(f"{server.url}/runs")
        assert "/signin?next=%2Fruns" in ben.url  # nothing of the lab before signing in
        _sign_in(ben, server.url, "ben", "wrong-password")
        expect(ben.get_by_role("alert")).to_have_text("Wrong user name or password.")
        screenshot(ben, "classroom-signin-wrong-1400.png")
        _sign_in(ben, server.url, "ben", "ben-password")
        expect(ben.get_by_text("amy's run: read-only")).to_be_visible(timeout=60_000)
        expect(ben.get_by_text("Signed in as ben (student)")).to_be_visible()
        assert ben.url.endswith("/runs") or "/runs?" in ben.url
        assert ben.get_by_role("button", name="Cancel run").count() == 0
        screenshot(ben, "classroom-student-runs-1400.png")
        with pytest.raises(PermissionDenied):  # and the service refuses even if a page called it
            jobs.cancel(run_id, settings, actor=Actor("ben", "student"))

        tess = browser.new_context(viewport={"width": 1024, "height": 900}).new_page()
        tess.goto(f"{server.url}/runs")
        _sign_in(tess, server.url, "tess", "tess-password")
        tess.get_by_role("button", name="Cancel run").click(timeout=60_000)
        wait_for(lambda: jobs.get_run(run_id, settings, actor=Actor("tess", "teacher")).status == "cancelled", 30,
                 what="the teacher's cancel")
        screenshot(tess, "classroom-teacher-runs-1024.png")
        assert ben.get_by_role("link", name="Class").count() == 0  # the teacher's page is not in a student's menu

        tess.get_by_role("link", name="Class").click()  # the teacher's view: the audit shows the cancel
        expect(tess.get_by_text("Assignment board")).to_be_visible(timeout=30_000)
        expect(tess.get_by_role("heading", name="Audit")).to_be_visible(timeout=30_000)
        assert tess.get_by_text("No cancels, deletes").count() == 0  # the table (a canvas) holds the cancel
        screenshot(tess, "classroom-class-page-1024.png")
        ben.goto(f"{server.url}/teacher")
        expect(ben.get_by_text("The Class page is for teachers")).to_be_visible(timeout=30_000)

        tess.get_by_role("link", name="Sign out").click()
        tess.get_by_role("button", name="Sign out").click()  # confirmed: a link alone signs nobody out
        tess.wait_for_url("**/signin?signed-out")
        expect(tess.get_by_text("You have signed out.")).to_be_visible()
        tess.goto(f"{server.url}/runs")
        assert "/signin" in tess.url  # signed out: the cookie no longer opens the app
        browser.close()
    audit = [(r.actor, r.action, r.target) for r in accounts.audit(settings)]
    assert audit[0] == ("tess", "cancel", f"run {run_id}")


def test_the_apps_websocket_is_refused_without_a_session(classroom_server):
    import websockets

    server, _ = classroom_server

    async def connect() -> int | None:
        stream = server.url.replace("http://", "ws://") + "/_stcore/stream"
        try:
            async with websockets.connect(stream, subprotocols=["streamlit"], proxy=None) as socket:
                await socket.recv()
        except websockets.ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd else None
        except websockets.InvalidStatus as refused:
            return refused.response.status_code
        return None

    assert asyncio.run(connect()) in (403, 1008)


def test_exam_mode_in_a_real_browser_shows_a_student_nothing_of_anothers(classroom_server):
    """Amy, signed in, walks the pages and the links a classmate could send her: ben's runs, sweep, tags and
    their names appear nowhere."""
    from playwright.sync_api import expect, sync_playwright

    from core.domain.sweep_spec import SweepSpec, Variant
    from core.services import classroom, sweeps
    from core.store.queries import relabel
    from core.store.runs import RunStore

    server, settings = classroom_server
    ben, tess = Actor("ben", "student"), Actor("tess", "teacher")
    secret = "bens-secret-sweep"
    sweep_id = sweeps.start(SweepSpec(name=secret, datasets=("digits",), variants=(Variant("mlp", "mlp"),),
                                      optimizers=("adam",), learning_rates=(1e-2,), batch_sizes=(16,), epochs=(1,)),
                            settings, actor=ben)
    bens_run = jobs.submit(TrainConfig(name="bens-own-run", epochs=1), settings, actor=ben)
    relabel(RunStore(settings.store_location), bens_run, "bens-own-run", "", ["bens-tag"])
    amys_run = jobs.submit(TrainConfig(name="amys-run", epochs=1), settings, actor=Actor("amy", "student"))
    classroom.set_rules({"hide-others": "on"}, settings, actor=tess)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        amy = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
        amy.goto(f"{server.url}/runs")
        _sign_in(amy, server.url, "amy", "amy-password")
        expect(amy.get_by_text("Signed in as amy (student)")).to_be_visible(timeout=60_000)
        amy.get_by_text("Filter and sort").click()
        for url, ready in ((f"/runs?run={bens_run}&runs={bens_run},{amys_run}", "Filter and sort"),
                           ("/sweeps", "New sweep"), ("/lessons?lesson=10", "No sweep yet"),
                           (f"/sweeps?sweep={sweep_id}", "New sweep"), ("/", "Recent runs")):
            amy.goto(server.url + url)
            expect(amy.get_by_text(ready).first).to_be_visible(timeout=60_000)
            amy.wait_for_timeout(1500)  # let the live fragments draw too
            text = amy.locator("body").inner_text()
            for word in (secret, "bens-own-run", "bens-tag"):
                assert word not in text, (url, word)
        screenshot(amy, "classroom-exam-mode-home-1400.png")
        browser.close()
