"""The Runs page's comparison: overlaid curves, final metrics, seed groups, differing settings, CSV."""
import functools
from dataclasses import dataclass

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from core.domain.lessons import Reference
from core.domain.people import OPERATOR
from core.domain.train_form import SETTING_LABELS
from core.services import jobs
from core.views.compare import (
    compare_figure,
    differing_config,
    final_metrics,
    group_figure,
    group_summary,
    metrics_csv,
    runs_parallel_coordinates,
    seed_groups,
)
from core.views.display import for_display
from pages.common.auth import current_actor


@dataclass
class Comparison:
    """Everything the panel draws for one set of runs at one moment of their training."""

    figure: go.Figure
    finals: pd.DataFrame
    groups_figure: go.Figure | None
    groups: pd.DataFrame | None
    differing: pd.DataFrame
    parallel: go.Figure | None


# Shared by every session (one object, not copied per session; nothing changes it after): a class watching
# the same runs builds each figure once per change, not once per browser. The key holds the runs' data
# version, so new points make a new entry.
@st.cache_resource(max_entries=64, ttl=3600, show_spinner=False)
def _comparison(ids: tuple[int, ...], version: tuple, x_axis: str, smoothing: float, log_y: bool,
                reference: Reference | None = None) -> Comparison:
    # Shared by every session: `ids` were already cut to what the asking session may see (compare_panel).
    runs = jobs.runs_by_id(list(ids), actor=OPERATOR)
    metrics = jobs.metrics_of(list(ids), actor=OPERATOR)
    groups = seed_groups(runs)
    finals = final_metrics(runs, metrics)
    return Comparison(
        figure=compare_figure(runs, metrics, x_axis, smoothing, log_y, reference=reference),
        finals=for_display(finals, ("test accuracy", "best val accuracy"), ("parameters",), ("training time",)),
        groups_figure=group_figure(groups, metrics) if groups else None,
        groups=group_summary(groups) if groups else None,
        differing=differing_config(runs).rename(columns={**SETTING_LABELS, "run": "#"}),  # the Train page's words
        parallel=runs_parallel_coordinates(runs, finals))


def _metrics_csv(ids: tuple[int, ...], actor) -> str:
    return metrics_csv(jobs.runs_by_id(list(ids), actor=actor), jobs.metrics_of(list(ids), actor=actor))


def compare_view(ids: list[int], x_axis: str, smoothing: float, log_y: bool, interval: float | None,
                 reference: Reference | None = None) -> None:
    """Draw the comparison of runs `ids`, redrawn every `interval` seconds (None: not at all), with a
    lesson's `reference` run of the course beside them."""

    @st.fragment(run_every=interval)
    def compare_panel(ids: list[int]) -> None:
        """Curves and final metrics of the selected runs only, refreshed while they train."""
        runs = jobs.runs_by_id(ids, actor=current_actor())  # in exam mode, another's run is dropped here
        ids = [r.id for r in runs]
        if not ids:
            st.info("None of these runs can be shown.")
            return
        version = jobs.data_version(runs)
        parts = _comparison(tuple(ids), version, x_axis, smoothing, log_y, reference)
        st.plotly_chart(parts.figure, key="compare_chart")
        st.dataframe(parts.finals, hide_index=True, key="final_metrics", column_config={
            "run": st.column_config.NumberColumn("#", width=48),
            "name": st.column_config.TextColumn(width=190),
            "status": st.column_config.TextColumn(width=90)})
        if parts.groups is not None:
            st.caption("Runs that differ only by seed: validation accuracy, mean ± one standard deviation")
            st.plotly_chart(parts.groups_figure, key="seed_groups_chart")
            st.dataframe(parts.groups, hide_index=True, key="seed_groups", column_config={
                "test accuracy mean": st.column_config.NumberColumn(format="percent"),
                "± std": st.column_config.NumberColumn(format="percent")})
        if len(parts.differing.columns) > 1:
            st.caption("Settings that differ between these runs")
            st.dataframe(parts.differing, hide_index=True, key="differing_config")
        if parts.parallel is not None:
            st.caption("Those settings against each run's best validation accuracy: drag along an axis to pick "
                       "runs")
            st.plotly_chart(parts.parallel, key="compare_parallel")
        # Made when clicked: every point of every run, not worth building at each live refresh.
        st.download_button("Download metrics (CSV)", functools.partial(_metrics_csv, tuple(ids), current_actor()),
                           "train-lab-metrics.csv", "text/csv", key="download_csv")

    compare_panel(ids)
