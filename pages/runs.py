"""Runs page: find runs (filters, sorting, pages), compare several, and look after one."""
import json

import streamlit as st

from core.services import jobs, sweeps
from core.store.queries import SORTABLE, RunQuery
from core.views import evaluation
from core.views.charts import training_curves
from core.views.compare import (
    X_AXES,
    CompareState,
    compare_figure,
    differing_config,
    final_metrics,
    group_figure,
    group_summary,
    metrics_csv,
    seed_groups,
)
from core.views.display import (
    count,
    duration,
    escape_markdown,
    for_display,
    percent,
    progress_text,
    runs_table,
    shorten,
)
from pages.common.handoff import request_train
from pages.common.live import watch_runs
from pages.common.nav import page_setup
from pages.common.tables import RUN_COLUMNS, RUN_COUNTS, RUN_PERCENT

page_setup("pages/runs.py")
st.title("Runs")
jobs.ensure_workers()


# A shared link restores the comparison: read the URL once per session into the widgets' state.
if "compare_runs" not in st.session_state:
    shared = CompareState.from_params(st.query_params.to_dict())
    st.session_state.update(compare_runs=shared.runs, compare_x=shared.x, compare_smooth=shared.smoothing,
                            compare_log=shared.log_y)

controls = st.columns([2, 1, 5], vertical_alignment="bottom")
live = controls[0].toggle("Live refresh", value=True, key="live")
every = controls[1].selectbox("Every", (1, 2, 5, 10), index=1, key="refresh_every", format_func=lambda s: f"{s} s",
                              disabled=not live)
activity = jobs.activity()
# Panels refresh only while something is queued or running; watch_runs notices when that changes.
interval = every if live and activity.active else None
if live and not activity.active:
    controls[2].caption("Nothing is training: the page updates by itself when a run starts.")
watch_runs(activity, enabled=live)

values = jobs.filter_values()
with st.expander("Filter and sort"):
    f = st.columns(4)
    status = f[0].multiselect("Status", ["queued", "running", "succeeded", "failed", "cancelled"], key="f_status")
    dataset = f[1].multiselect("Dataset", values["dataset"], key="f_dataset")
    architecture = f[2].multiselect("Architecture", values["architecture"], key="f_architecture")
    optimizer = f[3].multiselect("Optimizer", values["optimizer"], key="f_optimizer")
    g = st.columns(4)
    tag = g[0].selectbox("Tag", [""] + values["tag"], key="f_tag", format_func=lambda t: t or "any")
    sweep_names = {s.id: s.name for s in sweeps.sweeps()}
    if st.session_state.get("f_sweep") not in sweep_names:
        st.session_state["f_sweep"] = None
    sweep = g[0].selectbox("Sweep", [None, *sweep_names], key="f_sweep",
                           format_func=lambda i: "any" if i is None else f"#{i} {sweep_names[i]}")
    text = g[1].text_input("Search names, notes, tags", key="f_text")
    sort = g[2].selectbox("Sort by", list(SORTABLE), key="f_sort")
    descending = g[3].toggle("Descending", value=True, key="f_desc")
    page_size = g[3].selectbox("Per page", (25, 50, 100), index=1, key="f_page_size")
base_query = RunQuery(status=tuple(status), dataset=tuple(dataset), architecture=tuple(architecture),
                      optimizer=tuple(optimizer), tag=tag, text=text, sweep=sweep, sort=sort, descending=descending,
                      page_size=page_size)
# One query gives this page and the total; the page number is clamped when filters shrink the total.
requested = int(st.session_state.get("f_page", 1)) - 1
page_runs, total = jobs.query(RunQuery(**{**base_query.__dict__, "page": requested}))
pages = max(1, -(-total // page_size))
if requested >= pages:
    st.session_state["f_page"] = pages
    page_runs, total = jobs.query(RunQuery(**{**base_query.__dict__, "page": pages - 1}))
page = int(st.number_input(f"Page (of {pages})", 1, pages, key="f_page")) - 1 if pages > 1 else 0
run_query = RunQuery(**{**base_query.__dict__, "page": page})


@st.fragment(run_every=interval)
def runs_panel() -> None:
    """The table of this page of runs, re-drawn on its own; the widgets around it stay put."""
    runs, matching = jobs.query(run_query)
    if not runs:
        st.info("No runs yet. Start one on the Train page." if not matching and base_query == RunQuery(
            sort=sort, descending=descending, page_size=page_size) else "No runs match these filters.")
        st.page_link("pages/train.py", label="Go to Train", icon=":material/model_training:")
        return
    st.dataframe(for_display(runs_table(runs), RUN_PERCENT, RUN_COUNTS), hide_index=True, column_config=RUN_COLUMNS,
                 key="runs_table")
    first = run_query.page * run_query.page_size + 1
    st.caption(f"Showing {first}–{first + len(runs) - 1} of {matching} runs")


runs_panel()
if not page_runs:
    st.stop()

# -- compare --------------------------------------------------------------------------------
st.subheader("Compare")
by_id = {r.id: r for r in page_runs}
chosen_before = [i for i in st.session_state.get("compare_runs", [])]
extra = {r.id: r for r in jobs.runs_by_id([i for i in chosen_before if i not in by_id])}
options = {**by_id, **extra}
st.session_state["compare_runs"] = [i for i in chosen_before if i in options]
picked = st.multiselect("Runs to compare", list(options), key="compare_runs", max_selections=20,
                        format_func=lambda i: f"#{i} {shorten(options[i].name, 26)}")
chart_opts = st.columns([1, 2, 1], vertical_alignment="bottom")
x_axis = chart_opts[0].selectbox("x-axis", list(X_AXES), key="compare_x")
smoothing = chart_opts[1].slider("Smoothing (EMA)", 0.0, 0.99, step=0.01, key="compare_smooth")
log_y = chart_opts[2].toggle("Log-scale loss", key="compare_log")


@st.fragment(run_every=interval)
def compare_panel(ids: list[int]) -> None:
    """Curves and final metrics of the selected runs only, refreshed while they train."""
    runs = jobs.runs_by_id(ids)
    metrics = jobs.metrics_of(ids)
    st.plotly_chart(compare_figure(runs, metrics, x_axis, smoothing, log_y), key="compare_chart")
    st.dataframe(for_display(final_metrics(runs, metrics), ("test accuracy", "best val accuracy"), ("parameters",)),
                 hide_index=True, key="final_metrics", column_config={
                     "run": st.column_config.NumberColumn("#", width=48),
                     "name": st.column_config.TextColumn(width=190),
                     "status": st.column_config.TextColumn(width=90)})
    groups = seed_groups(runs)
    if groups:
        st.caption("Runs that differ only by seed: validation accuracy, mean ± one standard deviation")
        st.plotly_chart(group_figure(groups, metrics), key="seed_groups_chart")
        st.dataframe(group_summary(groups), hide_index=True, key="seed_groups", column_config={
            "test accuracy mean": st.column_config.NumberColumn(format="percent"),
            "± std": st.column_config.NumberColumn(format="percent")})
    differing = differing_config(runs)
    if len(differing.columns) > 1:
        st.caption("Settings that differ between these runs")
        st.dataframe(differing, hide_index=True, key="differing_config")
    st.download_button("Download metrics (CSV)", metrics_csv(runs, metrics), "train-lab-metrics.csv", "text/csv",
                       key="download_csv")


if picked:
    compare_panel(picked)
else:
    st.caption("Pick runs above to overlay their curves.")


# -- one run --------------------------------------------------------------------------------
# Callbacks of buttons inside a live fragment leave their message for the fragment to show: an element
# drawn by a callback during a fragment rerun would land at the top of the page.
def _say(message: str) -> None:
    st.session_state["runs_message"] = message


def _cancel(run_id: int) -> None:
    _say(f"Run #{run_id}: {jobs.cancel(run_id)}")


def _delete(run_id: int) -> None:
    st.session_state.pop("confirm_delete", None)
    try:
        jobs.delete(run_id)
    except jobs.JobError as exc:
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
        _say(f"Queued as run #{jobs.run_again(run_id)}")
    except Exception as exc:  # a config that no longer validates (e.g. its dataset was removed)
        _say(str(exc))


def _clone(run) -> None:
    """Hand this run's settings to the Train page, which opens with them to edit and start."""
    request_train(run.config_dict, f"{run.name} (copy)")


def _relabel(run_id: int) -> None:
    try:
        jobs.relabel_run(run_id, st.session_state[f"rename_{run_id}"], st.session_state[f"renote_{run_id}"],
                         st.session_state[f"retag_{run_id}"].split(","))
    except jobs.JobError as exc:
        st.session_state["relabel_error"] = str(exc)


def _actions(run) -> None:
    """Cancel for active runs; delete (after a confirmation) for finished ones; run again; exports."""
    cols = st.columns(4)
    if not run.is_finished:
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
    cols[1].button("Run again", key=f"again_{run.id}", on_click=_run_again, args=(run.id,))
    cols[2].download_button("Config (JSON)", json.dumps(run.config_dict, indent=2), f"run-{run.id}-config.json",
                            "application/json", key=f"config_{run.id}")
    model = jobs.model_file(run.id)
    if model:
        cols[3].download_button("Model (.keras)", model.read_bytes(), f"run-{run.id}.keras", key=f"model_{run.id}")


def _detail(run) -> None:
    st.subheader(f"Run #{run.id}")
    st.text(run.name)  # user text: shown as typed, never interpreted as markdown or HTML
    if run.tag_list:
        st.text("Tags: " + ", ".join(run.tag_list))  # user text, like the name
    st.progress(run.progress, text=progress_text(run))
    note = sweeps.sweep_note(run.id)
    if note:
        st.caption(escape_markdown(note))  # holds the sweep's name, user text: never markdown
    if run.notes:
        st.text(run.notes)
    figures = st.container(horizontal=True, gap="large")  # each as wide as it needs: never "17,06…"
    figures.metric("Test accuracy", percent(run.test_accuracy), width="content")
    figures.metric("Test loss", "—" if run.test_loss is None else f"{run.test_loss:.4f}", width="content")
    figures.metric("Parameters", count(run.param_count), width="content")
    figures.metric("Training time", duration(run.train_seconds), width="content")
    if run.error and run.status == "failed":
        st.error(escape_markdown(run.error), icon=":material/error:")
        if run.traceback:
            with st.expander("Traceback"):
                st.code(run.traceback, language="text")
    elif run.error and run.status == "cancelled":  # by the user, or because the job queue refused it
        st.info(escape_markdown(run.error), icon=":material/cancel:")
    st.plotly_chart(training_curves(jobs.run_metrics(run.id), status=run.status), key=f"curves_{run.id}")
    _actions(run)
    predictions = evaluation.load_predictions(jobs.run_folder(run.id)) if run.status == "succeeded" else None
    if predictions is not None:
        with st.expander("Test results by class"):
            left, right = st.columns([3, 2])
            left.plotly_chart(evaluation.confusion_figure(predictions), key=f"confusion_{run.id}")
            right.dataframe(evaluation.per_class_accuracy(predictions), hide_index=True, key=f"per_class_{run.id}",
                            column_config={"accuracy": st.column_config.ProgressColumn(
                                min_value=0, max_value=1, format="percent")})
            if len(predictions.mistakes):
                names = predictions.class_names
                st.caption("Misclassified test images: true → predicted")
                st.image([m if m.shape[-1] == 3 else m[..., 0] for m in predictions.mistakes], width=72, clamp=True,
                         caption=[f"{names[t]} → {names[p]}" for t, p in zip(predictions.mistakes_true,
                                                                               predictions.mistakes_pred)])


st.subheader("One run")
wanted = st.query_params.get("run") or st.session_state.get("selected_run_id")
ids = list(by_id)
try:
    wanted = int(wanted)
except (TypeError, ValueError):
    wanted = None
linked = jobs.get_run(wanted) if wanted is not None and wanted not in ids else None
if linked is not None:  # a link to a run on another page of the table
    ids.append(wanted)
    by_id[wanted] = linked
chosen = st.selectbox("Show run", ids, index=ids.index(wanted) if wanted in ids else 0,
                      format_func=lambda i: f"#{i} · {shorten(by_id[i].name, 80)} · {by_id[i].status}")
st.session_state["selected_run_id"] = chosen


@st.fragment(run_every=interval)
def detail_panel(run_id: int) -> None:
    """The chosen run, refreshed while it trains."""
    if "runs_message" in st.session_state:
        st.toast(st.session_state.pop("runs_message"))
    run = jobs.get_run(run_id)
    if run is None:  # deleted here or elsewhere: redraw the page without it
        st.rerun()
    _detail(run)


detail_panel(chosen)
# Outside the live fragment: a click there reruns only the fragment, and switching pages needs a full run.
if st.button("Clone and edit on the Train page", key=f"clone_{chosen}", on_click=_clone, args=(by_id[chosen],)):
    st.switch_page("pages/train.py")  # the callback left the run's settings for the Train page
with st.expander("Name, notes and tags"):
    run = by_id[chosen]
    # No max_chars: a longer text is refused by the store's check with a message, never cut silently.
    st.text_input("Name", run.name, key=f"rename_{chosen}")
    st.text_area("Notes", run.notes, key=f"renote_{chosen}")
    st.text_input("Tags (comma-separated)", run.tags, key=f"retag_{chosen}")
    st.button("Save", key=f"relabel_{chosen}", on_click=_relabel, args=(chosen,))
    if "relabel_error" in st.session_state:
        st.error(st.session_state.pop("relabel_error"))
with st.expander("Configuration"):
    st.json(by_id[chosen].config_dict)

# The URL always describes what is on screen, so it can be shared.
st.query_params.update({**CompareState(list(picked), x_axis, smoothing, log_y).to_params(), "run": str(chosen)})
