"""Live pages that refresh only while something is queued or running, and notice new runs."""
import streamlit as st

from core.services import jobs

WATCH_SECONDS = 2  # how often an open page looks for new, started, finished or deleted runs


def watch_runs(seen: jobs.Activity, enabled: bool = True) -> None:
    """Rerun the whole page when the runs change (created, started, ended, deleted).

    The page's live parts refresh on their own only while runs are active; this invisible fragment
    (one small query, nothing drawn, so nothing fades) makes the page pick up a new run, switch live
    refresh on and off, and show current statuses in its pickers, without a reload.
    """

    @st.fragment(run_every=WATCH_SECONDS if enabled else None)
    def _watch() -> None:
        if jobs.activity().fingerprint != seen.fingerprint:
            st.rerun()

    _watch()


def warm_workers_once() -> None:
    """Start the worker pool once per browser session (not on every rerun: it checks a lock file),
    so the first Start meets workers that have TensorFlow loaded. Submitting starts a dead pool anyway."""
    if "workers_warmed" not in st.session_state:
        st.session_state["workers_warmed"] = True
        jobs.warm_workers()
