"""Refusals in the page's words for the one reading them: fields as labelled, server settings only for whoever
can change them."""
import pytest
from streamlit.testing.v1 import AppTest

from core.domain.wording import in_page_words, without_setting_names
from core.services import accounts
from tests.conftest import PROJECT_ROOT


def test_a_field_is_named_as_the_page_labels_it():
    labels = {"batch_size": "Batch size"}
    assert in_page_words("batch_size: must be at least 1", labels) == "Batch size: must be at least 1"
    assert in_page_words("seed: bad", labels) == "seed: bad"  # no label: left as it is
    assert in_page_words("no field here", labels) == "no field here"


def test_server_settings_are_left_out_for_those_who_cannot_change_them():
    assert without_setting_names("from 1 to 200 (the server's cap, TRAINLAB_MAX_EPOCHS); got 500") == \
        "from 1 to 200 (the server's cap); got 500"
    assert without_setting_names("2,000,000 parameters is over the cap (TRAINLAB_MAX_PARAMS); use fewer") == \
        "2,000,000 parameters is over the cap; use fewer"
    assert without_setting_names("set TRAINLAB_DATA_ROOT first") == "set a setting of the server first"


def _train_page_refusal(token: str | None, monkeypatch) -> str:
    """The Train page's refusal of 500 epochs, as the browser of `token`'s account sees it."""
    from core.web import signin

    if token:
        monkeypatch.setattr("pages.common.auth._session_token", lambda: token)
        monkeypatch.setitem(signin._gate, "active", True)
    at = AppTest.from_file(str(PROJECT_ROOT / "app.py"), default_timeout=60)
    at.switch_page("pages/train.py")
    at.run()
    at.number_input(key="epochs").set_value(500)
    at.button(key="start").click().run()
    assert not at.exception
    return at.error[0].value


@pytest.mark.parametrize("who, shown", [("amy", False), ("tess", True)])
def test_a_student_is_not_told_the_servers_setting_names_and_a_teacher_is(classroom, monkeypatch, who, shown):
    token = accounts.sign_in(who, f"{who}-password", classroom).token
    message = _train_page_refusal(token, monkeypatch)
    assert message.startswith("Epochs: must be a whole number from 1 to")
    assert ("TRAINLAB_MAX_EPOCHS" in message) == shown, message


def test_on_a_laptop_the_user_runs_the_server_and_is_told_the_setting(lab, monkeypatch):
    assert "(the server's cap, TRAINLAB_MAX_EPOCHS)" in _train_page_refusal(None, monkeypatch)


def test_a_lesson_tells_a_student_what_is_missing_without_the_servers_folders(classroom):
    from core.services import lessons
    from tests.conftest import AMY, TESS

    lesson_7, lesson_9 = lessons.lesson("7"), lessons.lesson("9")
    for_amy = lessons.readiness(lesson_7, classroom, actor=AMY).missing
    assert "class's server" in for_amy and str(classroom.data_root) not in for_amy
    assert str(classroom.data_root) in lessons.readiness(lesson_7, classroom, actor=TESS).missing
    assert str(classroom.keras_home) not in lessons.readiness(lesson_9, classroom, actor=AMY).missing


@pytest.mark.parametrize("who, shown", [("amy", False), ("tess", True)])
def test_the_data_page_names_the_servers_folders_to_a_teacher_only(classroom, monkeypatch, who, shown):
    from core.web import signin

    token = accounts.sign_in(who, f"{who}-password", classroom).token
    monkeypatch.setattr("pages.common.auth._session_token", lambda: token)
    monkeypatch.setitem(signin._gate, "active", True)
    at = AppTest.from_file(str(PROJECT_ROOT / "app.py"), default_timeout=60)
    at.switch_page("pages/data.py")
    at.run()
    assert not at.exception
    texts = " ".join(c.value for c in at.caption) + " ".join(m.value for m in at.markdown)
    assert (str(classroom.data_root) in texts) == shown
