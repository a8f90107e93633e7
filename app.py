"""Home page: what is running now, recent runs, and where to go next."""
import streamlit as st

from core.services import jobs, model_files
from core.views.display import for_display, runs_table
from pages.common.auth import current_actor
from pages.common.live import warm_workers_once, watch_runs
from pages.common.nav import page_setup
from pages.common.tables import RUN_COLUMNS, RUN_COUNTS, RUN_PERCENT

page_setup("app.py")
st.title("Train Lab")
st.write("Train Keras models in the background, watch their curves grow live, and compare runs.")
warm_workers_once()

links = st.container(horizontal=True)  # each link as wide as its label: columns cut one off at 1024 px
links.page_link("pages/train.py", label="Start a training run", icon=":material/model_training:")
links.page_link("pages/runs.py", label="Watch and compare runs", icon=":material/monitoring:")


activity = jobs.activity()
watch_runs(activity)


@st.fragment(run_every=3 if activity.active else None)  # still while nothing is queued or running
def overview() -> None:
    """Counts and the latest runs, refreshed on their own."""
    summary = jobs.summary(actor=current_actor())
    cols = st.columns(4)
    cols[0].metric("Running", summary.running)
    cols[1].metric("Queued", summary.queued)
    cols[2].metric("Finished", summary.finished)
    if summary.on_cluster:
        cols[3].metric("Runs at once", summary.workers, help="What the Ray cluster's nodes hold of runs of the "
                       "default size; the Train page names the nodes.")
    else:
        cols[3].metric("Workers", f"{summary.workers} {'up' if summary.pool_running else 'idle'}")
    recent = jobs.list_runs(limit=10, actor=current_actor())
    if not recent:
        st.info("No runs yet: the bundled 8×8 digits dataset trains in seconds with no download. "
                "Open the Train page and press Start.")
        return
    st.subheader("Recent runs")
    table = runs_table(recent, validation=jobs.validation_accuracy(recent), titles=model_files.titles()).drop(
        columns=["detail"])
    st.dataframe(for_display(table, RUN_PERCENT, RUN_COUNTS), hide_index=True, column_config=RUN_COLUMNS)


overview()
