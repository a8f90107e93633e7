"""Two of Streamlit's behaviours Train Lab changes, for every page, fragment and callback of this process.

**Its end-of-run clean-up without the Keras part.** Streamlit ends every script run (a page, or a fragment
refreshing itself) by calling `keras.backend.clear_session()` whenever Keras is loaded, for apps that build
a fresh model on each run. Train Lab's Models page builds models in this process (and caches what it
shows), so once anyone opened it, every later run of every browser paid for that clean-up: a full garbage
collection over TensorFlow's objects, about 0.2 s of CPU each time (a class's live pages refresh every few
seconds), and a reset of Keras' global state while another browser's script might be building a model.

**A bug is one line with a reference, never a traceback.** A refusal (core/errors.Refusal) is caught by the
page that asked; anything else escaping a script is a bug: its traceback goes to `logs/errors.log` under a
short reference (core/services/bugs.py) and the page shows that one line, where Streamlit would show its
own redacted message (`client.showErrorDetails = "none"`) with nothing to quote back.
"""
from __future__ import annotations

import logging
import sys

import streamlit as st
from streamlit import error_util
from streamlit.runtime.scriptrunner import script_runner

from core.services.bugs import report_bug

log = logging.getLogger(__name__)


def _clean_up_without_keras() -> None:
    """The rest of Streamlit's clean-up: close matplotlib's figures."""
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is not None:
        pyplot.close("all")


def _show_bug(exc: BaseException) -> None:
    """In place of Streamlit's display of an uncaught exception: log it with a reference, show one line."""
    try:
        st.error(report_bug("a page", exc), icon=":material/bug_report:")
    except Exception:  # nothing may escape Streamlit's own error handling
        log.exception("could not show a page's error")


def install() -> None:
    """Put both in place (once per process is enough; every page calls it, in page_setup)."""
    script_runner._clean_problem_modules = _clean_up_without_keras
    error_util.show_uncaught_app_exception = _show_bug
