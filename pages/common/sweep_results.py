"""The Sweeps page's results: progress, the trials table, what mattered, and the retrain of the best."""
import pandas as pd
import streamlit as st

from core.domain.grading import TARGET_TITLES
from core.domain.statuses import FAILED
from core.domain.sweep_spec import ASSIGNMENT_TARGETS, OPTIMIZER_LABELS
from core.domain.wording import share
from core.errors import Refusal
from core.services import sweeps
from core.settings import Settings
from core.views.display import duration, escape_markdown, for_display, percent, varied_first
from core.views.sweep_charts import optimizer_lr_heatmaps, parallel_coordinates, score_scatter
from pages.common.auth import current_actor, may_act_on
from pages.common.widgets import number, refusal

# The scores first, then the settings the sweep varied, so they stay in view in a 1024 px window (about 564 px
# for the table); the settings every trial shares follow and scroll sideways.
SCORE_COLUMNS = ("best", "run", "status", "val_accuracy", "test_accuracy")
SETTING_COLUMNS = ("architecture", "optimizer", "learning_rate", "batch_size", "dataset", "epochs", "seed")
LATER_COLUMNS = ("val_loss", "stopped_at", "train_seconds", "parameters")
REPORT_COLUMNS = ("dataset", "test accuracy", "target", "reached", "best val accuracy", "retrain run", "retrain status",
                  "best setting")
BEST_ROW = "background-color: rgba(255, 200, 0, 0.25)"


def sweep_results(sweep_id: int, was_active: bool, settings: Settings) -> None:
    """Draw sweep `sweep_id`'s results, redrawn every 2 s while it was active when the page ran."""

    @st.fragment(run_every=2.0 if was_active else None)
    def results(sweep_id: int) -> None:
        runs = sweeps.runs_frame(sweep_id, settings, actor=current_actor())
        progress = sweeps.progress(runs, settings)
        if was_active and not progress.active:
            st.rerun(scope="app")  # finished: one last full draw, then no more polling
        _progress(sweep_id, progress, settings)
        trials = sweeps.trials_table(runs)
        _trials(sweep_id, runs, trials)
        _what_mattered(trials)
        _retrain(sweep_id, runs, settings)

    results(sweep_id)


def _progress(sweep_id: int, progress, settings: Settings) -> None:
    """The progress bar with its ETA, and one button: Cancel while active, else Delete."""
    top = st.columns([3, 2], vertical_alignment="center")  # one button: Cancel while active, else Delete
    eta = f" · about {duration(progress.eta_seconds)} left" if progress.eta_seconds is not None else ""
    top[0].progress(progress.done / max(1, progress.total), text=f"{progress.text()}{eta}")
    if not may_act_on(sweeps.get(sweep_id, settings, actor=current_actor()).owner):
        top[1].caption("Someone else's sweep: read-only")
        return
    if progress.active and top[1].button("Cancel sweep", key="sw_cancel", icon=":material/stop_circle:"):
        stopped = sweeps.cancel(sweep_id, settings, actor=current_actor())
        st.toast(f"Cancelling {stopped} queued or running runs")
    if not progress.active and top[1].button("Delete sweep", key="sw_delete", icon=":material/delete:"):
        sweeps.delete(sweep_id, settings, actor=current_actor())
        st.session_state.pop("sweep_selected", None)
        st.rerun(scope="app")


def _trials(sweep_id: int, runs, trials) -> None:
    """The trials, best first (a click on a header sorts by it), a few failures, and the CSV."""
    st.subheader("Trials")
    # Best first; the table sorts by any column on a click.
    shown = trials.drop(columns=["error"]).assign(best=trials["best"].map({True: "★", False: ""})) \
        .sort_values(["val_accuracy", "run"], ascending=[False, True], na_position="last")
    shown["val_loss"] = [None if pd.isna(v) else f"{v:.4f}" for v in shown["val_loss"]]  # not 0.509685 / 0.509700
    shown = for_display(shown, ("val_accuracy", "test_accuracy"), ("parameters",), ("train_seconds",))
    st.dataframe(
        shown.style.apply(lambda row: [BEST_ROW if row["best"] else ""] * len(row), axis=1),
        hide_index=True, width="stretch", key="sw_table",
        column_order=SCORE_COLUMNS + varied_first(trials, SETTING_COLUMNS) + LATER_COLUMNS,
        column_config={
            "batch_size": st.column_config.NumberColumn("batch size", width=76),
            "best": st.column_config.TextColumn("best", width=40),
            "run": st.column_config.NumberColumn("#", width=44),
            "status": st.column_config.TextColumn("status", width=84),
            "val_accuracy": st.column_config.TextColumn("val acc", width=70, help="Best validation accuracy"),
            "test_accuracy": st.column_config.TextColumn("test acc", width=70),
            "architecture": st.column_config.TextColumn("architecture", width=130),
            "optimizer": st.column_config.TextColumn("optimizer", width=110),
            "learning_rate": st.column_config.NumberColumn("lr", format="%g", width=56, help="Learning rate"),
            "val_loss": st.column_config.TextColumn("val loss"),
            "train_seconds": st.column_config.TextColumn("training time"),
            "stopped_at": st.column_config.TextColumn("stopped at epoch",
                                                      help="Successive halving stopped the trial here."),
        })
    failed = trials[trials["status"] == FAILED]
    for row in failed.head(3).itertuples():
        st.caption(f"#{row.run} failed: {escape_markdown(str(row.error))}")
    st.download_button("Download the table (CSV)", sweeps.results_csv(runs), f"sweep-{sweep_id}.csv", "text/csv",
                       key="sw_csv", icon=":material/download:")


def _what_mattered(trials) -> None:
    """Parallel coordinates, the score per hyperparameter and the optimizer × learning-rate heatmaps."""
    st.subheader("What mattered")
    tabs = st.tabs(["Parallel coordinates", "Score per hyperparameter", "Optimizer × learning rate"])
    tabs[0].plotly_chart(parallel_coordinates(trials), key="sw_parcoords")
    tabs[1].plotly_chart(score_scatter(trials), key="sw_scatter")
    tabs[2].plotly_chart(optimizer_lr_heatmaps(trials), key="sw_heatmap")


def _retrain(sweep_id: int, runs, settings: Settings) -> None:
    """Retrain the best trial of each dataset, and the report beside the assignment's targets."""
    st.subheader("Retrain the best setting")
    st.caption("The best trial of each dataset (by validation accuracy) trained again on train + validation, "
               "then evaluated once on the test split.")
    best = sweeps.best_trials(runs)
    for dataset, row in best.items():
        st.markdown(escape_markdown(f"{dataset}: #{row['run']} · {row['architecture']} · "
                    f"{OPTIMIZER_LABELS.get(row['optimizer'], row['optimizer'])} lr={row['learning_rate']:g} "
                    f"(val {percent(row['val_accuracy'])})"))  # dataset names are user text
        cols = st.columns([1, 1, 1], vertical_alignment="bottom")
        # A field with no range of its own, like the Train page's: what is shown is what is queued.
        default_epochs = min(settings.max_epochs, 2 * int(row["epochs"]))
        st.session_state.setdefault(f"sw_retrain_epochs_{dataset}", float(default_epochs))
        epochs = number(cols[0], "Epochs", f"sw_retrain_epochs_{dataset}")
        everything = cols[1].checkbox("All training data", value=True, key=f"sw_retrain_all_{dataset}",
                                      help="Off: the trial's training subset (without its validation split).")
        if cols[2].button("Retrain", key=f"sw_retrain_{dataset}", icon=":material/replay:"):
            try:
                run_id = sweeps.retrain_best(sweep_id, dataset, epochs, everything, settings, actor=current_actor())
            except Refusal as exc:
                st.error(refusal(exc), icon=":material/error:")
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
    targets = ", ".join(f"{TARGET_TITLES.get(k, k)} {share(v, 1)}" for k, v in ASSIGNMENT_TARGETS.items())
    st.caption(f"Assignment targets (test accuracy): {targets}.")
