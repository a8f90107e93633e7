"""The Runs page's filters and sort: what a user asks of the run table, as a RunQuery."""
import streamlit as st

from core.domain.people import Actor
from core.domain.run_query import SORT_KEYS, RunQuery, least_share
from core.domain.statuses import STATUSES
from core.errors import Refusal
from core.services import jobs, sweeps
from pages.common.widgets import number, refusal


def run_filters(actor: Actor | None) -> RunQuery:
    """The "Filter and sort" expander; returns the query it describes (first page)."""
    values = jobs.filter_values(actor=actor)
    with st.expander("Filter and sort"):
        # Two fields a row: four a row left a 1024 px window 120 px each ("Choose optic", a tiny number box).
        f = st.columns(2)
        status = f[0].multiselect("Status", list(STATUSES), key="f_status")
        dataset = f[1].multiselect("Dataset", values["dataset"], key="f_dataset")
        architecture = f[0].multiselect("Architecture", values["architecture"], key="f_architecture")
        optimizer = f[1].multiselect("Optimizer", values["optimizer"], key="f_optimizer")
        tag = f[0].selectbox("Tag", [""] + values["tag"], key="f_tag", format_func=lambda t: t or "any")
        sweep_names = {s.id: s.name for s in sweeps.sweeps(actor=actor)}
        if st.session_state.get("f_sweep") not in sweep_names:
            st.session_state["f_sweep"] = None
        sweep = f[1].selectbox("Sweep", [None, *sweep_names], key="f_sweep",
                               format_func=lambda i: "any" if i is None else f"#{i} {sweep_names[i]}")
        text = f[0].text_input("Search names, notes, tags", key="f_text")
        # No range of its own: Streamlit's ranged field kept filtering by the last good value behind a red "!".
        typed = number(f[1], "Val accuracy at least (%)", "f_val",
                       help="Only runs whose best epoch reached this validation accuracy; empty: any")
        try:
            least = least_share(typed)
        except Refusal as exc:
            f[1].error(refusal(exc))
            least = None
        g = st.columns(3, vertical_alignment="bottom")
        sort = g[0].selectbox("Sort by", list(SORT_KEYS), key="f_sort")
        descending = g[1].toggle("Descending", value=True, key="f_desc")
        page_size = g[2].selectbox("Per page", (25, 50, 100), index=1, key="f_page_size")
    return RunQuery(status=tuple(status), dataset=tuple(dataset), architecture=tuple(architecture),
                    optimizer=tuple(optimizer), tag=tag, text=text, sweep=sweep, sort=sort, descending=descending,
                    page_size=page_size, min_val_accuracy=least)
