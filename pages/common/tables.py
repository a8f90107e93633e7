"""How the run tables of the Home and Runs pages show their columns (widths chosen for 1024 px screens)."""
import streamlit as st

# With the sidebar open, a 1024 px window leaves about 564 px for a table: the run's number, name, status,
# both accuracies, the dataset and the architecture fit there (in a classroom the owner too, the architecture
# then partly); a long name is cut in the table and shown whole on the Runs page's "One run" section.
RUN_COLUMNS = {
    "id": st.column_config.NumberColumn("#", width=44),
    "name": st.column_config.TextColumn("name", width=128),
    "status": st.column_config.TextColumn("status", width=84),
    "val accuracy": st.column_config.TextColumn("val acc", width=70,
                                                help="The best validation accuracy of any epoch"),
    "test accuracy": st.column_config.TextColumn("test acc", width=70,
                                                 help="Accuracy on the test split, after training"),
    "owner": st.column_config.TextColumn("owner", width=64),
    "dataset": st.column_config.TextColumn("dataset", width=74),
    "architecture": st.column_config.TextColumn("architecture", width=94),
    "progress": st.column_config.ProgressColumn("progress", min_value=0, max_value=100, format="%.0f%%", width=100),
    "detail": st.column_config.TextColumn("detail", width="large"),
}
RUN_PERCENT = ("val accuracy", "test accuracy")  # shown as text by core.views.display.for_display, "—" when missing
RUN_COUNTS = ("parameters",)
