"""The Models page for a model file (issue 31): what it is (figures, layers, diagram, a summary in words), and
scoring its own weights on a dataset's test split with the leaderboard of every model file scored there. All of
it from the description made when the file was added: this page never loads the file."""
import numpy as np
import plotly.express as px
import streamlit as st

from core.domain.model_files import ModelFile
from core.errors import Refusal
from core.services import model_files, scoring
from core.services.catalog import DatasetInfo
from core.settings import Settings
from core.views.display import escape_markdown
from core.views.model_files import diagram_dot, layer_table, leaderboard_table, summary_text
from pages.common.auth import current_actor
from pages.common.feature_maps import MAX_CHANNELS, show_maps
from pages.common.image_picker import pick_image, waiting_for
from pages.common.widgets import refusal


def model_file_view(model: ModelFile, datasets: list[DatasetInfo], settings: Settings) -> None:
    """Everything the Models page shows of model file `model`."""
    st.write(escape_markdown(summary_text(model)))
    figures = st.container(horizontal=True, gap="large")
    figures.metric("Parameters", f"{model.params:,}", width="content")
    figures.metric("Layers", sum(layer["type"] != "InputLayer" for layer in model.layers), width="content")
    figures.metric("Input", "×".join("any" if d is None else str(d) for d in model.input_shape), width="content")
    figures.metric("Classes", model.classes, width="content")
    actor = current_actor()
    controls = st.container(horizontal=True, gap="medium", vertical_alignment="center")
    if settings.classroom and actor is not None and actor.is_teacher:  # a laptop has no class to share with
        controls.toggle("Shared with the class", value=model.shared, key=f"share_{model.id}", on_change=_share,
                        args=(model.id, settings), help="Every student may then train it and score it.")
    if actor is None or actor.is_teacher or actor.name == model.owner:
        controls.button("Remove this model file", key=f"remove_{model.id}", icon=":material/delete:",
                        on_click=_remove, args=(model.id, settings),
                        help="Runs that trained it keep their own models and scores.")
    if st.session_state.get("share_said"):
        st.error(st.session_state.pop("share_said"))
    layers_tab, diagram_tab, maps_tab, score_tab = st.tabs(["Layers", "Diagram", "Feature maps",
                                                            "Score and leaderboard"])
    with layers_tab:
        table = layer_table(model)
        st.dataframe(table, hide_index=True, column_config={
            "layer": st.column_config.TextColumn(width="small"), "type": st.column_config.TextColumn(width="medium"),
            "inputs": st.column_config.TextColumn("inputs (skip connections)", width="medium"),
            "parameters": st.column_config.NumberColumn(format="localized", width="small"),
            "share": st.column_config.ProgressColumn("share of parameters", min_value=0, max_value=1,
                                                     format="percent", width="medium")})
        weighted = table[table["parameters"] > 0]
        if len(weighted):
            fig = px.bar(weighted, x="layer", y="parameters", color="type", height=320, title="Parameters per layer")
            fig.update_layout(margin=dict(l=10, r=10, t=40, b=10))
            st.plotly_chart(fig, key="file_param_chart")
    with diagram_tab:
        st.graphviz_chart(diagram_dot(model))
    with maps_tab:
        _maps_panel(model, datasets, settings)
    with score_tab:
        _score(model, datasets, settings)


@st.cache_resource(max_entries=8, show_spinner="Passing the image through the model, in a process of its own…")
def _maps(model_id: int, image: np.ndarray, who: str, _settings: Settings, _actor):
    """Shared by the sessions of one person (`who`): the same file and image give the same maps."""
    return model_files.feature_maps(model_id, image, _settings, _actor, limit=MAX_CHANNELS)


def _maps_panel(model: ModelFile, datasets: list[DatasetInfo], settings: Settings) -> None:
    """Pick an image, see it through the file's conv and pooling layers with the file's own weights."""
    if not any(layer["type"].startswith(("Conv", "MaxPool", "AveragePool", "SeparableConv", "DepthwiseConv"))
               for layer in model.layers):
        st.info("This model has no convolution or pooling layers to look into.")
        return
    st.caption("With the file's own weights, computed in a process of its own (never in this page's). The image is "
               "resized and scaled to 0..1 as training batches are; each channel is stretched to black..white on its "
               f"own; at most {MAX_CHANNELS} channels a layer.")
    if not st.toggle("Show the feature maps", key="fmf_show"):
        return
    fitting = [d for d in model_files.fitting(model, datasets, settings.max_params) if d.source != "folder"]
    try:
        image = pick_image("fmf", fitting[0].key if fitting else None, drawing=model.input_shape[-1] == 1)
        if image is None:
            st.info(waiting_for("fmf"))
            return
        actor = current_actor()
        show_maps(_maps(model.id, image, actor.name if actor else "", settings, actor))
    except Refusal as exc:
        st.error(refusal(exc), icon=":material/error:")


def _remove(model_id: int, settings: Settings) -> None:
    try:
        removed = model_files.remove(model_id, settings, current_actor())
    except Refusal as exc:
        st.session_state["share_said"] = refusal(exc)
    else:
        st.session_state["models_model_said"] = ("success", f"Removed {escape_markdown(removed.title)}.")


def _latest_score(model_id: int, dataset: str, settings: Settings) -> None:
    """Where this file's newest score on `dataset` stands: queued, scoring (looked at again every 2 s, and the tab
    redrawn with the leaderboard when it ends), failed with its reason, or done."""
    run = scoring.latest(model_id, dataset, settings, current_actor())
    if run is None or run.status == "succeeded":
        return

    @st.fragment(run_every=2 if run.status in ("queued", "running") else None)
    def _watch() -> None:
        now = scoring.latest(model_id, dataset, settings, current_actor())
        if now is not None and now.status != run.status:
            st.rerun()
        if run.status in ("queued", "running"):
            st.info(f"Run #{run.id} is {'waiting for a worker' if run.status == 'queued' else 'scoring the model'}…",
                    icon=":material/hourglass_top:")
        else:
            st.error(f"Run #{run.id} {run.status}: {escape_markdown(run.error or 'no reason recorded')}",
                     icon=":material/error:")

    _watch()


def _share(model_id: int, settings: Settings) -> None:
    try:
        model_files.share(model_id, bool(st.session_state.get(f"share_{model_id}")), settings, current_actor())
    except Refusal as exc:
        st.session_state["share_said"] = refusal(exc)


def _score(model: ModelFile, datasets: list[DatasetInfo], settings: Settings) -> None:
    """Score the file's own weights on a fitting dataset's test split; the leaderboard there."""
    fitting = {d.key: d for d in model_files.fitting(model, datasets, settings.max_params)}
    if not fitting:
        st.info(f"No dataset here has {'×'.join(map(str, model.input_shape))} images of {model.classes} classes: "
                "upload one on the Data page to score this model.")
        return
    st.caption("Scores the file's own weights on all of the dataset's test images, without training: every model "
               "scored there is ranked on the same images. To rank weights you trained here, download the run's "
               "model (.keras) and add it as a model file.")
    key = st.selectbox("Test set", list(fitting), key="score_dataset", format_func=lambda k: fitting[k].title)
    if st.button("Score it", key="score_model", icon=":material/leaderboard:"):
        try:  # its run's state shows below, looked at again until it ends
            scoring.evaluate(model.id, key, settings, current_actor())
        except Refusal as exc:
            st.error(refusal(exc), icon=":material/error:")
    _latest_score(model.id, key, settings)
    board = leaderboard_table(scoring.leaderboard(key, settings, current_actor()))
    st.markdown(f"**Leaderboard on {escape_markdown(fitting[key].title)}**")
    if board.empty:
        st.caption("No model file has been scored on it yet.")
    else:
        st.dataframe(board, hide_index=True, column_config={
            "test accuracy": st.column_config.NumberColumn(format="%.2f %%"),
            "test loss": st.column_config.NumberColumn(format="%.4f"),
            "test images": st.column_config.NumberColumn(format="localized")})
