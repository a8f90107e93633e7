"""Comparing runs: smoothing, overlaid curves, a final-metrics table, CSV export, URL state."""
from __future__ import annotations

import html
import json
import math
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.colors import qualitative

from core.domain.config import PLACEMENT_FIELDS
from core.domain.lessons import Reference
from core.domain.run_query import run_number
from core.domain.sweep_spec import SCORE
from core.domain.train_form import SETTING_LABELS
from core.store.runs import Run
from core.views.charts import NO_POINTS, curves_by
from core.views.csv_export import spreadsheet_csv
from core.views.display import shorten
from core.views.figures import (
    LEGEND_BELOW,
    LEGEND_ROOM,
    TOOLBAR_CLEAR,
    assemble,
    axis_updates,
    scatter,
    two_panel_layout,
)
from core.views.sweep_charts import parallel_coordinates, scored

X_AXES = {"epoch": "epoch", "step": "step", "time": "elapsed"}
COLORS = qualitative.Plotly + qualitative.D3


def ema(values: np.ndarray, weight: float) -> np.ndarray:
    """Exponential moving average with bias correction (TensorBoard's smoothing): weight 0 keeps the
    values, weight near 1 smooths hard, and the first points are not pulled towards zero."""
    values = np.asarray(values, dtype=float)
    if weight <= 0 or len(values) == 0:
        return values
    out, last = np.empty_like(values), 0.0
    for i, v in enumerate(values):
        last = weight * last + (1 - weight) * v
        out[i] = last / (1 - weight ** (i + 1))
    return out


def metrics_frame(rows: list[tuple]) -> pd.DataFrame:
    """Metric rows of several runs as a DataFrame."""
    return pd.DataFrame(rows, columns=["run_id", "kind", "step", "epoch", "elapsed", "name", "value"])


# Settings worth naming in a legend when they differ between the compared runs, with short names.
_LEGEND_SETTINGS = {"architecture": "", "dataset": "", "optimizer": "", "learning_rate": "lr=", "batch_size": "bs=",
                    "epochs": "epochs=", "lr_schedule": "", "momentum": "momentum=", "seed": "seed="}
LEGEND_NAME_LIMIT = 32


def legend_labels(runs: list[Run]) -> dict[int, str]:
    """'#3 name cut on whole words (lr=0.02, bs=64)': the settings that differ between these runs are
    added when the shortened name does not show them, so two legend entries never look alike."""
    differing = differing_config(runs)
    keys = [k for k in _LEGEND_SETTINGS if k in differing.columns]
    labels = {}
    for run, (_, row) in zip(runs, differing.iterrows()):
        short = shorten(run.name, LEGEND_NAME_LIMIT)
        shown = set(re.split(r"[\s=·,()]+", short))
        extras = []
        for key in keys:
            value = row[key]
            if value is None or isinstance(value, float) and math.isnan(value) or value == "":
                continue  # a setting this run does not have (a script's run may know no learning rate)
            text = f"{value:g}" if isinstance(value, float) else str(value)
            if text.split()[0] in shown:
                continue  # "my_cnn (own code)" for a run named "ex1.py · my_cnn"
            if text not in shown:
                extras.append(f"{_LEGEND_SETTINGS[key]}{text}")
        labels[run.id] = f"#{run.id} {short}" + (f" ({', '.join(extras[:3])})" if extras else "")
    return labels


def compare_figure(runs: list[Run], metrics: pd.DataFrame, x: str = "epoch", smoothing: float = 0.0,
                   log_y: bool = False, height: int = 420, reference: Reference | None = None) -> go.Figure:
    """Loss and accuracy of several runs: one colour per run, train solid, validation dashed;
    with smoothing, the raw train curve stays faint behind the smoothed one. A lesson's `reference` (the
    course's own run) is drawn grey and dotted in the accuracy panel when the x-axis is epochs."""
    column = X_AXES[x]
    labels = legend_labels(runs)
    curves = curves_by(metrics, ["run_id", "name", "kind"])
    traces = []
    for i, run in enumerate(runs):
        color = COLORS[i % len(COLORS)]
        label = html.escape(labels[run.id])  # Plotly reads legend names as HTML: a name stays text
        # The whole name shows on hover; escaped, as Plotly reads hover text as HTML.
        hover = html.escape(f"#{run.id} {run.name}").replace("%", "&#37;")
        for panel, metric in ((1, "loss"), (2, "accuracy")):
            train = curves.get((run.id, metric, "batch"), NO_POINTS)
            val = curves.get((run.id, f"val_{metric}", "epoch"), NO_POINTS)
            train_x, train_y = train[column].to_numpy(dtype=float), train["value"].to_numpy(dtype=float)
            if smoothing > 0 and len(train):
                traces.append(scatter(train_x, train_y, panel, mode="lines", opacity=0.25,
                                      line=dict(color=color, width=1), showlegend=False, hoverinfo="skip"))
            # One legend entry per run (train and validation toggle together); the line style tells them apart.
            traces.append(scatter(train_x, ema(train_y, smoothing), panel, mode="lines", name=label,
                                  legendgroup=str(run.id), showlegend=panel == 1,
                                  hovertemplate=f"{hover} · train<br>%{{x:.3g}}: %{{y:.4g}}<extra></extra>",
                                  line=dict(color=color, width=2)))
            traces.append(scatter(val[column].to_numpy(dtype=float), val["value"].to_numpy(dtype=float), panel,
                                  mode="lines+markers", name=f"{label} · validation", legendgroup=str(run.id),
                                  showlegend=False,
                                  hovertemplate=f"{hover} · validation<br>%{{x:.3g}}: %{{y:.4g}}<extra></extra>",
                                  line=dict(color=color, width=2, dash="dash")))
    if reference is not None and x == "epoch":
        traces.extend(reference_traces(reference))
    layout = two_panel_layout(
        ("Loss", "Accuracy"), height=height, margin=dict(TOOLBAR_CLEAR, b=LEGEND_ROOM + 20), uirevision="compare",
        legend=dict(LEGEND_BELOW, xanchor="left", x=0, title=dict(text="solid: train · dashed: validation   ",
                                                                  side="top")))
    axis_updates(layout, "xaxis", title=dict(text={"epoch": "epoch", "step": "step (batches)", "time": "seconds"}[x]))
    if log_y:
        losses = metrics.loc[metrics["name"].isin(["loss", "val_loss"]) & (metrics["value"] > 0), "value"] \
            if len(metrics) else pd.Series(dtype=float)
        ticks = log_ticks(float(losses.min()), float(losses.max())) if len(losses) else []
        # Plotly labels a log axis's minor ticks with their first digit only ("2, 5, 1, 2, 0.1"):
        # whole values on a 1-2-5 ladder read as numbers.
        axis_updates(layout, "yaxis", (1,), type="log",
                     **(dict(tickmode="array", tickvals=ticks, ticktext=[f"{t:g}" for t in ticks]) if ticks else {}))
    return assemble(traces, layout)


REFERENCE_COLOR = "#7f7f7f"


def reference_traces(reference: Reference) -> list[dict]:
    """The course's run in the accuracy panel: validation accuracy per epoch (dotted) and the training
    accuracy points it logged (crosses)."""
    epochs = np.arange(1, len(reference.val_accuracy) + 1, dtype=float)
    label = html.escape(reference.label, quote=False)  # a constant of ours; Plotly reads names as HTML
    train_x, train_y = zip(*reference.train_accuracy) if reference.train_accuracy else ((), ())
    return [
        scatter(epochs, np.asarray(reference.val_accuracy, dtype=float), 2, mode="lines+markers",
                name=f"{label} · validation", legendgroup="reference",
                hovertemplate=f"{label} · validation<br>epoch %{{x:g}}: %{{y:.4g}}<extra></extra>",
                line=dict(color=REFERENCE_COLOR, width=2, dash="dot"), marker=dict(size=5)),
        scatter(np.asarray(train_x, dtype=float), np.asarray(train_y, dtype=float), 2, mode="markers",
                name=f"{label} · train", legendgroup="reference",
                hovertemplate=f"{label} · train<br>epoch %{{x:g}}: %{{y:.4g}}<extra></extra>",
                marker=dict(color=REFERENCE_COLOR, size=9, symbol="x")),
    ]


def log_ticks(low: float, high: float) -> list[float]:
    """Tick values on a 1-2-5 ladder covering low..high (both > 0), e.g. 0.05, 0.1, 0.2, 0.5, 1, 2."""
    ticks = []
    for exponent in range(math.floor(math.log10(low)) - 1, math.ceil(math.log10(high)) + 1):
        for mantissa in (1, 2, 5):
            value = round(mantissa * 10.0 ** exponent, 12)
            if low / 2.5 <= value <= high * 2.5:
                ticks.append(value)
    return ticks


def final_metrics(runs: list[Run], metrics: pd.DataFrame) -> pd.DataFrame:
    """One row per run: test results, best validation accuracy and its epoch, size, time, speed."""
    curves = curves_by(metrics, ["run_id", "name", "kind"])
    rows = []
    for run in runs:
        val = curves.get((run.id, "val_accuracy", "epoch"), NO_POINTS)
        best = val.loc[val["value"].idxmax()] if len(val) else None
        done = curves.get((run.id, "loss", "epoch"), NO_POINTS)["epoch"]
        epochs_done = int(done.max()) if len(done) else 0  # a queued run, or one that failed in epoch 1
        config = run.config_dict
        # A script's run tells its samples, or may know no batch size (data from a generator): none then.
        per_epoch = config.get("train_samples") or run.steps * (config.get("batch_size") or 0)
        samples = per_epoch * epochs_done
        rows.append({
            # The key figures first (test and best validation accuracy, size): on a narrow screen the rest scrolls.
            "run": run.id, "name": run.name, "status": run.status, "test accuracy": run.test_accuracy,
            "best val accuracy": None if best is None else float(best["value"]), "parameters": run.param_count,
            "test loss": run.test_loss, "best epoch": None if best is None else int(best["epoch"]),
            "training time": run.train_seconds,
            "samples/s": round(samples / run.train_seconds) if run.train_seconds and samples else None,
        })
    return pd.DataFrame(rows)


def runs_as_trials(runs: list[Run], finals: pd.DataFrame) -> pd.DataFrame:
    """The runs as a sweep's trials: the settings that differ between them (any of the config's, the schedule and
    split too) and each run's best validation accuracy (from their `final_metrics`), for parallel coordinates."""
    best = finals.set_index("run")["best val accuracy"]
    trials = differing_config(runs)
    trials[SCORE] = [best.get(run_id) for run_id in trials["run"]]
    return trials


def runs_parallel_coordinates(runs: list[Run], finals: pd.DataFrame) -> go.Figure | None:
    """Parallel coordinates of the settings that differ between these runs against their best validation
    accuracy, titled as the Train page labels them; None until two runs with a score differ in some setting."""
    trials = scored(runs_as_trials(runs, finals))
    columns = [c for c in trials.columns if c not in ("run", SCORE, *NOT_AXES) and trials[c].astype(str).nunique() > 1]
    return parallel_coordinates(trials, columns=columns, labels=SETTING_LABELS) if len(trials) > 1 and columns \
        else None


# A script's settings that are lists or mappings: shown in the table of differences, never as an axis of lines.
NOT_AXES = ("optimizer_settings", "script_args", "input_shape")


def differing_config(runs: list[Run]) -> pd.DataFrame:
    """The config fields whose values differ between the runs that have them (one row per run). A field only
    some runs have (a Train Lab run's image size, a script's arguments) is compared among those alone: a run
    from a student's own code beside a course run differs in what both know, not in what one cannot."""
    configs = [{k: json.dumps(v, sort_keys=True) if isinstance(v, (dict, list)) else v
                for k, v in r.config_dict.items() if k not in ("name", "notes")} for r in runs]
    keys = sorted({k for c in configs for k in c})
    differing = [k for k in keys if len(having := [c[k] for c in configs if k in c]) > 1
                 and len({json.dumps(v, sort_keys=True, default=str) for v in having}) > 1]
    return pd.DataFrame([{"run": r.id, **{k: c.get(k) for k in differing}} for r, c in zip(runs, configs)])


def metrics_csv(runs: list[Run], metrics: pd.DataFrame) -> str:
    """Every metric point of the runs as one CSV (run id and name on each row)."""
    names = {r.id: r.name for r in runs}
    out = metrics.assign(run_name=metrics["run_id"].map(names))
    return spreadsheet_csv(out[["run_id", "run_name", "kind", "step", "epoch", "elapsed", "name", "value"]])


@dataclass
class CompareState:
    """What a shared link restores: the selected runs and the chart options."""

    runs: list[int] = field(default_factory=list)
    x: str = "epoch"
    smoothing: float = 0.0
    log_y: bool = False

    def to_params(self) -> dict[str, str]:
        """As URL query parameters."""
        params = {"runs": ",".join(map(str, self.runs)), "x": self.x, "smooth": f"{self.smoothing:g}"}
        if self.log_y:
            params["log"] = "1"
        return params

    @classmethod
    def from_params(cls, params: dict) -> "CompareState":
        """From URL query parameters, ignoring anything malformed (a link typed by hand)."""
        state = cls()
        runs = str(params.get("runs", ""))
        state.runs = [n for r in runs.split(",") if (n := run_number(r)) is not None][:20]
        state.x = params.get("x") if params.get("x") in X_AXES else "epoch"
        try:
            state.smoothing = min(0.99, max(0.0, float(params.get("smooth", 0))))
        except (TypeError, ValueError):
            state.smoothing = 0.0
        state.log_y = params.get("log") == "1"
        return state


def _config_without_seed(run: Run) -> str:
    config = {k: v for k, v in run.config_dict.items() if k not in ("seed", "name", "notes", *PLACEMENT_FIELDS)}
    return json.dumps(config, sort_keys=True)


EMA_HELP = ("An exponential moving average of the training curve: each point is this share of the previous "
            "smoothed point plus the rest of the new one. 0 shows the raw curve; 0.9 smooths over about 10 points. "
            "Validation points are never smoothed.")


def seed_groups(runs: list[Run]) -> list[list[Run]]:
    """Runs whose configs differ only by seed, in groups of two or more different seeds (runs repeating a seed
    are one measurement made twice, not a spread: the first of each seed stands for it)."""
    groups: dict[str, dict] = {}
    for run in runs:
        groups.setdefault(_config_without_seed(run), {}).setdefault(run.config_dict.get("seed"), run)
    return [list(by_seed.values()) for by_seed in groups.values() if len(by_seed) > 1]


def group_curve(group: list[Run], metrics: pd.DataFrame, name: str) -> pd.DataFrame:
    """Per epoch: mean, standard deviation (n-1) and count of an epoch metric across a seed group."""
    ids = [r.id for r in group]
    m = metrics[(metrics["run_id"].isin(ids)) & (metrics["name"] == name) & (metrics["kind"] == "epoch")]
    stats = m.groupby("epoch")["value"].agg(["mean", "std", "count"]).reset_index()
    return stats.fillna({"std": 0.0})


def group_summary(groups: list[list[Run]]) -> pd.DataFrame:
    """One row per seed group: its seeds and the test accuracy mean ± standard deviation."""
    rows = []
    for group in groups:
        accuracies = np.array([r.test_accuracy for r in group if r.test_accuracy is not None])
        rows.append({"runs": ", ".join(f"#{r.id}" for r in group), "seeds": ", ".join(str(r.config_dict.get("seed"))
                                                                                for r in group),
                     "test accuracy mean": accuracies.mean() if len(accuracies) else None,
                     "± std": accuracies.std(ddof=1) if len(accuracies) > 1 else None})
    return pd.DataFrame(rows)


def group_figure(groups: list[list[Run]], metrics: pd.DataFrame, name: str = "val_accuracy") -> go.Figure:
    """Mean of an epoch metric per seed group, with a band of ± one standard deviation."""
    traces = []
    for i, group in enumerate(groups):
        color = COLORS[i % len(COLORS)]
        stats = group_curve(group, metrics, name)
        label = html.escape(f"{group[0].name[:40]} ({len(group)} seeds)")  # Plotly reads names as HTML
        epochs, mean, std = (stats[c].to_numpy(dtype=float) for c in ("epoch", "mean", "std"))
        traces += [
            scatter(epochs, mean + std, mode="lines", line=dict(width=0), showlegend=False, hoverinfo="skip",
                    legendgroup=label),
            # The band's own alpha: a trace's opacity does not reach its fill, which then hid the mean line.
            scatter(epochs, mean - std, mode="lines", line=dict(width=0), fill="tonexty",
                    fillcolor=_with_alpha(color, 0.2), showlegend=False, hoverinfo="skip", legendgroup=label),
            scatter(epochs, mean, mode="lines+markers", name=label, line=dict(color=color, width=2),
                    legendgroup=label),
        ]
    return assemble(traces, dict(height=380, margin=dict(TOOLBAR_CLEAR, b=LEGEND_ROOM),
                                 xaxis=dict(title=dict(text="epoch")),
                                 yaxis=dict(title=dict(text=f"{name} (mean ± std)")), legend=LEGEND_BELOW))


def _with_alpha(color: str, alpha: float) -> str:
    """'#636EFA' (COLORS are hex) as an rgba() colour with this alpha."""
    red, green, blue = (int(color[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgba({red}, {green}, {blue}, {alpha})"
