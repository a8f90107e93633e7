"""One image picker for the pages that pass a picture through a model: the shipped dog and cat (and the
user's sample folder), an upload, an image of a dataset, or a digit drawn in the browser."""
import numpy as np
import streamlit as st
from streamlit_drawable_canvas import st_canvas

from core.services import previews
from core.settings import load_settings

DRAW = "a digit I draw"


def waiting_for(key: str) -> str:
    """What the picker `key` waits for: a drawing on the canvas, or a photo to upload."""
    if st.session_state.get(f"{key}_source") == DRAW:
        return "Draw a digit in the box, white on black as MNIST's are (the bin above the box clears it)."
    return "Choose a photo (JPEG, PNG, BMP, GIF or WebP, up to 20 MB)."


def pick_image(key: str, dataset: str | None, drawing: bool = False, dataset_first: bool = False) -> np.ndarray | None:
    """The image the user chose (uint8), or None until there is one; widget keys start with `key`.
    `dataset`: offer its images (None or an image folder: not offered); `drawing`: offer a canvas, white
    on black as MNIST's digits are (for grey-scale models); `dataset_first`: open on the dataset's images (a
    trained model's own kind of picture, not the dog photo for a digits model)."""
    settings = load_settings()
    photos = previews.photos(settings)
    from_data = [f"an image of {dataset}"] if dataset and not dataset.startswith("folder:") else []
    row = st.columns([2, 3])
    choices = [*photos, "my photo", *from_data, *([DRAW] if drawing else [])]
    if dataset_first and from_data:
        choices = [*from_data, *[c for c in choices if c not in from_data]]
    source = row[0].selectbox("Image", choices, key=f"{key}_source")
    if source in photos:
        return previews.photo(photos[source])
    if source == DRAW:
        st.space(36)  # the canvas's toolbar shows above it on hover: it covered the Image selector's arrow
        canvas = st_canvas(stroke_width=18, stroke_color="#ffffff", background_color="#000000", height=224,
                           width=224, drawing_mode="freedraw", return_image_data=True, key=f"{key}_draw")
        return previews.drawing(canvas.image_data)
    if source == "my photo":
        upload = row[1].file_uploader("Photo", type=sorted(s.lstrip(".") for s in previews.SUFFIXES),
                                      key=f"{key}_upload")
        return None if upload is None else previews.uploaded_photo(upload.getvalue(), upload.name)
    pictures = previews.dataset_images(dataset, settings)
    index = int(row[1].number_input(f"Image number (0 to {len(pictures) - 1})", 0, len(pictures) - 1, 0,
                                    key=f"{key}_index"))
    return pictures[index]
