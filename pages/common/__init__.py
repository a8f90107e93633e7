"""Widgets and components two or more pages share (not pages: Streamlit only reads pages/*.py)."""
