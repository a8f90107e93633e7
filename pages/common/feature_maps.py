"""Feature maps: what each conv and pooling layer of an (untrained) architecture makes of a photo, as
image grids beside the layer's output shape. Used by the Models page and the Lessons page's conv lesson."""
import json

import numpy as np
import streamlit as st

from core.errors import Refusal
from core.services import models
from core.views.image_grid import map_grid
from pages.common.image_picker import pick_image, waiting_for
from pages.common.widgets import refusal

MAX_CHANNELS = 16


@st.cache_resource(max_entries=8, show_spinner="Passing the photo through the layers…")
def _maps(key: str, shape: tuple, classes: int, options_json: str, image: np.ndarray):
    """Shared by every session: the same architecture and image give the same maps (weights from a fixed seed)."""
    return models.feature_maps(key, shape, classes, json.loads(options_json), image, limit=MAX_CHANNELS)


def feature_maps_view(key: str, shape: tuple, classes: int, options: dict, image: np.ndarray) -> None:
    """An untrained architecture's feature maps for `image`."""
    show_maps(_maps(key, tuple(shape), classes, json.dumps(options, sort_keys=True), image))


def show_maps(maps: list[models.LayerMaps]) -> None:
    """Each conv/pool layer's output shape beside its first channels as pictures."""
    if not maps:
        st.info("This model has no convolution or pooling layers to look into.")
    for layer in maps:
        h, w, c = layer.output_shape
        left, right = st.columns([1, 4])
        left.markdown(f"**{layer.name}** · {layer.kind}")
        left.caption(f"output {h}×{w}×{c}" + (f" · first {len(layer.channels)} of {c} channels"
                                                  if len(layer.channels) < c else ""))
        right.image(map_grid(layer.channels), width=min(900, 110 * min(8, len(layer.channels))))


def feature_maps_panel(key: str, shape: tuple, classes: int, options: dict, dataset: str | None,
                       has_maps: bool) -> None:
    """The Models page's tab: pick an image, see it through the architecture's conv and pooling layers."""
    if not has_maps:
        st.info("This model has no convolution or pooling layers to look into.")
        return
    st.caption(f"The image is resized to the model's input ({shape[0]}×{shape[1]}×{shape[2]}) and scaled to 0..1 "
               "exactly as training batches are; the weights are random (untrained), drawn from a fixed seed. "
               f"Each channel is stretched to black..white on its own; at most {MAX_CHANNELS} channels a layer.")
    # Tabs run even when hidden: the maps (a forward pass, many images) are made only when asked for.
    if not st.toggle("Show the feature maps", key="fm_show"):
        return
    try:
        image = pick_image("fm", dataset, drawing=shape[2] == 1)
    except Refusal as exc:
        st.error(refusal(exc), icon=":material/error:")
        return
    if image is None:
        st.info(waiting_for("fm"))
        return
    feature_maps_view(key, shape, classes, options, image)
