"""The Sweeps page's form for a new sweep: the fields, the preset, its size and duration, and Start."""
import streamlit as st

from core.domain.config import LR_SCHEDULES, SPLIT_MODES, ConfigError, whole
from core.domain.sweep_spec import (
    ETA_HELP,
    OPTIMIZER_CHOICES,
    OPTIMIZER_LABELS,
    SWEEP_FIELD_LABELS,
    SweepForm,
    SweepSpec,
    assignment_for,
)
from core.domain.wording import counted
from core.errors import Refusal
from core.services import sweeps
from core.settings import Settings
from core.views.display import duration
from pages.common.auth import current_actor
from pages.common.widgets import number, refusal

FORM_FIELDS = ("name", "mode", "datasets", "architectures", "optimizers", "learning_rates", "per_optimizer_lr",
               "batch_sizes", "epochs", "seeds", "trials", "search_seed", "halving", "eta", "min_epochs")
SHARED_DEFAULTS = {"train_subset": 0, "test_subset": 0, "validation_split": 0.2, "split_mode": "random",
                   "lr_schedule": "constant"}


def fill_form(form: SweepForm, datasets: dict) -> None:
    """Put a form's values into the widgets' session state (a preset, or a sweep to repeat)."""
    values = {f"sw_{name}": getattr(form, name) for name in FORM_FIELDS}
    values["sw_datasets"] = [d for d in form.datasets if d in datasets]
    values["sw_optimizers"] = list(form.optimizers)
    for name, default in SHARED_DEFAULTS.items():
        values[f"sw_{name}"] = form.shared.get(name) or default
    values["sw_cpus"] = form.shared.get("cpus") or 0
    values["sw_gpus"] = "default" if form.shared.get("gpus") is None else str(form.shared["gpus"])
    st.session_state.update(values)


def edit_as_new(spec: dict, datasets: dict) -> None:
    """Fill the form with a sweep's settings and switch to it (the Results view's "Edit as a new sweep")."""
    fill_form(SweepForm.from_spec(SweepSpec.from_dict(spec)), datasets)
    st.session_state["sweep_view"] = "New sweep"


def load_assignment_preset(datasets: dict) -> None:
    """Fill the form with the course assignment on the datasets this machine has (a note says what is left out)."""
    spec, note = assignment_for(list(datasets), {k: d.title for k, d in datasets.items()})
    fill_form(SweepForm.from_spec(spec), datasets)
    st.session_state["sw_preset_note"] = note


def new_sweep_form(datasets: dict, settings: Settings) -> None:
    """The form, a one-line refusal or the sweep's size and duration, and Start."""
    if "sw_name" not in st.session_state:
        fill_form(SweepForm(datasets=tuple(datasets)[:1]), datasets)
    top = st.container(horizontal=True, vertical_alignment="bottom")  # the button keeps its whole label
    top.text_input("Sweep name", key="sw_name", placeholder="e.g. assignment, week 3")
    top.button("Load the assignment preset", key="sw_preset", on_click=load_assignment_preset, args=(datasets,),
               help="3 structures (Dropout, BatchNorm, CNN) × SGD+momentum, Adam, RMSprop × 2 learning rates "
                    "each on MNIST and Fashion-MNIST, random validation split.")
    if st.session_state.get("sw_preset_note"):
        st.info(st.session_state.pop("sw_preset_note"), icon=":material/info:")
    # Full width: a multiselect scrolls its chips out of sight when they pass its width (half a column
    # at 1024 px showed "SGD + momentum 0.9" and "Ad…" of the preset's three optimizers).
    st.multiselect("Datasets", list(datasets), key="sw_datasets", format_func=lambda k: datasets[k].title)
    st.multiselect("Optimizers", list(OPTIMIZER_CHOICES), key="sw_optimizers", format_func=OPTIMIZER_LABELS.get)
    left, right = st.columns(2, gap="large")
    with left:
        _what_to_try()
    with right:
        _how_to_train(settings)
    _plan_and_start(_read_form, settings)


def _what_to_try() -> None:
    """Architectures and learning rates: the axes of the sweep beside datasets and optimizers."""
    st.text_area("Architectures, one per line", key="sw_architectures", height=120,
                 help="A preset key (mlp, mlp_bn, small_cnn, ...), a custom MLP "
                      "`mlp 512-256 dropout=0.2 bn act=relu`, or a custom CNN "
                      "`cnn 32x1p-64x1p bn dropout=0.3 flatten dense=128` (p = 2x2 max-pool).")
    st.text_input("Learning rates", key="sw_learning_rates",
                  help="A list (0.01, 0.001) or a log range: 1e-4..1e-1 x4 gives 4 log-spaced rates; "
                       "random search draws from the range.")
    st.selectbox("Learning-rate schedule", list(LR_SCHEDULES), key="sw_lr_schedule", format_func=LR_SCHEDULES.get)
    st.text_area("Learning rates per optimizer (optional)", key="sw_per_optimizer_lr", height=80,
                 placeholder="sgd_momentum: 0.1, 0.01\nadam: 0.001, 0.0003",
                 help="One line per optimizer; it replaces the list above for that optimizer.")


def _how_to_train(settings: Settings) -> None:
    """Batch sizes, epochs, seeds, data subsets and split, the search mode, early stopping, and on a Ray
    cluster what each trial asks it for."""
    cols = st.columns(3)
    cols[0].text_input("Batch sizes", key="sw_batch_sizes")
    cols[1].text_input("Epochs", key="sw_epochs")
    cols[2].text_input("Seeds", key="sw_seeds", help="Several seeds repeat each setting to show the spread.")
    cols = st.columns(2)
    number(cols[0], "Training samples (0 = all)", "sw_train_subset", step=1000,
           help="A stratified subset per trial keeps a search quick; retrain the best on all.")
    number(cols[1], "Test samples (0 = all)", "sw_test_subset", step=1000)
    cols = st.columns([1, 2])  # the split's select needs the room: half a column cut "random, stratified"
    cols[0].slider("Validation split", 0.0, 0.5, step=0.05, key="sw_validation_split",
                   help="Trials are ranked on this held-out share, never on the test split.")
    cols[1].selectbox("Split", list(SPLIT_MODES), key="sw_split_mode", format_func=SPLIT_MODES.get)
    st.radio("Search", ["grid", "random"], key="sw_mode", horizontal=True,
             format_func={"grid": "every combination", "random": "random"}.get)
    cols = st.columns(2)
    number(cols[0], "Trials", "sw_trials", disabled=st.session_state.sw_mode != "random")
    number(cols[1], "Search seed", "sw_search_seed", disabled=st.session_state.sw_mode != "random")
    st.toggle("Stop poor trials early", key="sw_halving",
              help="Successive halving: at epochs m, m·η, m·η², … a trial goes on only if its validation "
                   "accuracy is in the top 1/η of the trials that got that far.")
    cols = st.columns(2)
    number(cols[0], "η (keep 1 in η)", "sw_eta", disabled=not st.session_state.sw_halving, help=ETA_HELP)
    number(cols[1], "First check at epoch", "sw_min_epochs", disabled=not st.session_state.sw_halving)
    if settings.executor == "ray":  # README: Running on several machines
        cols = st.columns(2)
        number(cols[0], "Cluster CPUs per trial", "sw_cpus",
               help=f"CPU threads each trial asks the Ray cluster for; 0: the default, {settings.run_cpus}.")
        cols[1].selectbox("Cluster GPUs per trial", ("default", "0", "1"), key="sw_gpus", format_func=lambda g: (
            f"default ({settings.run_gpus})" if g == "default" else g), help="GPUs each trial asks the cluster for.")


def _read_form() -> SweepForm:
    """The form's fields as a SweepForm, numbers as typed; an emptied subset is refused, not read as "all"."""
    for key, label in (("sw_train_subset", "Training samples"), ("sw_test_subset", "Test samples")):
        if st.session_state[key] is None:
            raise ConfigError(label, "the field is empty; type a number (0 for all)")
    return SweepForm(**{name: whole(st.session_state[f"sw_{name}"]) for name in FORM_FIELDS},
                     shared={"train_subset": whole(st.session_state.sw_train_subset) or None,
                             "test_subset": whole(st.session_state.sw_test_subset) or None,
                             "validation_split": float(st.session_state.sw_validation_split),
                             "split_mode": st.session_state.sw_split_mode,
                             "lr_schedule": st.session_state.sw_lr_schedule,
                             "cpus": whole(st.session_state.sw_cpus) or None,
                             "gpus": None if st.session_state.sw_gpus == "default" else int(st.session_state.sw_gpus)})


def _plan_and_start(read_form, settings: Settings) -> None:
    """A one-line refusal, or the sweep's size and duration, and Start."""
    try:
        spec = read_form().to_spec()
        plan = sweeps.plan(spec, settings, current_actor())
    except Refusal as exc:
        st.error(refusal(exc, SWEEP_FIELD_LABELS), icon=":material/error:")
        spec = plan = None
    if plan:
        basis = "from runs like these on this machine" if plan.estimate.measured else \
            "a rough guess until runs like these have finished here"
        if plan.on_cluster:
            at_once = f"{plan.workers} at a time on the Ray cluster"
        elif settings.executor == "ray":  # no dispatcher has looked at the nodes lately: TRAINLAB_WORKERS
            at_once = f"{plan.workers} at a time (a guess until the cluster's dispatcher has looked at its nodes)"
        else:
            at_once = counted(plan.workers, "worker")
        st.info(f"**{len(plan.trials)} runs** · about **{duration(plan.wall_seconds)}** with {at_once} ({basis}).",
                icon=":material/schedule:")
    if st.button("▶ Start sweep", type="primary", key="sw_start", disabled=plan is None):
        try:
            sweep_id = sweeps.start(spec, settings, actor=current_actor())
        except Refusal as exc:
            st.error(refusal(exc, SWEEP_FIELD_LABELS), icon=":material/error:")
        else:
            st.session_state["sweep_started"] = sweep_id
            st.rerun()
