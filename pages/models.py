"""Models page: layers, parameter counts, memory, conv arithmetic, diagram and code of an architecture."""
import json

import plotly.express as px
import streamlit as st

from core.domain.architectures import ARCHITECTURES, ArchitectureError
from core.domain.conv_arithmetic import conv_formula, conv_output_size
from core.services import catalog, models
from core.settings import load_settings
from core.views.model_charts import COMPARE_COUNTS, compare_figure
from pages.common.auth import current_actor
from pages.common.feature_maps import feature_maps_panel
from pages.common.handoff import apply_model_request
from pages.common.model_file_view import model_file_view
from pages.common.model_picker import add_model_expander, architecture_select
from pages.common.nav import page_setup
from pages.common.widgets import architecture_options, number, refusal


@st.cache_resource(max_entries=16, show_spinner="Building the model…")
def _report(arch_key: str, shape: tuple, num_classes: int, options_json: str) -> models.ModelReport:
    """Building a model takes up to seconds (ResNet-50): keep recent reports across reruns."""
    return models.report(arch_key, shape, num_classes, json.loads(options_json))


@st.cache_resource(max_entries=8, show_spinner="Building the models…")
def _compare(keys: tuple, shape: tuple, num_classes: int):
    return models.compare(list(keys), shape, num_classes)


page_setup("pages/models.py")
st.title("Models")
settings = load_settings()
datasets = {d.key: d for d in catalog.entries(settings, current_actor()) if d.available}
apply_model_request()  # e.g. the Lessons page's VGG16 lesson

left, right = st.columns([3, 2], gap="large")
with left:
    key, model_file = architecture_select("model_arch", settings)
    add_model_expander("models", "model_arch", settings)
if model_file is not None:  # a student's own file: described when it was added, never loaded here
    model_file_view(model_file, list(datasets.values()), settings)
    st.stop()
with left:
    if st.session_state.get("model_opened") != key:  # a newly chosen architecture opens on an input it takes
        st.session_state["model_opened"] = key
        fitting = models.input_for(key, list(datasets.values()), st.session_state.get("model_dataset"))
        if fitting:
            st.session_state.update(model_input="dataset", model_dataset=fitting)
        else:  # no dataset here fits: a typed shape, the lesson dataset's
            st.session_state.update(model_input="shape", model_typed_for=key)
            st.session_state.update({f"model_{k}": float(v) for k, v in models.typed_shape_for(key).items()})
    arch = ARCHITECTURES[key]
    st.caption(arch.description)
    st.write(arch.lesson)
with right:
    source = st.radio("Input", ("dataset", "shape"), horizontal=True, key="model_input",
                      format_func={"dataset": "a dataset's images", "shape": "a shape I type"}.get)
    if source == "shape" and st.session_state.get("model_typed_for") == key:  # switched for it: say why
        st.caption(models.why_no_dataset(key, list(datasets.values())))
    if source == "dataset":
        dataset = datasets[st.selectbox("Dataset", list(datasets), key="model_dataset",
                                        format_func=lambda k: datasets[k].title)]
        input_shape, classes = dataset.input_shape, dataset.num_classes
    else:
        dims = [*st.columns(2), *st.columns(2)]  # two by two: four across cut "height" to "heigh/t" at 1024 px
        for label, default in (("height", 32), ("width", 32), ("channels", 3), ("classes", 10)):
            st.session_state.setdefault(f"model_{label}", default)
        typed = [number(d, label, f"model_{label}") for d, label in zip(dims, ("height", "width", "channels",
                                                                             "classes"))]

try:
    if source == "shape":  # checked here: an out-of-range value is one line, and no stale model stays on screen
        input_shape, classes = models.typed_input(*typed)
    options = architecture_options(key, "model")
    if key == "resnet50_transfer" and options.get("weights") == "imagenet":
        st.caption("Counting parameters does not need the ImageNet weights: the page uses a random base.")
        options = {**options, "weights": "random"}
    report = _report(key, tuple(input_shape), classes, json.dumps(options, sort_keys=True))
except ArchitectureError as exc:
    hint = "; or choose \"a shape I type\" under Input" if source == "dataset" else ""
    st.error(refusal(exc) + hint, icon=":material/error:")
    st.stop()

recipe = arch.recipe
# Each figure as wide as it needs, wrapping onto a second row on a narrow screen: 17,061,834 whole.
figures = st.container(horizontal=True, gap="large")
figures.metric("Parameters", f"{report.totals.total:,}", width="content")
figures.metric("Trainable", f"{report.totals.trainable:,}", width="content")
figures.metric("Non-trainable", f"{report.totals.non_trainable:,}", width="content")
figures.metric("Layers with weights", report.depth, width="content")
figures.metric("Training memory", f"~{models.training_memory_mb(report, recipe.batch_size):,.0f} MB", width="content",
               help=f"At the recipe's batch size of {recipe.batch_size}. Weights {report.weights_mb:.1f} MB "
                    "(×4 with Adam's gradients and moments) plus "
                    f"{report.training_mb_per_sample:.2f} MB of activations per sample (×2 for backprop).")
st.caption(f"Course recipe: {recipe.optimizer} lr={recipe.learning_rate:g}"
           + (f", momentum {recipe.momentum:g}{' nesterov' if recipe.nesterov else ''}" if recipe.momentum else "")
           + f", batch {recipe.batch_size}, {recipe.epochs} epochs, {recipe.labels} labels"
           + (f", on {recipe.dataset}" if recipe.dataset else "")
           + (f" ({recipe.train_subset:,} train / {recipe.test_subset:,} test)" if recipe.train_subset else ""))

layers_tab, conv_tab, maps_tab, diagram_tab, code_tab, compare_tab = st.tabs(
    ["Layers", "Conv arithmetic", "Feature maps", "Diagram", "Code", "Compare"])
with layers_tab:
    st.dataframe(report.layers, hide_index=True, column_config={
        "parameters": st.column_config.NumberColumn(format="localized"),
        "trainable parameters": st.column_config.NumberColumn(format="localized"),
        "non-trainable parameters": st.column_config.NumberColumn(format="localized"),
        "share": st.column_config.ProgressColumn("share of parameters", min_value=0, max_value=1, format="percent"),
    })
    weighted = report.layers[report.layers["parameters"] > 0]
    fig = px.bar(weighted, x="layer", y="parameters", color="type", height=320, title="Parameters per layer")
    fig.update_layout(margin=dict(l=10, r=10, t=40, b=10))
    st.plotly_chart(fig, key="param_chart")
with conv_tab:
    if report.conv_rows.empty:
        st.info("This model has no convolution or pooling layers.")
    else:
        st.dataframe(report.conv_rows, hide_index=True)
    st.markdown("**Calculator**: one conv or pool layer")
    calc = st.columns(4)
    size = int(calc[0].number_input("Input size", 1, 4096, 32, key="calc_size"))
    kernel = int(calc[1].number_input("Kernel", 1, 64, 3, key="calc_kernel"))
    stride = int(calc[2].number_input("Stride", 1, 64, 1, key="calc_stride"))
    padding = calc[3].selectbox("Padding", ("same", "valid", "1", "2", "3"), key="calc_padding")
    padding_value = padding if padding in ("same", "valid") else int(padding)
    if conv_output_size(size, kernel, stride, padding_value) < 1:
        st.error(f"kernel: {kernel} is larger than the padded input ({size}); use a smaller kernel or more padding")
    else:
        st.code(f"output = {conv_formula(size, kernel, stride, padding_value)}", language="text")
with maps_tab:
    feature_maps_panel(key, tuple(input_shape), classes, options,
                       dataset.key if source == "dataset" and dataset.source != "folder" else None,
                       has_maps=not report.conv_rows.empty)
with diagram_tab:
    if len(report.layers) > 60:
        st.info(f"{len(report.layers)} layers: the diagram is large; scroll and zoom in it.")
    st.graphviz_chart(report.graph_dot)
with code_tab:
    st.code(report.code, language="python")
with compare_tab:
    chosen = st.multiselect("Architectures", list(ARCHITECTURES), default=["deep_mlp", "small_cnn"],
                            key="compare_archs", format_func=lambda k: ARCHITECTURES[k].title)
    if chosen:
        table = _compare(tuple(chosen), tuple(input_shape), classes)
        st.dataframe(table, hide_index=True, column_config={
            column: st.column_config.NumberColumn(format="localized") for column in COMPARE_COUNTS})
        st.plotly_chart(compare_figure(table, input_shape), key="compare_chart")
