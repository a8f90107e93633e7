"""How the run tables of the Home and Runs pages show their columns (widths chosen for 1024 px screens)."""
import streamlit as st

# With the sidebar open, a 1024 px window leaves about 560 px for a table: the first five columns
# (id, name, status, test accuracy, progress) fit there; a long name is cut in the table and shown
# whole on the Runs page's "One run" section.
RUN_COLUMNS = {
    "id": st.column_config.NumberColumn("#", width=48),
    "name": st.column_config.TextColumn("name", width=190),
    "status": st.column_config.TextColumn("status", width=90),
    "test accuracy": st.column_config.TextColumn("test accuracy", width=104),
    "progress": st.column_config.ProgressColumn("progress", min_value=0, max_value=100, format="%.0f%%", width=100),
    "detail": st.column_config.TextColumn("detail", width="large"),
}
RUN_PERCENT = ("test accuracy",)  # shown as text by core.views.display.for_display, "—" when missing
RUN_COUNTS = ("parameters",)
