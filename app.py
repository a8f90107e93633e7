"""Train Lab entry point (`streamlit run app.py`): page setup and navigation; home is pages/home.py."""
import streamlit as st

st.set_page_config(page_title="Train Lab", page_icon=":material/science:", layout="wide")
st.navigation([
    st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
    st.Page("pages/train.py", title="Train", icon=":material/model_training:"),
    st.Page("pages/runs.py", title="Runs", icon=":material/monitoring:"),
]).run()
