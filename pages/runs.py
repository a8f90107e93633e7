"""Runs page: find runs (filters, sorting, pages), compare several, and look after one."""

import streamlit as st

from core.domain.run_query import RunQuery, run_number
from core.domain.statuses import ACTIVE_STATUSES, QUEUED
from core.services import jobs, model_files
from core.views.compare import EMA_HELP, X_AXES, CompareState
from core.views.display import for_display, runs_table, shorten
from core.views.model_files import NOT_CLONED, is_scored
from core.views.tracked import NOT_AGAIN, is_tracked
from pages.common.auth import current_actor, may_act_on
from pages.common.compare_view import compare_view
from pages.common.handoff import apply_compare_request
from pages.common.live import watch_runs
from pages.common.nav import page_setup
from pages.common.queue import queue_places
from pages.common.run_detail import clone, relabel, run_detail
from pages.common.run_filters import run_filters
from pages.common.tables import RUN_COLUMNS, RUN_COUNTS, RUN_PERCENT

page_setup("pages/runs.py")
st.title("Runs")
jobs.ensure_workers()


apply_compare_request()  # e.g. the Sweeps page's "Compare the top 5"
# A shared link restores the comparison: read the URL once per session into the widgets' state.
if "compare_runs" not in st.session_state:
    shared = CompareState.from_params(st.query_params.to_dict())
    st.session_state.update(compare_runs=shared.runs, compare_x=shared.x, compare_smooth=shared.smoothing,
                            compare_log=shared.log_y)

controls = st.columns([2, 2, 4], vertical_alignment="bottom")
live = controls[0].toggle("Live refresh", value=True, key="live")
every = controls[1].selectbox("Every", (1, 2, 5, 10), index=1, key="refresh_every", format_func=lambda s: f"{s} s",
                              help="While a run is in its first minute; after that at least every 5 s.",
                              disabled=not live)
activity = jobs.activity()
# Panels refresh only while something is queued or running; watch_runs notices when that changes.
interval = activity.pace(every) if live and activity.active else None
if live and not activity.active:
    controls[2].caption("Nothing is training: the page updates by itself when a run starts.")
watch_runs(activity, enabled=live, every=every, pace=interval)

actor = current_actor()
base_query = run_filters(actor)
# One query gives this page and the total; the page number is clamped when filters shrink the total.
requested = int(st.session_state.get("f_page", 1)) - 1
page_runs, total = jobs.query(RunQuery(**{**base_query.__dict__, "page": requested}), actor=actor)
pages = max(1, -(-total // base_query.page_size))
if requested >= pages:
    st.session_state["f_page"] = pages
    page_runs, total = jobs.query(RunQuery(**{**base_query.__dict__, "page": pages - 1}), actor=actor)
page = int(st.number_input(f"Page (of {pages})", 1, pages, key="f_page")) - 1 if pages > 1 else 0
run_query = RunQuery(**{**base_query.__dict__, "page": page})


@st.fragment(run_every=interval)
def runs_panel() -> None:
    """The table of this page of runs, re-drawn on its own; the widgets around it stay put."""
    runs, matching = jobs.query(run_query, actor=actor)
    if not runs:
        st.info("No runs match these filters." if matching or base_query.filtered else
                "No runs yet. Start one on the Train page.")
        st.page_link("pages/train.py", label="Go to Train", icon=":material/model_training:")
        return
    places = queue_places(activity.fingerprint) if any(r.status == QUEUED for r in runs) else {}
    table = runs_table(runs, places, jobs.validation_accuracy(runs), model_files.titles())
    st.dataframe(for_display(table, RUN_PERCENT, RUN_COUNTS), hide_index=True, column_config=RUN_COLUMNS,
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
extra = {r.id: r for r in jobs.runs_by_id([i for i in chosen_before if i not in by_id], actor=actor)}
options = {**by_id, **extra}
st.session_state["compare_runs"] = [i for i in chosen_before if i in options]
picked = st.multiselect("Runs to compare", list(options), key="compare_runs", max_selections=20,
                        format_func=lambda i: f"#{i} {shorten(options[i].name, 26)}")
chart_opts = st.columns([1, 2, 1], vertical_alignment="bottom")
x_axis = chart_opts[0].selectbox("x-axis", list(X_AXES), key="compare_x")
smoothing = chart_opts[1].slider("Smoothing (EMA)", 0.0, 0.99, step=0.01, key="compare_smooth", help=EMA_HELP)
log_y = chart_opts[2].toggle("Log-scale loss", key="compare_log")

if picked:
    # Only a comparison with a queued or running run refreshes; watch_runs redraws the page when one ends.
    compare_view(picked, x_axis, smoothing, log_y, interval if any(options[i].status in ACTIVE_STATUSES for i in picked)
                 else None)
else:
    st.caption("Pick runs above to overlay their curves.")


# -- one run --------------------------------------------------------------------------------
st.subheader("One run")
wanted = st.query_params.get("run") or st.session_state.get("selected_run_id")
ids = list(by_id)
wanted = run_number(wanted)
linked = jobs.get_run(wanted, actor=actor) if wanted is not None and wanted not in ids else None
if linked is not None:  # a link to a run on another page of the table
    ids.append(wanted)
    by_id[wanted] = linked
elif wanted is not None and wanted not in ids and st.query_params.get("run"):
    st.info(f"Run #{wanted} is not here: it was deleted, or it is not yours to see.", icon=":material/info:")
chosen = st.selectbox("Show run", ids, index=ids.index(wanted) if wanted in ids else 0,
                      format_func=lambda i: f"#{i} · {shorten(by_id[i].name, 80)} · {by_id[i].status}")
st.session_state["selected_run_id"] = chosen


run_detail(chosen, interval if by_id[chosen].status in ACTIVE_STATUSES else None)
# Outside the live fragment: a click there reruns only the fragment, and switching pages needs a full run.
not_cloned = NOT_AGAIN if is_tracked(by_id[chosen]) else NOT_CLONED if is_scored(by_id[chosen]) else None
if st.button("Clone and edit on the Train page", key=f"clone_{chosen}", on_click=clone, args=(by_id[chosen],),
             disabled=not_cloned is not None, help=not_cloned):
    st.switch_page("pages/train.py")  # the callback left the run's settings for the Train page
run = by_id[chosen]
if may_act_on(run.owner):  # another's run: no form at all (the service would refuse the Save)
    with st.expander("Name, notes and tags"):
        # No max_chars: a longer text is refused by the store's check with a message, never cut silently.
        st.text_input("Name", run.name, key=f"rename_{chosen}")
        st.text_area("Notes", run.notes, key=f"renote_{chosen}")
        st.text_input("Tags (comma-separated)", run.tags, key=f"retag_{chosen}")
        st.button("Save", key=f"relabel_{chosen}", on_click=relabel, args=(chosen,))
        if "relabel_error" in st.session_state:
            st.error(st.session_state.pop("relabel_error"))
with st.expander("Configuration"):
    st.json(by_id[chosen].config_dict)

# The URL always describes what is on screen, so it can be shared.
st.query_params.update({**CompareState(list(picked), x_axis, smoothing, log_y).to_params(), "run": str(chosen)})
