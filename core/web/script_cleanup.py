"""Streamlit's end-of-run clean-up without its Keras part.

Streamlit ends every script run (a page, or a fragment refreshing itself) by calling
`keras.backend.clear_session()` whenever Keras is loaded, for apps that build a fresh model on each run.
Train Lab's Models page builds models in this process (and caches what it shows), so once anyone opened it,
every later run of every browser paid for that clean-up: a full garbage collection over TensorFlow's objects,
about 0.2 s of CPU each time (a class's live pages refresh every few seconds), and a reset of Keras' global
state while another browser's script might be building a model. Nothing in Train Lab relies on it.
"""
from __future__ import annotations

import sys

from streamlit.runtime.scriptrunner import script_runner


def _clean_up_without_keras() -> None:
    """The rest of Streamlit's clean-up: close matplotlib's figures."""
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is not None:
        pyplot.close("all")


def keep_keras_session() -> None:
    """Put the clean-up above in place of Streamlit's (once per process; every page calls it)."""
    script_runner._clean_problem_modules = _clean_up_without_keras
