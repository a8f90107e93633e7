"""The Runs page's comparison: overlaid curves, final metrics, seed groups, differing settings, CSV."""
import streamlit as st

from core.services import jobs
from core.views.compare import (
    compare_figure,
    differing_config,
    final_metrics,
    group_figure,
    group_summary,
    metrics_csv,
    seed_groups,
)
from core.views.display import for_display


def compare_view(ids: list[int], x_axis: str, smoothing: float, log_y: bool, interval: float | None) -> None:
    """Draw the comparison of runs `ids`, redrawn every `interval` seconds (None: not at all)."""

    @st.fragment(run_every=interval)
    def compare_panel(ids: list[int]) -> None:
        """Curves and final metrics of the selected runs only, refreshed while they train."""
        runs = jobs.runs_by_id(ids)
        metrics = jobs.metrics_of(ids)
        st.plotly_chart(compare_figure(runs, metrics, x_axis, smoothing, log_y), key="compare_chart")
        st.dataframe(for_display(final_metrics(runs, metrics), ("test accuracy", "best val accuracy"), ("parameters",)),
                     hide_index=True, key="final_metrics", column_config={
                         "run": st.column_config.NumberColumn("#", width=48),
                         "name": st.column_config.TextColumn(width=190),
                         "status": st.column_config.TextColumn(width=90)})
        groups = seed_groups(runs)
        if groups:
            st.caption("Runs that differ only by seed: validation accuracy, mean ± one standard deviation")
            st.plotly_chart(group_figure(groups, metrics), key="seed_groups_chart")
            st.dataframe(group_summary(groups), hide_index=True, key="seed_groups", column_config={
                "test accuracy mean": st.column_config.NumberColumn(format="percent"),
                "± std": st.column_config.NumberColumn(format="percent")})
        differing = differing_config(runs)
        if len(differing.columns) > 1:
            st.caption("Settings that differ between these runs")
            st.dataframe(differing, hide_index=True, key="differing_config")
        st.download_button("Download metrics (CSV)", metrics_csv(runs, metrics), "train-lab-metrics.csv", "text/csv",
                           key="download_csv")

    compare_panel(ids)
