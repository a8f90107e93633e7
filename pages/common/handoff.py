"""Pages hand settings to the Train page through one session key, never by writing its widgets' keys.

The Runs page's "Clone and edit" calls `request_train`; the Train page calls `apply_train_request`
before drawing its fields, which turns the request into its own field values.
"""
import streamlit as st

from core.domain.config import form_values
from pages.common.widgets import option_state

_KEY = "train_request"


def request_train(config: dict, name: str) -> None:
    """Ask the Train page to open with `config` in its fields and `name` as the run name."""
    st.session_state[_KEY] = {"config": dict(config), "name": name}


def apply_train_request() -> None:
    """Fill the Train page's fields from a pending request (once); call before drawing them."""
    request = st.session_state.pop(_KEY, None)
    if request is None:
        return
    config = request["config"]
    st.session_state.update(form_values(config, request["name"]))
    st.session_state.update(option_state(config.get("architecture", ""), "train", config.get("arch_options", {})))
    if config.get("augmentation"):
        st.session_state.update(train_augmentation=config["augmentation"], augmentation="augment_page")
