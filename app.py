"""Train Lab entry point (`streamlit run app.py`): page setup and navigation; home is app_pages/home.py."""
import streamlit as st

# Pages live in app_pages/, not pages/: a pages/ folder beside this file switches Streamlit to
# its legacy multipage mode for a fresh server's first request, which ignores st.navigation.

st.set_page_config(page_title="Train Lab", page_icon=":material/science:", layout="wide")
st.navigation([
    st.Page("app_pages/home.py", title="Home", icon=":material/home:", default=True),
    st.Page("app_pages/train.py", title="Train", icon=":material/model_training:"),
    st.Page("app_pages/runs.py", title="Runs", icon=":material/monitoring:"),
    st.Page("app_pages/sweeps.py", title="Sweeps", icon=":material/tune:"),
    st.Page("app_pages/models.py", title="Models", icon=":material/account_tree:"),
    st.Page("app_pages/augment.py", title="Augment", icon=":material/auto_awesome:"),
    st.Page("app_pages/data.py", title="Data", icon=":material/dataset:"),
]).run()
