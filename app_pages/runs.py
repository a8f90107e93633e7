"""Runs page: every run with live status and progress, curves of the chosen run, cancel and delete."""
import streamlit as st

from core import jobs
from core.charts import training_curves
from core.display import count, duration, escape_markdown, percent, progress_text, runs_table

st.title("Runs")
jobs.ensure_workers()

controls = st.columns([2, 1, 5], vertical_alignment="bottom")
live = controls[0].toggle("Live refresh", value=True, key="live")
every = controls[1].selectbox("Every", (1, 2, 5, 10), index=1, key="refresh_every", format_func=lambda s: f"{s} s",
                              disabled=not live)

TABLE_COLUMNS = {
    "id": st.column_config.NumberColumn("#", width="small"),
    "progress": st.column_config.ProgressColumn("progress", min_value=0, max_value=100, format="%.0f%%"),
    "test accuracy": st.column_config.NumberColumn("test accuracy", format="percent"),
    "parameters": st.column_config.NumberColumn("parameters", format="localized"),
}


def _selected_run_id(ids: list[int]) -> int:
    """The run to show in detail: the URL's `run`, else the last one chosen, else the newest."""
    wanted = st.query_params.get("run") or st.session_state.get("selected_run_id")
    try:
        wanted = int(wanted)
    except (TypeError, ValueError):
        wanted = None
    return wanted if wanted in ids else ids[0]


def _cancel(run_id: int) -> None:
    st.toast(f"Run #{run_id}: {jobs.cancel(run_id)}")


def _delete(run_id: int) -> None:
    st.session_state.pop("confirm_delete", None)
    try:
        jobs.delete(run_id)
    except jobs.JobError as exc:
        st.toast(str(exc))
        return
    st.session_state.pop("selected_run_id", None)
    st.query_params.pop("run", None)
    st.toast(f"Run #{run_id} deleted")


def _set_confirm(run_id: int | None) -> None:
    st.session_state["confirm_delete"] = run_id


def _actions(run) -> None:
    """Cancel for active runs; delete (after a confirmation) for finished ones."""
    if not run.is_finished:
        st.button("Cancel run", key=f"cancel_{run.id}", disabled=bool(run.cancel_requested),
                  on_click=_cancel, args=(run.id,),
                  help="Stopping…" if run.cancel_requested else "Queued runs stop at once, running ones after the current batch.")
    elif st.session_state.get("confirm_delete") == run.id:
        st.warning(f"Delete run #{run.id}, its curves and its model file? This cannot be undone.")
        yes, no = st.columns(2)
        yes.button("Yes, delete", type="primary", key=f"delete_yes_{run.id}", on_click=_delete, args=(run.id,))
        no.button("Keep it", key=f"delete_no_{run.id}", on_click=_set_confirm, args=(None,))
    else:
        st.button("Delete run", key=f"delete_{run.id}", on_click=_set_confirm, args=(run.id,))


def _detail(run) -> None:
    st.subheader(f"Run #{run.id}")
    st.text(run.name)  # user text: shown as typed, never interpreted as markdown or HTML
    st.progress(run.progress, text=progress_text(run))
    if run.notes:
        st.text(run.notes)
    cols = st.columns(4)
    cols[0].metric("Test accuracy", percent(run.test_accuracy))
    cols[1].metric("Test loss", "—" if run.test_loss is None else f"{run.test_loss:.4f}")
    cols[2].metric("Parameters", count(run.param_count))
    cols[3].metric("Training time", duration(run.train_seconds))
    if run.error and run.status == "failed":
        st.error(escape_markdown(run.error), icon=":material/error:")
        if run.traceback:
            with st.expander("Traceback"):
                st.code(run.traceback, language="text")
    st.plotly_chart(training_curves(jobs.run_metrics(run.id)), key=f"curves_{run.id}")
    _actions(run)
    with st.expander("Configuration"):
        st.json(run.config_dict)


@st.fragment(run_every=every if live else None)
def runs_panel() -> None:
    """Re-drawn on its own every few seconds; the rest of the page (and its widgets) stays put."""
    runs = jobs.list_runs()
    if not runs:
        st.info("No runs yet. Start one on the Train page.")
        st.page_link("app_pages/train.py", label="Go to Train", icon=":material/model_training:")
        return
    st.dataframe(runs_table(runs), hide_index=True, column_config=TABLE_COLUMNS, key="runs_table")
    by_id = {run.id: run for run in runs}
    ids = list(by_id)
    chosen = st.selectbox("Show run", ids, index=ids.index(_selected_run_id(ids)),
                          format_func=lambda i: f"#{i} · {by_id[i].name} · {by_id[i].status}")
    st.session_state["selected_run_id"] = chosen
    st.query_params["run"] = str(chosen)  # a shareable link to this run
    _detail(by_id[chosen])


runs_panel()
