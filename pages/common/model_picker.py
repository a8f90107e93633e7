"""The Architecture select of the Train and Models pages: the course's architectures, then the model files this
person may use (their own and the shared ones); a model file's caption and weights choice; and adding a model file
(.keras) from the browser, checked by the server before anything of it is loaded."""
import streamlit as st

from core.domain.architectures import ARCHITECTURES
from core.domain.model_files import ModelFile
from core.errors import Refusal
from core.services import model_files
from core.settings import Settings
from core.views.display import escape_markdown
from pages.common.auth import current_actor
from pages.common.widgets import architecture_options, refusal

WEIGHT_WORDS = {"fresh": "fresh (initialised from the seed)", "file": "the file's own (fine-tune them)"}


def architecture_select(key: str, settings: Settings) -> tuple[str, ModelFile | None]:
    """The select; (the chosen key, its model file or None for one of the course's architectures)."""
    titles, files = model_files.architecture_choices(settings, current_actor())
    if st.session_state.get(key) not in titles:  # a model file removed or no longer shared: the first one
        st.session_state[key] = next(iter(titles))
    chosen = st.selectbox("Architecture", list(titles), key=key, format_func=titles.get)
    return chosen, files.get(chosen)


def chosen_options(key: str, model: ModelFile | None, prefix: str, on_recipe=None) -> tuple[dict, str | None]:
    """The chosen architecture's text and options: a course architecture's description, lesson, recipe button
    (`on_recipe`, when given) and option controls, or a model file's caption and weights; (the options, the
    one-line refusal of options that cannot be read, or None)."""
    if model is not None:
        model_file_caption(model)
        return file_weights(prefix), None
    arch = ARCHITECTURES[key]
    st.caption(arch.description)
    with st.expander("What the lesson shows"):
        st.write(arch.lesson)
    if on_recipe is not None:
        st.button("Use the course recipe", key="apply_recipe", on_click=on_recipe,
                  help="Optimizer, learning rate, batch size, epochs, labels, split and subsets from the lesson.")
        if st.session_state.get("recipe_note"):
            st.info(st.session_state.pop("recipe_note"), icon=":material/info:")
    try:
        return architecture_options(key, prefix), None
    except Refusal as exc:
        st.error(str(exc))
        return {}, str(exc)


def model_file_caption(model: ModelFile) -> None:
    """What a model file takes and gives, and that the dataset must match it."""
    shape = "×".join("any" if d is None else str(d) for d in model.input_shape)
    st.caption(f"A model file: {model.params:,} parameters · takes {shape} inputs · {model.classes} classes. It "
               "trains on datasets of that image size and class count, with its layers as they were saved.")


def file_weights(prefix: str) -> dict:
    """The weights a model file's run starts from: fresh, or the file's own."""
    weights = st.radio("Weights", list(WEIGHT_WORDS), key=f"{prefix}_file_weights", horizontal=True,
                       format_func=WEIGHT_WORDS.get,
                       help="Fresh weights train the architecture from scratch; the file's own fine-tune a trained "
                            "model.")
    return {"weights": weights}


def add_model_expander(prefix: str, select_key: str, settings: Settings) -> None:
    """Upload a `.keras` file and a name; on success it is chosen in the select `select_key`."""
    state = st.session_state
    upload_key, result_key = f"{prefix}_model_file_{state.get(f'{prefix}_model_round', 0)}", f"{prefix}_model_said"
    with st.expander("Add your own model (.keras)", expanded=result_key in state or state.get(upload_key) is not None):
        st.write("Save it in your notebook with `model.save('mine.keras')`, trained or not. Built-in Keras layers "
                 "only (no Lambda layers, no custom classes): the file is checked before anything of it is loaded, "
                 "then loaded in a process of its own.")
        st.text_input("Model name", key=f"{prefix}_model_name", max_chars=40,
                      placeholder="the file's name, if left empty")
        upload = st.file_uploader("Model file", type=["keras"], key=upload_key)
        st.button("Add model", key=f"{prefix}_model_add", disabled=upload is None, on_click=_add,
                  args=(prefix, select_key, upload_key, result_key, settings))
        if result_key in state:
            kind, message = state.pop(result_key)
            (st.success if kind == "success" else st.error)(message)


def _add(prefix: str, select_key: str, upload_key: str, result_key: str, settings: Settings) -> None:
    """Runs before the page redraws, so the select above already lists (and shows) the new model file."""
    upload = st.session_state.get(upload_key)
    if upload is None:
        return
    name = st.session_state.get(f"{prefix}_model_name", "").strip() or model_files.name_from_file(upload.name)
    try:
        with st.spinner("Checking the model file…"):
            row = model_files.add_upload(upload.name, upload, name, settings, current_actor())
    except Refusal as exc:
        st.session_state[result_key] = ("error", refusal(exc))
        return
    st.session_state[f"{prefix}_model_round"] = st.session_state.get(f"{prefix}_model_round", 0) + 1
    st.session_state[f"{prefix}_model_name"] = ""  # the next file gets a name of its own
    st.session_state[select_key] = row.key
    st.session_state[result_key] = ("success", f"Added {escape_markdown(row.title)}: {row.params:,} parameters. "
                                               "It is chosen above.")
