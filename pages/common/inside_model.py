"""A finished run's "Inside the model": try it on a photo, Grad-CAM heat maps of its mistakes, its first
layer's filters and its feature maps. The model is loaded once and shared by every session
(core/services/run_models.py); nothing is loaded until the user opens this part."""
import numpy as np
import pandas as pd
import streamlit as st

from core.errors import Refusal
from core.services import run_models, tracked_models
from core.views.display import escape_markdown
from core.views.image_grid import heat_overlay, map_grid
from pages.common.auth import current_actor
from pages.common.feature_maps import show_maps
from pages.common.image_picker import pick_image, waiting_for
from pages.common.widgets import refusal

CAM_IMAGES = 12


def _try_it(run_id: int, spec: run_models.ModelInput) -> None:
    image = pick_image(f"try_{run_id}", spec.dataset, drawing=spec.shape[2] == 1, dataset_first=True)
    if image is None:
        st.info(waiting_for(f"try_{run_id}"))
        return
    invert = spec.shape[2] == 1 and st.toggle(
        "Invert (MNIST-like digits are light on dark; a photo of ink on paper is dark on light)",
        key=f"try_inv_{run_id}")
    answer = run_models.classify(run_id, image, invert=invert, actor=current_actor())
    left, right = st.columns([1, 3])
    left.image(answer.seen, caption=f"what the model sees · {spec.shape[0]}×{spec.shape[1]}×{spec.shape[2]}",
               width=160)
    top = pd.DataFrame({"class": answer.classes[:5], "probability": answer.probabilities[:5]})
    right.dataframe(top, hide_index=True, key=f"try_top_{run_id}", column_config={
        "probability": st.column_config.ProgressColumn(min_value=0, max_value=1, format="percent")})
    st.caption(spec.how)


def _mistakes(run_id: int, predictions) -> tuple[list, list[str]]:
    """The kept misclassified test images of one confusion-matrix cell the user picks, and their labels."""
    if predictions is None or not len(predictions.mistakes):
        st.info("This run kept no misclassified test images to explain.")
        return [], []
    names = predictions.class_names
    cells = pd.Series([f"{names[t]} → {names[p]}" for t, p in zip(predictions.mistakes_true,
                                                                   predictions.mistakes_pred)])
    counts = cells.value_counts()
    cell = st.selectbox("Confusion-matrix cell (true → predicted)", list(counts.index), key=f"cam_cell_{run_id}",
                        format_func=lambda c: f"{c} · {counts[c]} image{'s' if counts[c] > 1 else ''}")
    chosen = np.flatnonzero(cells == cell)[:CAM_IMAGES]
    return ([predictions.mistakes[i] for i in chosen],
            [f"true {escape_markdown(names[predictions.mistakes_true[i]])}" for i in chosen])


def _test_images(run_id: int, names: tuple[str, ...]) -> tuple[list, list[str]]:
    """CAM_IMAGES test images from a position the user picks, and their labels."""
    start = int(st.number_input("From test image", 0, 10**6, 0, CAM_IMAGES, key=f"cam_start_{run_id}"))
    images, labels = run_models.test_images(run_id, start, CAM_IMAGES, actor=current_actor())
    if not len(images):
        st.info(f"The test split has fewer than {start + 1} images.")
    return list(images), [f"true {escape_markdown(names[int(label)])}" for label in labels]


def _grad_cam(run_id: int, predictions, spec: run_models.ModelInput) -> None:
    source = st.radio("Images", ("mistakes", "test"), horizontal=True, key=f"cam_source_{run_id}",
                      format_func={"mistakes": "misclassified, by confusion-matrix cell",
                                   "test": "test images in order"}.get)
    images, labels = _mistakes(run_id, predictions) if source == "mistakes" else _test_images(run_id, spec.class_names)
    if not images:
        return
    cams = run_models.grad_cams(run_id, images, actor=current_actor())
    st.image([heat_overlay(image, cam) for image, (cam, _) in zip(images, cams)], width=110,
             caption=[f"{label} · explains {escape_markdown(spec.class_names[index])}"
                      for label, (_, index) in zip(labels, cams)])
    st.caption("Red: the parts of the image that pushed the model most towards the class it explains (its answer), "
               "from the gradients of that class's score at the last conv layer (Grad-CAM).")


def _filters(layer: str, kernels: list) -> None:
    if not kernels:
        st.info("This model has no convolutional layer, so no filters to show.")
        return
    st.caption(f"{layer}: {len(kernels)} kernels of {kernels[0].shape[0]}×{kernels[0].shape[1]}, scaled "
               "together: black is the most negative weight, white the most positive")
    st.image(map_grid(tuple(kernels), columns=16), width=min(900, 60 * min(16, len(kernels))))


def _feature_maps(run_id: int, spec: run_models.ModelInput) -> None:
    image = pick_image(f"maps_{run_id}", spec.dataset, drawing=spec.shape[2] == 1, dataset_first=True)
    if image is not None:
        show_maps(run_models.feature_maps(run_id, image, actor=current_actor()))


def _guarded(body, *args) -> None:
    """One tab's content; a refusal is one line in that tab, and the other tabs still show."""
    try:
        body(*args)
    except Refusal as exc:
        st.error(refusal(exc), icon=":material/error:")


def inside_model(run_id: int, predictions) -> None:
    """The section, behind a toggle: loading a model takes a second or more the first time."""
    sent = tracked_models.sent_model_note(run_id, actor=current_actor())
    if sent:  # a student's file: never loaded here, said before anyone reaches for the toggle
        st.info(escape_markdown(sent), icon=":material/info:")
        return
    if not st.toggle("Look inside the model", key=f"inside_{run_id}",
                     help="Try it on a photo, see what it looks at, its filters and feature maps."):
        return
    try:
        spec = run_models.model_input(run_id, actor=current_actor())
        layer, kernels = run_models.filters(run_id, actor=current_actor())
    except run_models.NoModel as exc:
        st.error(refusal(exc), icon=":material/error:")
        return
    try_tab, cam_tab, filters_tab, maps_tab = st.tabs(["Try it", "Grad-CAM", "Filters", "Feature maps"])
    with try_tab:
        _guarded(_try_it, run_id, spec)
    with cam_tab:
        if kernels:
            _guarded(_grad_cam, run_id, predictions, spec)
        else:
            st.info("Grad-CAM weighs a convolutional layer's maps; this model has none (an MLP sees pixels, "
                    "not maps).")
    with filters_tab:
        _filters(layer, kernels)
    with maps_tab:
        _guarded(_feature_maps, run_id, spec)
