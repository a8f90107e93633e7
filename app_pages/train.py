"""Train page: choose data, model and optimizer, then queue a run."""
import streamlit as st

from core import jobs
from core.architectures import ARCHITECTURES
from core.config import IMAGE_SIZE_RANGE, LABEL_ENCODINGS, OPTIMIZERS, SPLIT_MODES, ConfigError, TrainConfig
from core.datasets import catalog
from core.settings import load_settings

st.title("Train")
st.caption("Pick a dataset, a model and an optimizer, then press Start. Runs train in the background; "
           "you can start several in a row and watch them on the Runs page.")

settings = load_settings()
datasets = {d.key: d for d in catalog(settings)}
defaults = TrainConfig()

data_col, opt_col = st.columns(2, gap="large")
with data_col:
    st.subheader("Data and model")
    dataset_key = st.selectbox(
        "Dataset", list(datasets), key="dataset",
        format_func=lambda k: datasets[k].title + ("" if datasets[k].available else " — not on this machine"),
    )
    info = datasets[dataset_key]
    if info.available:
        st.caption(f"{info.train_size:,} training / {info.test_size:,} test images, "
                   f"{'×'.join(map(str, info.input_shape))}, {info.num_classes} classes · {info.location}")
    else:
        st.warning(f"{info.title} is not on this machine: {info.hint}")
        st.page_link("app_pages/data.py", label="Download it on the Data page", icon=":material/dataset:")
    image_size = defaults.image_size
    if info.resizable:
        image_size = st.number_input("Image size (pixels per side)", *IMAGE_SIZE_RANGE, value=defaults.image_size,
                                     step=8, key="image_size", help="Images of the folder are resized to this square.")
    architecture = st.selectbox("Architecture", list(ARCHITECTURES), key="architecture",
                                format_func=lambda k: ARCHITECTURES[k].title)
    st.caption(ARCHITECTURES[architecture].description)
    subset_cols = st.columns(2)
    train_subset = subset_cols[0].number_input(f"Training samples (0 = all {info.train_size:,})", min_value=0,
                                               value=0, step=100, key="train_subset",
                                               help="A stratified subset: every class keeps its share.")
    test_subset = subset_cols[1].number_input(f"Test samples (0 = all {info.test_size:,})", min_value=0,
                                              value=0, step=100, key="test_subset")
    split_cols = st.columns(2)
    validation_split = split_cols[0].slider("Validation split", 0.0, 0.5, defaults.validation_split, 0.05,
                                            key="validation_split", help="Share of the training samples held out.")
    split_mode = split_cols[1].selectbox("Split", list(SPLIT_MODES), key="split_mode", format_func=SPLIT_MODES.get)
    labels = st.selectbox("Labels and loss", list(LABEL_ENCODINGS), key="labels", format_func=LABEL_ENCODINGS.get)
    seed = st.number_input("Seed", min_value=0, value=defaults.seed, step=1, key="seed",
                           help="Same seed, same subset, split, shuffling and initial weights.")

with opt_col:
    st.subheader("Optimizer and schedule")
    optimizer = st.selectbox("Optimizer", list(OPTIMIZERS), key="optimizer", format_func=OPTIMIZERS.get,
                             index=list(OPTIMIZERS).index(defaults.optimizer))
    learning_rate = st.number_input("Learning rate", min_value=0.0, value=defaults.learning_rate,
                                    step=1e-4, format="%g", key="learning_rate")
    momentum, nesterov = 0.0, False
    if optimizer == "sgd":
        momentum = st.number_input("Momentum", min_value=0.0, max_value=0.999, value=0.9, step=0.05,
                                   key="momentum")
        nesterov = st.checkbox("Nesterov momentum", value=True, key="nesterov")
    batch_size = st.number_input("Batch size", min_value=1, value=defaults.batch_size, step=1, key="batch_size")
    epochs = st.number_input(f"Epochs (at most {settings.max_epochs})", min_value=1, value=defaults.epochs,
                             step=1, key="epochs")
    name = st.text_input("Run name (optional)", max_chars=120, key="name")
    notes = st.text_area("Notes (optional)", max_chars=5000, key="notes", height=80)

config = TrainConfig(
    dataset=dataset_key, architecture=architecture, optimizer=optimizer, learning_rate=float(learning_rate),
    momentum=float(momentum), nesterov=bool(nesterov and momentum > 0), batch_size=int(batch_size),
    epochs=int(epochs), validation_split=float(validation_split), split_mode=split_mode,
    train_subset=int(train_subset) or None, test_subset=int(test_subset) or None, labels=labels,
    image_size=int(image_size), seed=int(seed), name=name, notes=notes,
)
if st.button("▶ Start training", type="primary", key="start"):
    try:
        run_id = jobs.submit(config, settings)
    except (ConfigError, jobs.JobError) as exc:
        st.error(str(exc), icon=":material/error:")
    else:
        st.success(f"Run #{run_id} queued. Start another, or watch it train.", icon=":material/check_circle:")
        st.page_link("app_pages/runs.py", label="Watch it on the Runs page", icon=":material/monitoring:")

summary = jobs.summary(settings)
st.caption(f"Now: {summary.running} running, {summary.queued} queued · "
           f"worker pool {'up' if summary.pool_running else 'starts with the next run'} "
           f"({summary.workers} at a time)")
