"""Pages hand work to another page through one session key each, never by writing its widgets' keys.

The Runs page's "Clone and edit" calls `request_train` and the Augment page's "Use this pipeline for
training" `request_augmentation`; the Train page calls `apply_train_request` before drawing its fields.
The Sweeps page's "Compare the top 5" calls `request_compare`; the Runs
page calls `apply_compare_request` before drawing its filters and picker. The Lessons page opens an
architecture on the Models page (`request_model`) and the assignment preset on the Sweeps page
(`request_assignment_preset`).
"""
import streamlit as st

from core.domain.train_form import TrainForm
from pages.common.widgets import option_state

_KEY = "train_request"


def request_train(config: dict, name: str) -> None:
    """Ask the Train page to open with `config` in its fields and `name` as the run name."""
    st.session_state[_KEY] = {"config": dict(config), "name": name}


def request_augmentation(steps: list[dict]) -> None:
    """Ask the Train page to train with this augmentation pipeline (the Augment page's)."""
    st.session_state["augmentation_request"] = list(steps)


def apply_train_request() -> None:
    """Fill the Train page's fields from a pending request (once); call before drawing them."""
    steps = st.session_state.pop("augmentation_request", None)
    if steps is not None:
        st.session_state.update(train_augmentation=steps, augmentation="augment_page")
    request = st.session_state.pop(_KEY, None)
    if request is None:
        return
    config = request["config"]
    form = TrainForm.from_config(config, request["name"])
    values = form.widget_values()
    if not form.train_augmentation:  # keep a pipeline the Augment page handed over
        values.pop("train_augmentation")
    st.session_state.update(values)
    st.session_state.update(option_state(form.architecture, "train", form.arch_options))


def request_compare(run_ids: list[int], sweep_id: int | None = None) -> None:
    """Ask the Runs page to compare `run_ids`, its table filtered to sweep `sweep_id` if given."""
    st.session_state["compare_request"] = {"runs": [int(i) for i in run_ids], "sweep": sweep_id}


def apply_compare_request() -> None:
    """Put a pending comparison into the Runs page's picker and sweep filter (once); call before drawing them."""
    request = st.session_state.pop("compare_request", None)
    if request is not None:
        st.session_state.update(compare_runs=request["runs"], f_sweep=request["sweep"])


def request_model(architecture: str, dataset: str | None) -> None:
    """Ask the Models page to show `architecture` on `dataset` (None: a typed 32×32×3 input, 10 classes)."""
    st.session_state["model_request"] = {"arch": architecture, "dataset": dataset}


def apply_model_request() -> None:
    """Put a pending architecture and input into the Models page's fields (once); call before drawing them."""
    request = st.session_state.pop("model_request", None)
    if request is None:
        return
    st.session_state["model_arch"] = request["arch"]
    if request["dataset"]:
        st.session_state.update(model_input="dataset", model_dataset=request["dataset"])
    else:
        st.session_state.update(model_input="shape", model_height=32, model_width=32, model_channels=3,
                                model_classes=10)


def request_assignment_preset() -> None:
    """Ask the Sweeps page to open its new-sweep form with the assignment preset loaded."""
    st.session_state["assignment_request"] = True


def assignment_requested() -> bool:
    """Whether the Sweeps page was asked to load the assignment preset (the request is used up)."""
    return bool(st.session_state.pop("assignment_request", False))
