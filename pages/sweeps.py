"""Sweeps page: define a grid or random search, see its size and duration, start it, and follow
its results (table, charts, retrain of the best setting beside the assignment's targets)."""
import time

import streamlit as st

from core.data.datasets import catalog
from core.domain.config import LR_SCHEDULES, SPLIT_MODES, ConfigError, whole
from core.domain.sweep_spec import (
    ASSIGNMENT_TARGETS,
    OPTIMIZER_CHOICES,
    OPTIMIZER_LABELS,
    SweepError,
    SweepForm,
    SweepSpec,
    assignment_for,
)
from core.services import jobs, sweeps
from core.settings import load_settings
from core.views.display import duration, escape_markdown, for_display
from core.views.sweep_charts import optimizer_lr_heatmaps, parallel_coordinates, score_scatter
from pages.common.nav import page_setup
from pages.common.widgets import number

page_setup("pages/sweeps.py")
st.title("Sweeps")
st.caption("Try every combination of architectures, optimizers and learning rates (or a random sample of them) "
           "as ordinary queued runs, then retrain the best setting and check it on the test split.")
jobs.ensure_workers()
settings = load_settings()
datasets = {d.key: d for d in catalog(settings) if d.available}
FORM_FIELDS = ("name", "mode", "datasets", "architectures", "optimizers", "learning_rates", "per_optimizer_lr",
               "batch_sizes", "epochs", "seeds", "trials", "search_seed", "halving", "eta", "min_epochs")
# The scores first, so they stay in view in a 1024 px window; the settings follow and scroll sideways.
TRIAL_COLUMNS = ("best", "run", "status", "val_accuracy", "test_accuracy", "architecture", "optimizer", "learning_rate",
                 "batch_size", "dataset", "epochs", "seed", "val_loss", "stopped_at", "train_seconds", "parameters")
REPORT_COLUMNS = ("dataset", "test accuracy", "target", "reached", "best val accuracy", "retrain run", "retrain status",
                  "best setting")
SHARED_DEFAULTS = {"train_subset": 0, "test_subset": 0, "validation_split": 0.2, "split_mode": "random",
                   "lr_schedule": "constant"}


def _fill_form(form: SweepForm) -> None:
    """Put a form's values into the widgets' session state (a preset, or a sweep to repeat)."""
    values = {f"sw_{name}": getattr(form, name) for name in FORM_FIELDS}
    values["sw_datasets"] = [d for d in form.datasets if d in datasets]
    values["sw_optimizers"] = list(form.optimizers)
    for name, default in SHARED_DEFAULTS.items():
        values[f"sw_{name}"] = form.shared.get(name) or default
    st.session_state.update(values)


if "sw_name" not in st.session_state:
    _fill_form(SweepForm(datasets=tuple(datasets)[:1]))


def _load_preset() -> None:
    spec, note = assignment_for(list(datasets), {k: d.title for k, d in datasets.items()})
    _fill_form(SweepForm.from_spec(spec))
    st.session_state["sw_preset_note"] = note


def _edit_as_new(spec: dict) -> None:
    _fill_form(SweepForm.from_spec(SweepSpec.from_dict(spec)))
    st.session_state["sweep_view"] = "New sweep"


# A sweep just started: show its results (set before the widgets that hold these values exist).
if "sweep_started" in st.session_state:
    st.session_state.update(sweep_view="Results", sweep_selected=st.session_state.pop("sweep_started"))
all_sweeps = sweeps.sweeps(settings)
st.session_state.setdefault("sweep_view", "Results" if all_sweeps else "New sweep")
view = st.radio("View", ["Results", "New sweep"], key="sweep_view", horizontal=True, label_visibility="collapsed")

# -- a new sweep -------------------------------------------------------------------------------
if view == "New sweep":
    top = st.container(horizontal=True, vertical_alignment="bottom")  # the button keeps its whole label
    top.text_input("Sweep name", key="sw_name", placeholder="e.g. assignment, week 3")
    top.button("Load the assignment preset", key="sw_preset", on_click=_load_preset,
                  help="3 structures (Dropout, BatchNorm, CNN) × SGD+momentum, Adam, RMSprop × 2 learning rates "
                       "each on MNIST and Fashion-MNIST, random validation split.")
    if st.session_state.get("sw_preset_note"):
        st.info(st.session_state.pop("sw_preset_note"), icon=":material/info:")
    left, right = st.columns(2, gap="large")
    with left:
        st.multiselect("Datasets", list(datasets), key="sw_datasets", format_func=lambda k: datasets[k].title)
        st.text_area("Architectures, one per line", key="sw_architectures", height=120,
                     help="A preset key (mlp, mlp_bn, small_cnn, ...), a custom MLP "
                          "`mlp 512-256 dropout=0.2 bn act=relu`, or a custom CNN "
                          "`cnn 32x1p-64x1p bn dropout=0.3 flatten dense=128` (p = 2x2 max-pool).")
        st.multiselect("Optimizers", list(OPTIMIZER_CHOICES), key="sw_optimizers", format_func=OPTIMIZER_LABELS.get)
        st.text_input("Learning rates", key="sw_learning_rates",
                      help="A list (0.01, 0.001) or a log range: 1e-4..1e-1 x4 gives 4 log-spaced rates; "
                           "random search draws from the range.")
        st.selectbox("Learning-rate schedule", list(LR_SCHEDULES), key="sw_lr_schedule", format_func=LR_SCHEDULES.get)
        st.text_area("Learning rates per optimizer (optional)", key="sw_per_optimizer_lr", height=80,
                     placeholder="sgd_momentum: 0.1, 0.01\nadam: 0.001, 0.0003",
                     help="One line per optimizer; it replaces the list above for that optimizer.")
    with right:
        cols = st.columns(3)
        cols[0].text_input("Batch sizes", key="sw_batch_sizes")
        cols[1].text_input("Epochs", key="sw_epochs")
        cols[2].text_input("Seeds", key="sw_seeds", help="Several seeds repeat each setting to show the spread.")
        cols = st.columns(2)
        number(cols[0], "Training samples (0 = all)", "sw_train_subset", step=1000,
               help="A stratified subset per trial keeps a search quick; retrain the best on all.")
        number(cols[1], "Test samples (0 = all)", "sw_test_subset", step=1000)
        cols = st.columns(2)
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
        number(cols[0], "η (keep 1 in η)", "sw_eta", disabled=not st.session_state.sw_halving)
        number(cols[1], "First check at epoch", "sw_min_epochs", disabled=not st.session_state.sw_halving)

    form = SweepForm(**{name: whole(st.session_state[f"sw_{name}"]) for name in FORM_FIELDS},
                     shared={"train_subset": whole(st.session_state.sw_train_subset) or None,
                             "test_subset": whole(st.session_state.sw_test_subset) or None,
                             "validation_split": float(st.session_state.sw_validation_split),
                             "split_mode": st.session_state.sw_split_mode,
                             "lr_schedule": st.session_state.sw_lr_schedule})
    try:
        spec = form.to_spec()
        plan = sweeps.plan(spec, settings)
    except (SweepError, ConfigError) as exc:
        st.error(str(exc), icon=":material/error:")
        spec = plan = None
    if plan:
        basis = "from runs like these on this machine" if plan.estimate.measured else \
            "a rough guess until runs like these have finished here"
        st.info(f"**{len(plan.trials)} runs** · about **{duration(plan.wall_seconds)}** with {plan.workers} "
                f"workers ({basis}).", icon=":material/schedule:")
    if st.button("▶ Start sweep", type="primary", key="sw_start", disabled=plan is None):
        try:
            sweep_id = sweeps.start(spec, settings)
        except (SweepError, ConfigError, jobs.JobError) as exc:
            st.error(str(exc), icon=":material/error:")
        else:
            st.session_state["sweep_started"] = sweep_id
            st.rerun()
    st.stop()

# -- results -----------------------------------------------------------------------------------
if not all_sweeps:
    st.info("No sweeps yet. Define one under **New sweep** — or load the assignment preset there.")
    st.stop()
by_id = {s.id: s for s in all_sweeps}
if st.session_state.get("sweep_selected") not in by_id:
    st.session_state["sweep_selected"] = all_sweeps[0].id
chosen = st.selectbox("Sweep", list(by_id), key="sweep_selected",
                      format_func=lambda i: f"#{i} {by_id[i].name} · "
                                            f"{time.strftime('%d %b %H:%M', time.localtime(by_id[i].created_at))}")
sweep = by_id[chosen]
if "sweep_flash" in st.session_state:
    st.success(st.session_state.pop("sweep_flash"), icon=":material/check_circle:")


was_active = sweeps.is_active(sweep.id, settings)


@st.fragment(run_every=2.0 if was_active else None)
def sweep_results(sweep_id: int) -> None:
    """Progress, the results table, charts and the retrain; redrawn every 2 s while trials run."""
    runs = sweeps.runs_frame(sweep_id, settings)
    progress = sweeps.progress(runs, settings)
    if was_active and not progress.active:
        st.rerun(scope="app")  # finished: one last full draw, then no more polling
    top = st.columns([3, 2], vertical_alignment="center")  # one button: Cancel while active, else Delete
    eta = f" · about {duration(progress.eta_seconds)} left" if progress.eta_seconds is not None else ""
    top[0].progress(progress.done / max(1, progress.total), text=f"{progress.text()}{eta}")
    if progress.active and top[1].button("Cancel sweep", key="sw_cancel", icon=":material/stop_circle:"):
        stopped = sweeps.cancel(sweep_id, settings)
        st.toast(f"Cancelling {stopped} queued or running runs")
    if not progress.active and top[1].button("Delete sweep", key="sw_delete", icon=":material/delete:"):
        sweeps.delete(sweep_id, settings)
        st.session_state.pop("sweep_selected", None)
        st.rerun(scope="app")

    trials = sweeps.trials_table(runs)
    st.subheader("Trials")
    # Best first; the table sorts by any column on a click.
    shown = trials.drop(columns=["error"]).assign(best=trials["best"].map({True: "★", False: ""})) \
        .sort_values(["val_accuracy", "run"], ascending=[False, True], na_position="last")
    shown = for_display(shown, ("val_accuracy", "test_accuracy"), ("parameters",), ("train_seconds",))
    st.dataframe(
        shown.style.apply(lambda row: ["background-color: rgba(255, 200, 0, 0.25)" if row["best"] else ""] * len(row),
                          axis=1),
        hide_index=True, width="stretch", key="sw_table", column_order=TRIAL_COLUMNS,
        column_config={
            "batch_size": st.column_config.NumberColumn("batch size"),
            "best": st.column_config.TextColumn("best", width=44),
            "run": st.column_config.NumberColumn("#", width=48),
            "status": st.column_config.TextColumn("status", width=90),
            "val_accuracy": st.column_config.TextColumn("val accuracy", width=100),
            "test_accuracy": st.column_config.TextColumn("test accuracy", width=104),
            "architecture": st.column_config.TextColumn("architecture", width=200),
            "learning_rate": st.column_config.NumberColumn("learning rate", format="%g"),
            "val_loss": st.column_config.TextColumn("val loss"),
            "train_seconds": st.column_config.TextColumn("training time"),
            "stopped_at": st.column_config.TextColumn("stopped at epoch",
                                                      help="Successive halving stopped the trial here."),
        })
    failed = trials[trials["status"] == "failed"]
    for row in failed.head(3).itertuples():
        st.caption(f"#{row.run} failed: {row.error}")
    st.download_button("Download the table (CSV)", sweeps.results_csv(runs), f"sweep-{sweep_id}.csv", "text/csv",
                       key="sw_csv", icon=":material/download:")

    st.subheader("What mattered")
    tabs = st.tabs(["Parallel coordinates", "Score per hyperparameter", "Optimizer × learning rate"])
    tabs[0].plotly_chart(parallel_coordinates(trials), key="sw_parcoords")
    tabs[1].plotly_chart(score_scatter(trials), key="sw_scatter")
    tabs[2].plotly_chart(optimizer_lr_heatmaps(trials), key="sw_heatmap")

    st.subheader("Retrain the best setting")
    st.caption("The best trial of each dataset (by validation accuracy) trained again on train + validation, "
               "then evaluated once on the test split.")
    best = sweeps.best_trials(runs)
    for dataset, row in best.items():
        st.markdown(escape_markdown(f"{dataset}: #{row['run']} · {row['architecture']} · "
                    f"{OPTIMIZER_LABELS.get(row['optimizer'], row['optimizer'])} lr={row['learning_rate']:g} "
                    f"(val {row['val_accuracy']:.2%})"))  # dataset names are user text
        cols = st.columns([1, 1, 1], vertical_alignment="bottom")
        epochs = cols[0].number_input("Epochs", 1, settings.max_epochs, value=min(settings.max_epochs,
                                                                                     2 * int(row["epochs"])),
                                      key=f"sw_retrain_epochs_{dataset}")
        everything = cols[1].checkbox("All training data", value=True, key=f"sw_retrain_all_{dataset}",
                                      help="Off: the trial's training subset (without its validation split).")
        if cols[2].button("Retrain", key=f"sw_retrain_{dataset}", icon=":material/replay:"):
            try:
                run_id = sweeps.retrain_best(sweep_id, dataset, int(epochs), everything, settings)
            except (ConfigError, jobs.JobError) as exc:
                st.error(str(exc), icon=":material/error:")
            else:
                # A full rerun: the page polls again while the retrain trains.
                st.session_state["sweep_flash"] = f"Run #{run_id} queued: the best setting on {dataset}, retrained."
                st.rerun(scope="app")
    report = sweeps.retrain_report(runs)
    if not report.empty:
        shown = report.assign(reached=report["reached"].map({True: "✅ yes", False: "❌ no"}))
        st.dataframe(for_display(shown, ("best val accuracy", "test accuracy", "target")), hide_index=True,
                     width="stretch", key="sw_report", column_order=REPORT_COLUMNS, column_config={
                         "dataset": st.column_config.TextColumn(width=110),
                         "test accuracy": st.column_config.TextColumn(width=104),
                         "target": st.column_config.TextColumn("target", width=80),
                         "reached": st.column_config.TextColumn(width=80),
                         "best val accuracy": st.column_config.TextColumn(width=130)})
    elif not best:
        st.caption("Appears once a trial has finished.")
    targets = ", ".join(f"{k} {v:.1%}" for k, v in ASSIGNMENT_TARGETS.items())
    st.caption(f"Assignment targets (test accuracy): {targets}.")


sweep_results(sweep.id)
cols = st.columns(2)
if cols[0].button("Compare the top 5 on the Runs page", key="sw_compare", icon=":material/monitoring:"):
    top = sweeps.trials_table(sweeps.runs_frame(sweep.id, settings)).sort_values("val_accuracy", ascending=False)
    st.session_state.update(compare_runs=[int(r) for r in top["run"].head(5)], f_sweep=sweep.id)
    st.switch_page("pages/runs.py")
cols[1].button("Edit as a new sweep", key="sw_repeat", icon=":material/edit:", on_click=_edit_as_new,
               args=(sweep.spec,), help="The form, filled with this sweep's settings.")
