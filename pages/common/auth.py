"""Who this browser session is: the signed-in actor in classroom mode, nobody on a laptop.

The browser's session cookie (set by the sign-in page, core/web/signin.py) comes with the app's
WebSocket, so the pages read it from `st.context.cookies`; every action passes the actor to the
services, which enforce the rules.
"""
from __future__ import annotations

import streamlit as st

from core.domain.people import OPERATOR, Actor, may_change
from core.services import accounts
from core.settings import load_settings
from core.web.signin import COOKIE, gate_active


@st.cache_data(ttl=10, show_spinner=False, max_entries=1000)
def _actor_for(token: str, store: str) -> Actor | None:
    # A page asks several times per run; a sign-out or expiry is seen within these 10 s.
    return accounts.actor_for(token)


def _session_token() -> str | None:
    """The session token the browser's cookie carries (the page tests stand in a signed-in browser here)."""
    return st.context.cookies.get(COOKIE)


def current_actor() -> Actor | None:
    """The signed-in actor (classroom mode), or None on a laptop (the services then act as the operator)."""
    settings = load_settings()
    if not settings.classroom:
        return None
    token = _session_token()
    return _actor_for(token, str(settings.store_location)) if token else None


def may_act_on(owner: str) -> bool:
    """Whether this session may change what `owner` made (buttons are shown only then)."""
    return may_change(current_actor() or OPERATOR, owner)


def require_sign_in() -> Actor | None:
    """In classroom mode, stop the page with one line unless the session is signed in; the actor."""
    settings = load_settings()
    if not settings.classroom:
        return None
    if not gate_active():
        st.error("Classroom mode is on but this server has no sign-in: start it with "
                 "`python -m core serve --classroom` (or `make classroom`).", icon=":material/lock:")
        st.stop()
    actor = current_actor()
    if actor is None:
        st.error("Your sign-in has ended. Sign in again to go on.", icon=":material/lock:")
        st.markdown('<a href="/signin" target="_self">Sign in</a>', unsafe_allow_html=True)  # in this tab
        st.stop()
    return actor
