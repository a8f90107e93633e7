"""Live pages that refresh only while something is queued or running, and notice new runs."""
import streamlit as st

from core.services import jobs

WATCH_SECONDS = 2  # how often an open page looks for started, finished or deleted runs while some are active
IDLE_WATCH_SECONDS = 10  # ... and for a new run while none is: each look costs the server a fragment run


def watch_runs(seen: jobs.Activity, enabled: bool = True, every: float | None = None,
               pace: float | None = None) -> None:
    """Rerun the whole page when the runs change (created, started, ended, deleted).

    The page's live parts refresh on their own only while runs are active; this invisible fragment
    (one small query, nothing drawn, so nothing fades) makes the page pick up a new run, switch live
    refresh on and off, and show current statuses in its pickers, without a reload. It looks every
    WATCH_SECONDS while runs are active and every IDLE_WATCH_SECONDS otherwise (a watching class costs
    the server almost nothing while nobody trains). With `every` (the user's choice) and `pace` (the
    live parts' interval in effect), it also redraws the page when the pace should change.
    """

    @st.fragment(run_every=(WATCH_SECONDS if seen.active else IDLE_WATCH_SECONDS) if enabled else None)
    def _watch() -> None:
        now = jobs.activity()
        if now.fingerprint != seen.fingerprint or (pace is not None and now.pace(every) != pace):
            st.rerun()  # runs changed, or the live parts' pace did (a run left its first minute)

    _watch()


def warm_workers_once() -> None:
    """Start the worker pool once per browser session (not on every rerun: it checks a lock file),
    so the first Start meets workers that have TensorFlow loaded. Submitting starts a dead pool anyway."""
    if "workers_warmed" not in st.session_state:
        st.session_state["workers_warmed"] = True
        jobs.warm_workers()
