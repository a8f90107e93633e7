"""Live figures assembled from plain dicts: the loss | accuracy pair of panels, built in milliseconds.

A live page redraws its curves every second or two for every watching browser, and Plotly's
graph objects check every property as it is set: a two-panel figure of a few hundred points took
about 40 ms to build that way, nearly all of it in those checks (make_subplots, update_layout),
whatever the number of points. These helpers write the same figure as dicts (the subplot grid taken
once from make_subplots) and wrap it without the checks; tests check every figure they make against
Plotly's full validation instead.
"""
from __future__ import annotations

import copy
import functools

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

PANEL_SPACING = 0.08
# Plotly's toolbar sits in the figure's top 30 px, right-aligned: titles need the room below it (with a 30 px top
# margin it covered the right panel's "Accuracy" at 1024 px).
TOOLBAR_CLEAR = dict(l=10, r=10, t=56)
# A legend under the axes' titles, at the figure's bottom edge (a legend placed in plot fractions, y=-0.2,
# covered "epoch" on a short figure); the bottom margin leaves it room below the tick labels and titles.
LEGEND_BELOW = dict(orientation="h", yref="container", yanchor="bottom", y=0, xanchor="center", x=0.5)
LEGEND_ROOM = 84


@functools.lru_cache(maxsize=8)
def _grid(titles: tuple[str, str]) -> dict:
    """The layout of two side-by-side panels (axes, domains, title annotations), made once by Plotly."""
    grid = make_subplots(rows=1, cols=2, subplot_titles=list(titles), horizontal_spacing=PANEL_SPACING)
    layout = grid.to_dict()["layout"]
    layout.pop("template", None)  # the figure gets Plotly's default template itself, without a copy here
    return layout


def two_panel_layout(titles: tuple[str, str], **layout) -> dict:
    """Layout of two side-by-side panels titled `titles`, with `layout`'s keys (height, legend, …) on
    top; set the panels' axes with `axis_updates`, which keeps the grid's own axis keys."""
    return {**copy.deepcopy(_grid(titles)), **layout}


def axes(panel: int) -> dict:
    """The axis references of panel 1 (left) or 2 (right), for a trace dict."""
    return {"xaxis": "x", "yaxis": "y"} if panel == 1 else {"xaxis": f"x{panel}", "yaxis": f"y{panel}"}


def scatter(x, y, panel: int = 1, **props) -> dict:
    """A scatter trace as a dict on `panel`; `x` and `y` become numpy arrays (compact in JSON)."""
    return {"type": "scatter", "x": np.asarray(x), "y": np.asarray(y), **axes(panel), **props}


def axis_updates(fig_layout: dict, prefix: str, panels: tuple[int, ...] = (1, 2), **props) -> None:
    """Set `props` on the x or y axis (`prefix`) of each of `panels` in a layout dict."""
    for panel in panels:
        name = prefix if panel == 1 else f"{prefix}{panel}"
        fig_layout.setdefault(name, {}).update(props)


def assemble(traces: list[dict], layout: dict) -> go.Figure:
    """A Plotly figure of these trace and layout dicts, wrapped without Plotly's property checks
    (see the module docstring: tests validate every figure made this way)."""
    return go.Figure({"data": traces, "layout": layout}, _validate=False)
