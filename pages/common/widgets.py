"""Widgets shared by pages (not a page itself): number fields, the options of an architecture, refusals."""
import streamlit as st

from core.domain.architectures import ACTIVATIONS, ARCHITECTURES, blocks_text, parse_blocks, parse_int_list
from core.domain.config import whole
from core.domain.model_files import is_model_file
from core.domain.wording import in_page_words, without_setting_names
from core.settings import load_settings
from core.views.display import escape_links
from pages.common.auth import current_actor


def number(container, label: str, key: str, step: float = 1, **kwargs):
    """A number field with no range of its own, sending what was typed for core to check.

    Streamlit's ranged fields show an out-of-range value in red but keep sending the previous one
    (so Start queued a value the user no longer saw), and its integer fields read "1e3" as 1. So
    whole numbers use a float field too, returned as an int where they are whole (2.5 stays 2.5,
    for validation to refuse with the field's name).
    """
    if isinstance(st.session_state.get(key), int):  # a clone or a recipe may have stored an int
        st.session_state[key] = float(st.session_state[key])
    # value=None: a field emptied (or typed into with letters, which the browser drops) stays empty and is
    # refused by name at Start, instead of Streamlit putting 0 in its place unseen.
    kwargs.setdefault("value", None)
    return whole(container.number_input(label, step=float(step), format="%.15g", key=key, **kwargs))


def option_state(key: str, prefix: str, options: dict) -> dict:
    """Session-state values that make `architecture_options` show `options` (used to clone a run)."""
    if is_model_file(key):  # a model file's one option has its own widget (pages/common/model_picker.py)
        return {f"{prefix}_file_weights": options.get("weights", "fresh")}
    state = {}
    for name, value in options.items():
        if name == "hidden_units":
            state[f"{prefix}_hidden_units"] = ", ".join(map(str, value))
        elif name == "blocks" and key == "custom_cnn":
            state[f"{prefix}_blocks"] = blocks_text(value)
        elif name == "blocks":
            state[f"{prefix}_res_blocks"] = value
        else:
            state[f"{prefix}_{name}"] = value
    return state


def architecture_options(key: str, prefix: str) -> dict:
    """Controls for the chosen architecture's options; returns the options as typed (checked in core)."""
    defaults = ARCHITECTURES[key].options
    if not defaults:
        return {}
    # Values live in session state (set once), so a cloned run can fill them in.
    for name, value in option_state(key, prefix, defaults).items():
        st.session_state.setdefault(name, value)
    options: dict = {}
    cols = st.columns(2)
    if "hidden_units" in defaults:
        text = cols[0].text_input("Hidden layer widths", key=f"{prefix}_hidden_units",
                                  help="Comma-separated, e.g. 512, 256")
        options["hidden_units"] = parse_int_list(text, "hidden_units")
    if "blocks" in defaults and key == "custom_cnn":
        text = cols[0].text_input("Blocks", key=f"{prefix}_blocks",
                                  help="filters x convolutions, p = 2x2 max-pool after the block; e.g. 32x2p, 64x2p")
        options["blocks"] = parse_blocks(text)
    if "activation" in defaults:
        options["activation"] = cols[1].selectbox("Activation", ACTIVATIONS, key=f"{prefix}_activation")
    if "head" in defaults:
        options["head"] = cols[1].selectbox("Head", ("gap", "flatten"), key=f"{prefix}_head",
                                            format_func={"gap": "global average pooling", "flatten": "flatten"}.get)
    if "dense_units" in defaults:
        options["dense_units"] = number(cols[1], "Dense units (0 = none)", f"{prefix}_dense_units")
    if "dropout" in defaults:
        options["dropout"] = cols[0].slider("Dropout", 0.0, 0.9, step=0.05, key=f"{prefix}_dropout")
    if "batch_norm" in defaults:
        options["batch_norm"] = cols[1].checkbox("BatchNormalization", key=f"{prefix}_batch_norm")
    if "num_kernels" in defaults:
        options["num_kernels"] = number(cols[0], "Kernels per conv", f"{prefix}_num_kernels")
        options["kernel_size"] = cols[1].selectbox("Kernel size", (1, 3, 5, 7), key=f"{prefix}_kernel_size")
        options["blocks"] = number(cols[0], "Residual blocks", f"{prefix}_res_blocks")
    if "weights" in defaults:
        options["weights"] = cols[0].radio("Base weights", ("imagenet", "random"), key=f"{prefix}_weights",
                                           horizontal=True,
                                           help="ImageNet weights download on first use (needs network).")
    return options


def refusal(error: Exception | str, labels: dict[str, str] | None = None) -> str:
    """A refusal as this page words it, for the one reading it: a field named by its label here (`labels`), the
    server's settings (TRAINLAB_…) named only to whoever can change them (the operator, a teacher), links
    inert (the text may quote what a student typed)."""
    text = in_page_words(str(error), labels or {})
    actor = current_actor()  # None: a laptop's user, who runs the server (or a classroom session signed out)
    may_change_settings = actor.is_teacher if actor is not None else not load_settings().classroom
    return escape_links(text if may_change_settings else without_setting_names(text))
