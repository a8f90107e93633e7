"""Train page: choose data, model and optimizer (or the course recipe), then queue a run."""
import streamlit as st

from core.domain.architectures import ARCHITECTURES
from core.domain.config import (
    IMAGE_SIZE_RANGE,
    LABEL_ENCODINGS,
    LABELS_HELP,
    LR_SCHEDULES,
    OPTIMIZERS,
    SPLIT_MODES,
    TRAINING_MODES,
    augmentation_effect,
    recipe_settings,
)
from core.domain.train_form import AUGMENTATION_CHOICES, FIELD_LABELS, TrainForm
from core.errors import Refusal
from core.services import capacity, catalog, classroom, jobs
from core.settings import load_settings
from core.views.display import cluster_line, escape_links, escape_markdown
from pages.common.auth import current_actor
from pages.common.handoff import apply_train_request
from pages.common.live import warm_workers_once
from pages.common.model_picker import add_model_expander, architecture_select, chosen_options
from pages.common.nav import page_setup
from pages.common.started_run import started_run_view
from pages.common.widgets import number, refusal

page_setup("pages/train.py")
st.title("Train")
st.caption("Pick a dataset, a model and an optimizer, then press Start. Runs train in the background; "
           "you can start several in a row and watch them on the Runs page.")

apply_train_request()  # a run cloned on the Runs page: its settings fill the fields below
settings = load_settings()
warm_workers_once()
datasets = {d.key: d for d in catalog.entries(settings, current_actor())}
# Widget values live in session state (set once), so the recipe button and a clone can change them.
for name, value in TrainForm().widget_values().items():
    st.session_state.setdefault(name, value)


def _apply_recipe() -> None:
    """Set the optimizer and data settings to the chosen preset's course recipe; say what did not apply."""
    recipe = ARCHITECTURES[st.session_state["architecture"]].recipe
    values, note = recipe_settings(recipe, st.session_state["dataset"], datasets, settings.max_epochs)
    values.update(train_subset=values["train_subset"] or 0, test_subset=values["test_subset"] or 0)
    st.session_state.update(values)
    st.session_state["recipe_note"] = note


data_col, opt_col = st.columns([4, 3], gap="large")  # the data side's names are the longer ones
with data_col:
    st.subheader("Data and model")
    dataset_key = st.selectbox(
        "Dataset", list(datasets), key="dataset",
        format_func=lambda k: datasets[k].title + ("" if datasets[k].available else " — not on this machine"),
    )
    info = datasets[dataset_key]
    if info.available:
        st.caption(f"{info.train_size:,} training / {info.test_size:,} test images, "
                   f"{'×'.join(map(str, info.input_shape))}, {info.num_classes} classes · "
                   f"{escape_markdown(info.location)}")
    else:
        st.warning(f"{escape_markdown(info.title)} is not on this machine: {escape_links(info.hint)}")
        st.page_link("pages/data.py", label="Download it on the Data page", icon=":material/dataset:")
    image_size = st.session_state["image_size"]
    if info.resizable:
        image_size = number(st, f"Image size (pixels per side, {IMAGE_SIZE_RANGE[0]} to {IMAGE_SIZE_RANGE[1]})",
                            "image_size", step=8, help="Images of the folder are resized to this square.")
    architecture, model_file = architecture_select("architecture", settings)
    arch_options, options_error = chosen_options(architecture, model_file, "train", _apply_recipe)
    add_model_expander("train", "architecture", settings)
    subset_cols = st.columns(2)
    train_subset = number(subset_cols[0], f"Training samples (0 = all {info.train_size:,})", "train_subset", step=100,
                                               help="A stratified subset: every class keeps its share.")
    test_subset = number(subset_cols[1], f"Test samples (0 = all {info.test_size:,})", "test_subset", step=100)
    split_cols = st.columns([2, 3])
    validation_split = split_cols[0].slider("Validation split", 0.0, 0.5, step=0.05, key="validation_split",
                                            help="Share of the training samples held out.")
    split_mode = split_cols[1].selectbox("Split", list(SPLIT_MODES), key="split_mode", format_func=SPLIT_MODES.get)
    labels = st.selectbox("Labels and loss", list(LABEL_ENCODINGS), key="labels", format_func=LABEL_ENCODINGS.get,
                          help=LABELS_HELP)
    choices = [c for c in AUGMENTATION_CHOICES if c != "augment_page" or st.session_state["train_augmentation"]]
    augmentation_key = st.selectbox(
        "Augmentation (training only)", choices, key="augmentation", format_func=AUGMENTATION_CHOICES.get,
        help="Applied to training batches only. Build your own on the Augment page.")
    seed = number(st, "Seed", "seed",
                           help="Same seed, same subset, split, shuffling and initial weights.")

with opt_col:
    st.subheader("Optimizer and schedule")
    optimizer = st.selectbox("Optimizer", list(OPTIMIZERS), key="optimizer", format_func=OPTIMIZERS.get)
    learning_rate = number(st, "Learning rate", "learning_rate", step=1e-4)
    lr_schedule = st.selectbox("Learning-rate schedule", list(LR_SCHEDULES), key="lr_schedule",
                               format_func=LR_SCHEDULES.get,
                               help="Cosine decay lowers the rate smoothly to 0 by the last batch.")
    momentum, nesterov = TrainForm.momentum, TrainForm.nesterov
    if optimizer == "sgd":
        momentum = number(st, "Momentum", "momentum", step=0.05)
        nesterov = st.checkbox("Nesterov momentum", key="nesterov")
    batch_size = number(st, "Batch size", "batch_size")
    epochs = number(st, f"Epochs (at most {classroom.epoch_cap(current_actor(), settings)})", "epochs")
    training_mode = st.selectbox("Training mode", list(TRAINING_MODES), key="training_mode",
                                 format_func=TRAINING_MODES.get, help="How the training step is compiled. Fastest: "
                                 "Train Lab times Keras' default, 16 steps a call and XLA with it on the run's first "
                                 "steps (once per model, batch and machine; runs of 1,000 steps or more) and takes the "
                                 "fastest with the same loss when it is at least 1.1 × faster; the run's page says "
                                 "which and by how much. Or force one to compare them.")
    cpus, gpus = 0, "default"  # where the run trains: asked of a Ray cluster only (README: Running on several machines)
    if settings.executor == "ray":
        cluster_cols = st.columns(2)
        cpus = number(cluster_cols[0], "Cluster CPUs", "cpus",
                      help=f"CPU threads this run asks the Ray cluster for; 0: the default, {settings.run_cpus}.")
        gpus = cluster_cols[1].selectbox("Cluster GPUs", ("default", "0", "1"), key="gpus", format_func=lambda g: (
            f"default ({settings.run_gpus})" if g == "default" else g), help="GPUs this run asks the cluster for.")
    name = st.text_input("Run name (optional)", key="name")
    notes = st.text_area("Notes (optional)", key="notes", height=80)

form = TrainForm(
    dataset=dataset_key, architecture=architecture, arch_options=arch_options, optimizer=optimizer,
    learning_rate=learning_rate, lr_schedule=lr_schedule, momentum=momentum, nesterov=nesterov,
    batch_size=batch_size, epochs=epochs, validation_split=validation_split, split_mode=split_mode, labels=labels,
    train_subset=train_subset, test_subset=test_subset, image_size=image_size, augmentation=augmentation_key,
    train_augmentation=st.session_state["train_augmentation"], seed=seed, training_mode=training_mode, name=name,
    notes=notes, cpus=cpus, gpus=gpus,
)
try:  # said before Start: a photo pipeline on 8×8 digits resizes them to 224×224, a model 150 times the size
    effect = augmentation_effect(form.to_config(resizable=info.resizable), settings)
except Refusal:  # refused by name at Start
    effect = None
if effect:
    st.warning(effect, icon=":material/photo_size_select_large:")
if st.button("▶ Start training", type="primary", key="start", disabled=options_error is not None):
    try:
        run_id = jobs.submit(form.to_config(resizable=info.resizable), settings, actor=current_actor())
    except Refusal as exc:  # named as the page labels the field
        st.error(refusal(exc, FIELD_LABELS), icon=":material/error:")
    else:
        st.session_state["train_started"] = run_id
        st.success(f"Run #{run_id} queued. Start another, or watch it train.", icon=":material/check_circle:")

started_run_view()

summary = jobs.summary(settings, actor=current_actor())
if settings.executor == "ray":  # the nodes read once: their line and their runs at once agree
    nodes = capacity.cluster_nodes_seen(settings)
    where = cluster_line(nodes, capacity.runs_at_once(settings, nodes=nodes), settings.run_cpus, settings.run_gpus)
else:
    where = f"worker pool {'up' if summary.pool_running else 'starts with the next run'} ({summary.workers} at a time)"
st.caption(f"Now: {summary.running} running, {summary.queued} queued · {where}")
