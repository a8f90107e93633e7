"""What Train Lab changes of Streamlit's behaviour (core/web/streamlit_hooks.py), on real script runs."""
import re

from streamlit.testing.v1 import AppTest

from tests.conftest import PROJECT_ROOT


def test_a_page_run_does_not_clear_keras_session(lab):
    from keras.src.backend.common import global_state

    global_state.set_global_attribute("trainlab_probe", "kept")  # Streamlit's own clean-up resets all of these
    at = AppTest.from_file(str(PROJECT_ROOT / "app.py"), default_timeout=60).run()
    assert not at.exception
    assert global_state.get_global_attribute("trainlab_probe") == "kept"


BUGGY_PAGE = """
import streamlit as st
from core.web import streamlit_hooks

streamlit_hooks.install()  # as every page's page_setup does


@st.fragment
def part():
    if st.button("Break the fragment"):
        {}["missing in a fragment"]


part()
if st.button("Break the page"):
    raise RuntimeError("a bug in the page")
"""


def _reported(at, lab, words: str) -> None:
    assert not at.exception  # Streamlit's own display of it (a traceback, or its redacted message)
    [line] = [e.value for e in at.error]
    assert line.startswith("Train Lab failed unexpectedly (a bug, not your input); reference ") and "\n" not in line
    reference = re.search(r"reference (\w+) in ", line).group(1)
    log = (lab.logs_dir / "errors.log").read_text()
    entry = log[log.index(f"[{reference}]"):]
    assert "Traceback" in entry and words in entry


def test_a_bug_in_a_page_or_a_fragment_is_one_line_with_a_reference_into_the_log(lab):
    at = AppTest.from_string(BUGGY_PAGE, default_timeout=60).run()
    assert not at.exception and not at.error
    at.button[1].click().run()
    _reported(at, lab, "RuntimeError: a bug in the page")
    at = AppTest.from_string(BUGGY_PAGE, default_timeout=60).run()
    at.button[0].click().run()
    _reported(at, lab, "KeyError: 'missing in a fragment'")
