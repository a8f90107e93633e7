"""The Runs page's one-run view: progress, figures, live curves, test results, and its actions."""
import json

import numpy as np
import streamlit as st

from core.domain.model_files import is_model_file
from core.domain.people import OPERATOR, TEACHER
from core.domain.placement import cluster_placement
from core.domain.statuses import CANCELLED, FAILED, SUCCEEDED
from core.errors import Refusal
from core.services import jobs, sweeps, tracking
from core.views import evaluation, run_metrics, tracked
from core.views.charts import training_curves
from core.views.display import count, duration, escape_markdown, percent, progress_text
from core.views.model_files import NO_LOOK_INSIDE, SCORED, is_scored
from pages.common.auth import current_actor, may_act_on
from pages.common.handoff import request_train
from pages.common.inside_model import inside_model


# Callbacks of buttons inside a live fragment leave their message for the fragment to show: an element
# drawn by a callback during a fragment rerun would land at the top of the page.
def _say(message: str) -> None:
    st.session_state["runs_message"] = message


def _cancel(run_id: int) -> None:
    try:
        _say(f"Run #{run_id}: {jobs.cancel(run_id, actor=current_actor())}")
    except Refusal as exc:
        _say(str(exc))


def _delete(run_id: int) -> None:
    st.session_state.pop("confirm_delete", None)
    try:
        jobs.delete(run_id, actor=current_actor())
    except Refusal as exc:
        _say(str(exc))
        return
    st.session_state.pop("selected_run_id", None)
    st.session_state["compare_runs"] = [i for i in st.session_state.get("compare_runs", []) if i != run_id]
    st.query_params.pop("run", None)
    _say(f"Run #{run_id} deleted")


def _set_confirm(run_id: int | None) -> None:
    st.session_state["confirm_delete"] = run_id


def _run_again(run_id: int) -> None:
    try:
        _say(f"Queued as run #{jobs.run_again(run_id, actor=current_actor())}")
    except Refusal as exc:  # a config that no longer validates (e.g. its dataset was removed)
        _say(str(exc))


def clone(run) -> None:
    """Hand this run's settings to the Train page, which opens with them to edit and start."""
    request_train(run.config_dict, f"{run.name} (copy)")


def relabel(run_id: int) -> None:
    """Save the name, notes and tags typed for run `run_id` (a refusal is shown under the form)."""
    try:
        jobs.relabel_run(run_id, st.session_state[f"rename_{run_id}"], st.session_state[f"renote_{run_id}"],
                         st.session_state[f"retag_{run_id}"].split(","), actor=current_actor())
    except Refusal as exc:
        st.session_state["relabel_error"] = str(exc)


def _actions(run) -> None:
    """Cancel for active runs; delete (after a confirmation) for finished ones; run again; exports.
    Someone else's run (classroom mode) offers only the exports: the services would refuse the rest."""
    cols = st.columns(4)
    mine = may_act_on(run.owner)
    if not mine:
        cols[0].caption(f"{escape_markdown(run.owner) or 'The teacher'}'s run: read-only")
    elif not run.is_finished:
        cols[0].button("Cancel run", key=f"cancel_{run.id}", disabled=bool(run.cancel_requested),
                       on_click=_cancel, args=(run.id,),
                       help="Queued runs stop at once, running ones within a moment.")
    elif st.session_state.get("confirm_delete") == run.id:
        st.warning(f"Delete run #{run.id}, its curves and its model file? This cannot be undone.")
        yes, no = st.columns(2)
        yes.button("Yes, delete", type="primary", key=f"delete_yes_{run.id}", on_click=_delete, args=(run.id,))
        no.button("Keep it", key=f"delete_no_{run.id}", on_click=_set_confirm, args=(None,))
    else:
        cols[0].button("Delete run", key=f"delete_{run.id}", on_click=_set_confirm, args=(run.id,))
    if mine:
        cols[1].button("Run again", key=f"again_{run.id}", on_click=_run_again, args=(run.id,),
                       disabled=tracked.is_tracked(run), help=tracked.NOT_AGAIN if tracked.is_tracked(run) else None)
    cols[2].download_button("Config (JSON)", json.dumps(run.config_dict, indent=2), f"run-{run.id}-config.json",
                            "application/json", key=f"config_{run.id}")
    model = jobs.model_file(run.id, actor=current_actor())
    if model:
        # Read when clicked: a model file is up to hundreds of MB, held per browser session if passed as bytes.
        cols[3].download_button("Model (.keras)", model.read_bytes, f"run-{run.id}.keras", key=f"model_{run.id}")


def _heading(run) -> None:
    """The run's number, name, who queued or reported it, where it trained, its tags."""
    st.subheader(f"Run #{run.id}")
    st.text(run.name)  # user text: shown as typed, never interpreted as markdown or HTML
    if run.owner:
        st.caption(f"{'Reported' if tracked.is_tracked(run) else 'Queued'} by {escape_markdown(run.owner)}")
    if tracked.is_tracked(run):
        _from_own_code(run)
    if cluster_placement(run.worker_host):
        st.caption(f"Trained on {escape_markdown(run.worker_host)}")
    if run.tag_list:
        st.text("Tags: " + ", ".join(run.tag_list))  # user text, like the name


def _figures(run) -> None:
    """The run's scores, size, time and threads, each as wide as it needs: never "17,06…"."""
    figures = st.container(horizontal=True, gap="large")
    figures.metric("Test accuracy", percent(run.test_accuracy), width="content")
    figures.metric("Test loss", "—" if run.test_loss is None else f"{run.test_loss:.4f}", width="content")
    figures.metric("Parameters", count(run.param_count), width="content")
    figures.metric("Scoring time" if is_scored(run) else "Training time", duration(run.train_seconds),
                   width="content")
    if run.threads:
        figures.metric("CPU threads", run.threads, width="content",
                       help="TensorFlow's threads for this run: every core when it trained alone, its share when "
                            "other runs trained at the same time.")


def _detail(run) -> None:
    _heading(run)
    st.progress(run.progress, text=progress_text(run))
    note = sweeps.sweep_note(run.id, actor=current_actor())
    if note:
        st.caption(escape_markdown(note))  # holds the sweep's name, user text: never markdown
    if run.notes:
        st.text(run.notes)
    _figures(run)
    mode = jobs.training_mode_text(run)
    if mode:
        st.caption(f"Training mode · {mode}")
    if run.error and run.status == FAILED:
        st.error(escape_markdown(run.error), icon=":material/error:")
        reader = current_actor()
        if run.traceback and (reader is None or reader.role == TEACHER):  # never to a student
            with st.expander("Traceback"):
                st.code(run.traceback, language="text")
    elif run.error and run.status == CANCELLED:  # by the user, or because the job queue refused it
        st.info(escape_markdown(run.error), icon=":material/cancel:")
    if run.attempt_note:  # an earlier attempt was lost to a fault outside the run, and retried
        st.warning(f"Attempt {max(run.attempt, 1)}: {escape_markdown(run.attempt_note)}", icon=":material/replay:")
    if is_scored(run):  # no curves to draw: nothing trained
        st.caption(SCORED)
    else:
        version = jobs.data_version([run])
        st.plotly_chart(_curves(run.id, version, run.status), key=f"curves_{run.id}")
        with st.expander("Every metric, CPU and memory"):
            _every_metric(run.id, version)
    if tracked.is_tracked(run):
        _layers(run)
    _actions(run)
    if tracked.is_tracked(run):
        st.caption(tracked.NOT_AGAIN)
        if run.status == SUCCEEDED and jobs.model_file(run.id, actor=current_actor()) is not None:
            inside_model(run.id, None)  # no test predictions of Train Lab's: Grad-CAM picks among test images
        elif run.status == SUCCEEDED:
            st.caption(tracked.NO_MODEL)
        return
    folder = jobs.run_folder(run.id, actor=current_actor()) if run.status == SUCCEEDED else None
    predictions = evaluation.load_predictions(folder) if folder is not None else None
    if predictions is not None:
        with st.expander("Test results by class"):
            _test_results(run.id, predictions)
    if run.status == SUCCEEDED and is_model_file(run.config_dict.get("architecture", "")):
        st.caption(NO_LOOK_INSIDE)
    elif run.status == SUCCEEDED:
        inside_model(run.id, predictions)


def _from_own_code(run) -> None:
    """Where a tracked run came from (script, arguments, model, process), and whether it was offline."""
    st.caption(escape_markdown(tracked.source_text(run)))  # the script's name and arguments are user text
    offline = tracked.offline_text(tracking.offline_seconds(run.id))
    if offline:
        st.caption(offline)


def _layers(run) -> None:
    """A tracked run's layer table, as its script's model had it (Train Lab has no builder for it)."""
    with st.expander("Layers, as the script's model has them"):
        st.dataframe(tracked.layer_frame(tracking.layer_table(run.id)), hide_index=True, key=f"layers_{run.id}",
                     column_config={"parameters": st.column_config.NumberColumn(format="localized")})


def _test_results(run_id: int, predictions: evaluation.Predictions) -> None:
    """Confusion matrix and per-class accuracy; clicking a cell shows its misclassified images here and
    picks the same cell for Grad-CAM under "Look inside the model"."""
    left, right = st.columns([3, 2])
    event = left.plotly_chart(evaluation.confusion_figure(predictions), key=f"confusion_{run_id}",
                              on_select="rerun", selection_mode="points")
    right.dataframe(evaluation.per_class_accuracy(predictions), hide_index=True, key=f"per_class_{run_id}",
                    # figures, not bars: a bar beside its figure pushed the figure out of view at 1024 px
                    column_config={"test images": st.column_config.NumberColumn("images"),
                                   "accuracy": st.column_config.NumberColumn(format="percent")})
    if not len(predictions.mistakes):
        return
    names = [escape_markdown(name) for name in predictions.class_names]  # class folders are user text
    cell = evaluation.clicked_cell(event)
    keep = np.ones(len(predictions.mistakes), dtype=bool)
    if cell is None:
        st.caption("Misclassified test images: true → predicted. Click a cell of the matrix to see only its images.")
    else:
        keep = (predictions.mistakes_true == cell[0]) & (predictions.mistakes_pred == cell[1])
        label = f"{names[cell[0]]} → {names[cell[1]]}"
        st.caption(f"Misclassified test images kept for {label}: {int(keep.sum())}"
                   + (" (the diagonal holds the right answers)" if cell[0] == cell[1] else "")
                   + ". Click the cell again to see all.")
        if keep.any():
            _pick_grad_cam_cell(run_id, label, cell)
    shown = np.flatnonzero(keep)
    if len(shown):
        images = [predictions.mistakes[i] for i in shown]
        st.image([m if m.shape[-1] == 3 else m[..., 0] for m in images], width=72, clamp=True,
                 caption=[f"{names[predictions.mistakes_true[i]]} → {names[predictions.mistakes_pred[i]]}"
                          for i in shown])


def _pick_grad_cam_cell(run_id: int, label: str, cell: tuple[int, int]) -> None:
    """A newly clicked off-diagonal cell becomes Grad-CAM's choice too (once: a later choice in Grad-CAM's own
    list stands until another cell is clicked)."""
    if cell[0] == cell[1] or st.session_state.get(f"cam_clicked_{run_id}") == cell:
        return
    st.session_state[f"cam_clicked_{run_id}"] = cell
    st.session_state[f"cam_source_{run_id}"] = "mistakes"
    st.session_state[f"cam_cell_{run_id}"] = label


@st.cache_resource(max_entries=64, ttl=3600, show_spinner=False)
def _metrics(run_id: int, version: tuple):
    """A run's points, read once per new point for every session watching it (`version` is the key); the
    caller has read the run with its own actor first (run_detail), so another's run never gets here."""
    return jobs.run_metrics(run_id, actor=OPERATOR)


@st.cache_resource(max_entries=64, ttl=3600, show_spinner=False)
def _curves(run_id: int, version: tuple, status: str):
    """A run's curves, built once per new point for every session watching it."""
    return training_curves(_metrics(run_id, version), status=status)


def _every_metric(run_id: int, version: tuple) -> None:
    """The values of every epoch metric, charts of those the curves leave out (learning rate, custom metrics),
    and the worker's CPU and memory over time."""
    metrics = _metrics(run_id, version)
    table = run_metrics.epoch_table(metrics)
    if table.empty:
        st.caption("Appears after the first epoch.")
    else:
        st.dataframe(table, hide_index=True, key=f"epochs_{run_id}",
                     column_config={c: st.column_config.NumberColumn(c.replace("_", " "), format="%.4g")
                                    for c in table.columns[1:]})
    others = run_metrics.other_metrics_figure(metrics)
    if others is not None:
        st.plotly_chart(others, key=f"other_metrics_{run_id}")
    usage = run_metrics.usage_figure(metrics)
    if usage is None:
        st.caption("CPU and memory appear while a run Train Lab trains does (runs from your own code, and runs "
                   "trained before this version, have none).")
    else:
        st.plotly_chart(usage, key=f"usage_{run_id}")


def run_detail(run_id: int, interval: float | None) -> None:
    """Draw run `run_id`, redrawn every `interval` seconds (None: not at all); a deleted run reruns the page."""

    @st.fragment(run_every=interval)
    def detail_panel(run_id: int) -> None:
        """The chosen run, refreshed while it trains."""
        if "runs_message" in st.session_state:
            st.toast(st.session_state.pop("runs_message"))
        run = jobs.get_run(run_id, actor=current_actor())
        if run is None:  # deleted here or elsewhere (or another's, in exam mode): redraw the page without it
            st.rerun()
        _detail(run)

    detail_panel(run_id)
