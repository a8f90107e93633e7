"""Classroom entry point: the app behind a sign-in page (`python -m core serve --classroom` runs it).

Streamlit serves app.py and pages/ as usual; the sign-in routes and the gate in front of every request
come from core/web/signin.py, the JSON API for students' own scripts from core/web/track_api.py. On a laptop
`make run` serves app.py directly, with no sign-in.
"""
import streamlit as st
from starlette.middleware import Middleware

from core.web import track_api
from core.web.signin import SignInRequired, routes

app = st.App("app.py", routes=routes() + track_api.routes(), middleware=[Middleware(SignInRequired)])
