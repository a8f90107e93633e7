"""Sweeps page: define a grid or random search, see its size and duration, start it, and follow
its results (table, charts, retrain of the best setting beside the assignment's targets)."""
import time

import streamlit as st

from core.services import catalog, jobs, sweeps
from core.settings import load_settings
from pages.common.auth import current_actor
from pages.common.handoff import assignment_requested, request_compare
from pages.common.nav import page_setup
from pages.common.sweep_form import edit_as_new, load_assignment_preset, new_sweep_form
from pages.common.sweep_results import sweep_results

page_setup("pages/sweeps.py")
st.title("Sweeps")
st.caption("Try every combination of architectures, optimizers and learning rates (or a random sample of them) "
           "as ordinary queued runs, then retrain the best setting and check it on the test split.")
jobs.ensure_workers()
settings = load_settings()
datasets = {d.key: d for d in catalog.entries(settings, current_actor()) if d.available}
# A sweep just started: show its results (set before the widgets that hold these values exist).
if "sweep_started" in st.session_state:
    st.session_state.update(sweep_view="Results", sweep_selected=st.session_state.pop("sweep_started"))
if assignment_requested():  # the Lessons page's assignment lesson
    load_assignment_preset(datasets)
    st.session_state["sweep_view"] = "New sweep"
all_sweeps = sweeps.sweeps(settings, actor=current_actor())
st.session_state.setdefault("sweep_view", "Results" if all_sweeps else "New sweep")
view = st.radio("View", ["Results", "New sweep"], key="sweep_view", horizontal=True, label_visibility="collapsed")

# -- a new sweep -------------------------------------------------------------------------------
if view == "New sweep":
    new_sweep_form(datasets, settings)
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


was_active = sweeps.is_active(sweep.id, settings, actor=current_actor())


sweep_results(sweep.id, was_active, settings)
cols = st.columns(2)
if cols[0].button("Compare the top 5 on the Runs page", key="sw_compare", icon=":material/monitoring:"):
    runs = sweeps.runs_frame(sweep.id, settings, actor=current_actor())
    top = sweeps.trials_table(runs).sort_values("val_accuracy", ascending=False)
    request_compare(top["run"].head(5).tolist(), sweep.id)
    st.switch_page("pages/runs.py")
cols[1].button("Edit as a new sweep", key="sw_repeat", icon=":material/edit:", on_click=edit_as_new,
               args=(sweep.spec, datasets), help="The form, filled with this sweep's settings.")
