"""Streamlit's end-of-run clean-up leaves Keras alone: the Models page builds models in the app's process."""
from streamlit.testing.v1 import AppTest

from tests.conftest import PROJECT_ROOT


def test_a_page_run_does_not_clear_keras_session(lab):
    from keras.src.backend.common import global_state

    global_state.set_global_attribute("trainlab_probe", "kept")  # Streamlit's own clean-up resets all of these
    at = AppTest.from_file(str(PROJECT_ROOT / "app.py"), default_timeout=60).run()
    assert not at.exception
    assert global_state.get_global_attribute("trainlab_probe") == "kept"
