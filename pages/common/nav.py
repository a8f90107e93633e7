"""Page chrome every page shares: the browser tab's title and icon, the wide layout, and the sidebar.

Pages live in `pages/`, which Streamlit serves as its classic multipage app: each page script runs
on its own (app.py is the home page), from its direct URL as well as from a link. So each page calls
`page_setup` first, and the sidebar is drawn here with `st.page_link` in our order with our titles
and icons; Streamlit's automatic one is hidden by `client.showSidebarNavigation = false`.
"""
from __future__ import annotations

from typing import NamedTuple

import streamlit as st

from core.services import jobs
from core.services.jobs import StoreError
from core.views.display import escape_markdown
from core.web import streamlit_hooks
from pages.common.auth import require_sign_in
from pages.common.widgets import refusal


class PageEntry(NamedTuple):
    """One page of the app: its script (relative to app.py), title and Material icon."""

    path: str
    title: str
    icon: str
    teachers_only: bool = False  # shown in the sidebar only to a teacher signed in to a classroom


PAGES = (
    PageEntry("app.py", "Home", ":material/home:"),
    PageEntry("pages/lessons.py", "Lessons", ":material/school:"),
    PageEntry("pages/train.py", "Train", ":material/model_training:"),
    PageEntry("pages/runs.py", "Runs", ":material/monitoring:"),
    PageEntry("pages/sweeps.py", "Sweeps", ":material/tune:"),
    PageEntry("pages/models.py", "Models", ":material/account_tree:"),
    PageEntry("pages/augment.py", "Augment", ":material/auto_awesome:"),
    PageEntry("pages/data.py", "Data", ":material/dataset:"),
    PageEntry("pages/own_code.py", "Your code", ":material/code:"),
    PageEntry("pages/teacher.py", "Class", ":material/groups:", teachers_only=True),
)
_BY_PATH = {p.path: p for p in PAGES}
# A page says the database is unreachable after this long instead of the 30 s a worker waits through a
# restart; a page opened again (or its next live refresh) finds the server back.
PAGE_WAIT_SECONDS = 3.0
SIGN_OUT_LINK = '<a href="/signout" target="_self">Sign out</a>'  # a constant: no user text in this HTML


def page_setup(path: str) -> PageEntry:
    """Set the tab title, icon and layout of page `path`, and draw the sidebar; call it first."""
    entry = _BY_PATH[path]
    streamlit_hooks.install()
    title = "Train Lab" if entry.path == "app.py" else f"{entry.title} · Train Lab"
    st.set_page_config(page_title=title, page_icon=entry.icon, layout="wide")
    try:
        jobs.check_store(wait_seconds=PAGE_WAIT_SECONDS)
    except StoreError as exc:  # one line on every page instead of a traceback; nothing else runs
        st.error(refusal(exc), icon=":material/database:")
        st.stop()
    actor = require_sign_in()  # classroom mode: nothing below runs for a browser that is not signed in
    with st.sidebar:
        for page in PAGES:
            if not page.teachers_only or (actor is not None and actor.is_teacher):
                st.page_link(page.path, label=page.title, icon=page.icon)
        if actor is not None:
            st.divider()
            st.caption(f"Signed in as **{escape_markdown(actor.name)}** ({actor.role})")
            # A link in this tab (st.link_button opens a new one): the sign-out route clears the cookie.
            st.markdown(SIGN_OUT_LINK, unsafe_allow_html=True)
    return entry

