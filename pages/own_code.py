"""Your code: report your own Keras script or notebook to this Train Lab (the three ways, the client from this
server, a student's API keys). Snippets and tables come from core/views/own_code.py; keys from the services."""
import streamlit as st

from core.errors import Refusal
from core.services import api_keys, client_package
from core.settings import load_settings
from core.views.own_code import (
    ARGUMENTS,
    AUTOLOG,
    CALLBACK,
    CAPTURED,
    TRACK_COMMAND,
    environment,
    install_command,
    keys_table,
    server_address,
)
from pages.common.auth import current_actor
from pages.common.nav import page_setup
from pages.common.widgets import refusal

KEY_LABELS = {"label": "Label", "key": "Key"}  # the fields a key's refusal names, as this page labels them
page_setup("pages/own_code.py")
settings = load_settings()
actor = current_actor()
st.title("Your code")
st.markdown("Train your own Keras script or notebook wherever it runs, and watch it here beside the course's runs: "
            "live curves, comparisons, the class's board. Training never waits for Train Lab: what cannot be "
            "sent at once waits on your machine and follows later.")

st.subheader("Three ways to report a run")
st.markdown("**A script, unchanged**: every `model.fit` in it becomes a run.")
st.code(TRACK_COMMAND if not settings.classroom else "python -m trainlab track my_script.py", "bash")
st.caption(ARGUMENTS)
st.markdown("**In a notebook or a script**, once at the top:")
st.code(AUTOLOG, "python")
st.markdown("**Or per fit**, with a callback:")
st.code(CALLBACK, "python")
st.caption(CAPTURED)

address = server_address(st.context.url)
if not settings.classroom:
    st.subheader("On this computer")
    st.markdown("Use Train Lab's own Python (`.venv/bin/python` in its folder) from any folder: for the command "
                "above, or to start your notebook (`.venv/bin/python -m pip install jupyter`, then "
                "`.venv/bin/python -m jupyter lab`). The client (`trainlab`) reports straight into this lab; if the "
                "lab could not take a report, `.venv/bin/python -m core sync` sends what was left.")
    st.stop()

st.subheader("On your laptop")
st.markdown("Install the client from this server (nothing else is downloaded: it needs only your own Keras), "
            "then give your script this server's address and one of your keys:")
st.code(install_command(address, client_package.WHEEL_NAME), "bash", wrap_lines=True)
st.code(environment(address), "bash")
st.caption("If your laptop loses the network, training goes on and the points wait in ~/.trainlab/spool; they "
           "are sent when the server answers again, or with `python -m trainlab sync`.")

st.subheader("Your API keys")
if actor is None:
    st.info("Sign in to make a key.", icon=":material/key:")
    st.stop()
st.caption("A key reports runs as you, and only you: keep it to yourself, one per laptop. It is shown once, when "
           "made; revoke one you lost.")
with st.form("new_key"):
    label = st.text_input("Label", "laptop", help="What the key is for, to tell your keys apart")
    made = st.form_submit_button("Make a key")
if made:
    try:
        st.session_state["new_api_key"] = api_keys.make(actor, label, settings)
    except Refusal as exc:
        st.error(refusal(exc, KEY_LABELS), icon=":material/error:")
if "new_api_key" in st.session_state:  # kept until dismissed: a second click on Make a key must not hide it
    st.success("Your new key: copy it now. Once you press Done, it is never shown again.", icon=":material/key:")
    st.code(environment(address, st.session_state["new_api_key"]), "bash", wrap_lines=True)
    st.button("Done, I copied it", key="key_copied", on_click=st.session_state.pop, args=("new_api_key",))
keys = api_keys.keys(actor, settings)
if keys:
    st.dataframe(keys_table(keys), hide_index=True, key="api_keys")
    live = {k.hint: k.label for k in keys if not k.revoked_at}
    if live:
        with st.form("revoke_key"):
            hint = st.selectbox("Key", list(live), format_func=lambda h: f"{h}… ({live[h]})")
            if st.form_submit_button("Revoke"):
                try:
                    api_keys.revoke(actor, hint, settings)
                except Refusal as exc:
                    st.error(refusal(exc, KEY_LABELS), icon=":material/error:")
                else:
                    st.rerun()
else:
    st.caption("You have no keys yet.")
