"""Under the Train page's Start button: the started run's progress and live curves, growing in place."""
import streamlit as st

from core.domain.statuses import ACTIVE_STATUSES, FAILED
from core.services import jobs
from core.views.charts import training_curves
from core.views.display import escape_markdown, progress_text, shorten
from pages.common.auth import current_actor


def started_run_view() -> None:
    """The run last started on this page, live; before any, the empty chart where its curves will grow."""
    if "train_started" in st.session_state:
        started = jobs.get_run(st.session_state["train_started"], actor=current_actor())
        if started is None:  # deleted meanwhile
            st.session_state.pop("train_started")
        else:
            # The run's curve grows right here: polled fast until its first point, then every second,
            # not at all once it has ended (the fragment asks for a full rerun to change its pace).
            waiting = started.status in ACTIVE_STATUSES and started.batch == 0
            pace = 0.25 if waiting else (1.0 if not started.is_finished else None)

            @st.fragment(run_every=pace)
            def started_run() -> None:
                """The last run started here: progress and live curves, like the Runs page's."""
                run = jobs.get_run(started.id, actor=current_actor())
                if run is None:
                    st.rerun()
                # The bar's text is markdown: the name is user text (a clone copies another's), never a link here.
                st.progress(run.progress,
                            text=f"Run #{run.id} · {escape_markdown(shorten(run.name, 60))} · {progress_text(run)}")
                if run.error and run.status == FAILED:
                    st.error(escape_markdown(run.error), icon=":material/error:")
                curves = training_curves(jobs.run_metrics(run.id, actor=current_actor()), height=280, status=run.status)
                st.plotly_chart(curves,
                                key="train_live_chart")
                st.page_link("pages/runs.py", label="Watch it on the Runs page",
                             icon=":material/monitoring:", query_params={"run": str(run.id)})
                if (run.batch == 0) != (started.batch == 0) or run.is_finished != started.is_finished:
                    st.rerun()  # after drawing, so the first point shows at once; the full run sets the new pace

            started_run()
    else:
        # Where the curves will grow, drawn before the first Start: the browser loads its chart code now,
        # not in the second after Start.
        st.plotly_chart(training_curves(None, height=280, status="not started"), key="train_live_chart")
