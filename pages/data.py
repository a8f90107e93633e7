"""Data page: which datasets this machine has, downloads, uploads, and a look inside one."""
import streamlit as st

from core.services import catalog
from core.settings import load_settings
from core.views import data_stats
from core.views.display import catalog_table, escape_links, escape_markdown, missing_hints, size_text
from pages.common.auth import current_actor
from pages.common.nav import page_setup
from pages.common.widgets import refusal

page_setup("pages/data.py")
st.title("Data")
settings = load_settings()
entries = catalog.entries(settings, current_actor())

st.dataframe(catalog_table(entries), hide_index=True, key="catalog", column_config={
    "dataset": st.column_config.TextColumn(width=180), "status": st.column_config.TextColumn(width=190)})
hints = missing_hints(entries)
if hints:
    st.markdown("**Not on this machine yet**\n\n" + "\n".join(
        f"- {escape_markdown(title)}: {escape_links(hint.replace('on the Data page', 'below'))}"  # this is it
        for title, hint in hints))  # our hints keep their `code`
actor = current_actor()
if actor is not None and not actor.is_teacher:  # the server's folders are the teacher's business
    st.caption("Image folders on the class's server are added by the teacher; add your own below as a .zip of "
               "class folders.")
else:
    st.caption(f"Image folders: put one sub-folder per class (optionally inside train/ and test/) below "
               f"{settings.data_root}. Keras datasets are read from {settings.keras_home / 'datasets'}.")

missing = [d for d in entries if d.downloadable and not d.available]
with st.expander("Download a Keras dataset", expanded=bool(missing) and not any(
        d.available for d in entries if d.source == "keras")):
    if not missing:
        st.write("Every Keras dataset is already on this machine.")
    else:
        key = st.selectbox("Dataset", [d.key for d in missing], key="download_key",
                           format_func=lambda k: next(d.title for d in missing if d.key == k))
        if st.button("Download", key="download"):
            bar = st.progress(0.0, text="Starting…")
            result = catalog.download(
                key, lambda fraction, mb: bar.progress(fraction, text=f"{mb:.1f} MB"), settings)
            bar.empty()
            (st.success if result.ok else st.error)(result.message)

def _uploader_key() -> str:
    # A new key after each save: Streamlit then drops the file it held in memory for the old widget.
    return f"upload_file_{st.session_state.get('upload_round', 0)}"


def _save_upload() -> None:
    """Runs before the page redraws, so the catalog above already lists a saved upload."""
    upload = st.session_state.get(_uploader_key())
    try:  # the file object itself: copied to disk in pieces and checked there, never copied whole in memory
        saved = catalog.save_upload(upload.name, st.session_state.get("upload_name", ""), upload, settings,
                                    current_actor())
    except catalog.UploadError as exc:
        st.session_state["upload_result"] = ("error", str(exc))
    else:
        st.session_state["upload_round"] = st.session_state.get("upload_round", 0) + 1
        st.session_state["upload_result"] = ("success", f"Saved as the dataset {saved}. It is now in the list "
                                                        "above and on the Train page.")


# Open while the student is at it (a result to read, a file chosen, a name typed): it closed after a refusal.
state = st.session_state
busy = "upload_result" in state or state.get(_uploader_key()) is not None or bool(state.get("upload_name"))
with st.expander("Upload your own data", expanded=busy):
    st.write("An `.npz` with `x_train, y_train, x_test, y_test` (images as uint8 0..255 or floats 0..1, "
             "integer labels), or a `.zip` of class folders of images. "
             f"Up to {settings.max_upload_mb} MB.")
    st.text_input("Dataset name", key="upload_name", max_chars=40, placeholder="e.g. my-dogs-vs-cats")
    upload = st.file_uploader("File", type=["npz", "zip"], key=_uploader_key())
    st.button("Save upload", key="upload_save", disabled=upload is None, on_click=_save_upload)
    if "upload_result" in st.session_state:
        kind, message = st.session_state.pop("upload_result")
        if kind == "success":
            st.success(escape_links(message))
        else:
            st.error(refusal(message))  # a student is not told the server's settings

st.subheader("Look inside")
available = [d for d in entries if d.available]
key = st.selectbox("Dataset", [d.key for d in available], key="inspect_key",
                   format_func=lambda k: next(d.title for d in available if d.key == k))
info = next(d for d in available if d.key == key)


@st.cache_resource(max_entries=2, show_spinner="Loading the dataset…")
def _load(dataset_key: str, image_size: int) -> catalog.ArrayDataset:
    return catalog.load(dataset_key, settings, image_size=image_size)


if info.source == "folder":
    # Decoding a whole image folder takes a while: the preview reads a few files instead.
    thumbs = data_stats.folder_thumbnails(info.key, settings, per_class=6)
    st.write(f"{info.train_size:,} training / {info.test_size:,} test images, {info.num_classes} classes · "
             f"{size_text(info.size_bytes)} in {escape_markdown(info.location)}")
    grid = st.columns(2)
    for i, (class_name, images) in enumerate(thumbs.items()):
        with grid[i % 2]:
            st.caption(escape_markdown(class_name))
            if images:
                st.image(images, width=80)
    st.plotly_chart(data_stats.class_distribution_chart(data_stats.folder_counts(info.key, settings)),
                    key="class_chart")
else:
    try:
        data = _load(info.key, catalog.DEFAULT_IMAGE_SIZE)
    except catalog.DatasetUnavailable as exc:
        st.error(refusal(exc))
        st.stop()
    st.write(f"{len(data.x_train):,} training / {len(data.x_test):,} test images, "
             f"{'×'.join(map(str, data.x_train.shape[1:]))} uint8, {len(data.class_names)} classes · "
             + (f"{size_text(info.size_bytes)} in " if info.size_bytes else "") + escape_markdown(info.location))
    shown = min(len(data.class_names), 20)
    per_class = st.slider("Samples per class", 1, 12, 6, key="samples_per_class")
    picks = data_stats.sample_indices(data.y_train, per_class, shown,
                                      seed=st.session_state.get("sample_seed", 0))
    if st.button("New samples", key="new_samples"):
        st.session_state["sample_seed"] = st.session_state.get("sample_seed", 0) + 1
        st.rerun()
    grid = st.columns(2)
    for c in range(shown):
        with grid[c % 2]:
            st.caption(f"{c} · {escape_markdown(data.class_names[c])}")
            st.image([data_stats.to_rgb(data.x_train[i]) for i in picks[c]], width=64, clamp=True)
    if shown < len(data.class_names):
        st.caption(f"Showing the first {shown} of {len(data.class_names)} classes.")
    left, right = st.columns(2)
    with left:
        st.markdown("**Images per class**")
        st.plotly_chart(data_stats.class_distribution_chart(data_stats.class_counts(data)), key="class_chart")
    with right:
        st.markdown("**Pixel statistics** (training images)")
        st.dataframe(data_stats.pixel_stats(data), hide_index=True, key="pixel_stats")
