"""Augment page: build a pipeline of Keras preprocessing layers and see it on a dog, a cat, or your photo."""
import streamlit as st

from core.domain import augment
from core.errors import Refusal
from core.services import catalog, previews
from core.settings import load_settings
from core.views.image_grid import grid_png
from pages.common.auth import current_actor
from pages.common.handoff import request_augmentation
from pages.common.nav import page_setup
from pages.common.widgets import refusal

page_setup("pages/augment.py")
st.title("Augment")
st.caption("Build a pipeline of Keras preprocessing layers and see many augmented copies of a photo. "
           "Copy the code, or train with it.")
settings = load_settings()

if "aug_spec" not in st.session_state:
    st.session_state["aug_spec"] = [dict(s, id=f"p{i}") for i, s in enumerate(augment.preset("dog"))]
    st.session_state["aug_next_id"] = 100
    st.session_state["aug_seed"] = 0


def _new_id() -> str:
    st.session_state["aug_next_id"] += 1
    return f"s{st.session_state['aug_next_id']}"


def _load_preset(name: str) -> None:
    st.session_state["aug_spec"] = [dict(s, id=_new_id()) for s in augment.preset(name)]


def _move(index: int, offset: int) -> None:
    spec = st.session_state["aug_spec"]
    j = index + offset
    if 0 <= j < len(spec):
        spec[index], spec[j] = spec[j], spec[index]


def _remove(index: int) -> None:
    st.session_state["aug_spec"].pop(index)


# -- the image ------------------------------------------------------------------------------
photos = previews.photos(settings)
source = st.radio("Image", ("sample", "upload", "dataset"), horizontal=True, key="aug_source",
                  format_func={"sample": "sample photo", "upload": "my photo", "dataset": "from a dataset"}.get)
image = None
try:
    if source == "sample":
        if not photos:  # only when assets/ was removed from the install
            st.info("No sample photos: upload your own photo, or set TRAINLAB_SAMPLES_DIR to a folder of photos.")
            st.stop()
        image = previews.photo(photos[st.selectbox("Photo", list(photos), key="aug_photo")])
    elif source == "upload":
        upload = st.file_uploader("Photo", type=sorted(s.lstrip(".") for s in previews.SUFFIXES), key="aug_upload")
        if upload is None:
            st.info("Choose a photo (JPEG, PNG, BMP, GIF or WebP, up to 20 MB).")
            st.stop()
        image = previews.uploaded_photo(upload.getvalue(), upload.name)
    else:
        choices = [d for d in catalog.entries(settings, current_actor()) if d.available and d.source != "folder"]
        key = st.selectbox("Dataset", [d.key for d in choices], key="aug_dataset",
                           format_func=lambda k: next(d.title for d in choices if d.key == k))
        pictures = previews.dataset_images(key, settings)
        index = int(st.number_input(f"Image number (0 to {len(pictures) - 1})", 0, len(pictures) - 1, 0,
                                    key="aug_index"))
        image = previews.as_rgb(pictures[index])
except Refusal as exc:
    st.error(refusal(exc))
    st.stop()
height, width = image.shape[:2]

# -- the pipeline ---------------------------------------------------------------------------
st.subheader("Pipeline")
presets = st.container(horizontal=True)  # buttons as wide as their labels, wrapping on a narrow screen
presets.button("Dog preset", key="aug_preset_dog", on_click=_load_preset, args=("dog",),
                  help="Resizing(224, 224), Rescaling(1/255), RandomCrop(150, 200)")
presets.button("Cat preset", key="aug_preset_cat", on_click=_load_preset, args=("cat",),
                  help="Resizing(224, 224), Rescaling(1/255), RandomFlip(), RandomRotation(0.5)")
presets.button("Clear", key="aug_clear", on_click=lambda: st.session_state.update(aug_spec=[]))

spec = st.session_state["aug_spec"]
h, w = height, width
for i, step in enumerate(spec):
    with st.container(border=True):
        head = st.columns([6, 1, 1, 1])
        head[0].markdown(f"**{i + 1}. {step['layer']}**")
        head[0].caption(previews.layer_summary(step["layer"]))
        head[1].button("↑", key=f"aug_up_{step['id']}", on_click=_move, args=(i, -1), disabled=i == 0)
        head[2].button("↓", key=f"aug_down_{step['id']}", on_click=_move, args=(i, 1), disabled=i == len(spec) - 1)
        head[3].button("✕", key=f"aug_remove_{step['id']}", on_click=_remove, args=(i,))
        params = augment.LAYERS[step["layer"]]
        cols = st.columns(max(1, len(params)))
        for col, p in zip(cols, params):
            key = f"aug_{step['id']}_{p.name}"
            current = step["params"].get(p.name, p.default)
            if p.kind == "int_side":
                # Not clamped to the image: a crop too large gets a message naming the step instead.
                value = int(col.number_input(p.name, 1, 4096, int(current), key=key,
                                             help=f"this step receives {h}×{w}"))
            elif p.kind == "number":
                value = col.number_input(p.name, float(p.low), float(p.high), float(current), key=key,
                                         format="%g", help=p.help or None)
            elif p.kind == "float":
                value = col.slider(p.name, float(p.low), float(p.high), float(current), 0.01, key=key,
                                   help=p.help or None)
            else:
                value = col.selectbox(p.name, p.choices, index=p.choices.index(current), key=key)
            step["params"][p.name] = value
        if step["layer"] in augment.SHAPE_LAYERS:
            h, w = step["params"]["height"], step["params"]["width"]

adder = st.columns([3, 1], vertical_alignment="bottom")
new_layer = adder[0].selectbox("Add a layer", list(augment.LAYERS), key="aug_new_layer")
if adder[1].button("Add", key="aug_add"):
    spec.append(dict(augment.default_step(new_layer, h, w), id=_new_id()))
    st.rerun()

# -- the samples ----------------------------------------------------------------------------
st.subheader("Samples")
controls = st.columns([2, 1, 1], vertical_alignment="bottom")
count = controls[0].slider("Augmented copies", 1, 24, 8, key="aug_count")
controls[1].number_input("Seed", 0, 10**6, key="aug_seed")
controls[2].button("New samples", key="aug_new_samples",
                   on_click=lambda: st.session_state.update(aug_seed=st.session_state["aug_seed"] + 1))
clean_spec = [{"layer": s["layer"], "params": dict(s["params"])} for s in spec]
try:
    samples = previews.samples(image, clean_spec, count, seed=int(st.session_state["aug_seed"]))
except augment.AugmentError as exc:
    st.error(refusal(exc))
    st.stop()

left, right = st.columns([1, 3])
left.image(image, caption=f"original · {height}×{width}", width="stretch")
right.image(samples.images, width=150)
st.caption(f"Output shape {samples.output_shape} · values from {samples.value_range[0]:.3f} "
           f"to {samples.value_range[1]:.3f}")
st.caption("Each copy here is its own random draw. In training, Keras' random layers act on whole batches: "
           "most draw a new transform for every image, but RandomCrop picks one crop position per batch "
           "(and RandomGaussianBlur one blur strength), so the images of a batch share it and the next "
           "batch gets another. At evaluation random layers do nothing; a RandomCrop becomes a centre crop of "
           "the same size.")
code = augment.code(clean_spec, seed=int(st.session_state["aug_seed"]))
st.code(code, language="python")
actions = st.columns(2)
actions[0].download_button("Download the grid (PNG)", grid_png(samples.images), "augmented.png", "image/png",
                           key="aug_download")
if actions[1].button("Use this pipeline for training", key="aug_use"):
    request_augmentation(clean_spec)
    st.success("The Train page now trains with this pipeline (Augmentation: “from the Augment page”).")
    st.page_link("pages/train.py", label="Go to Train", icon=":material/model_training:")
