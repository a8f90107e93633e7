"""Human-readable text for runs: durations, progress lines, safe names. Shared by pages and CLI."""
from __future__ import annotations

import re

import pandas as pd

from core.domain.statuses import EVALUATED, RUNNING
from core.domain.wording import counted, share
from core.store.runs import Run

_MARKDOWN_SPECIALS = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:])")


def duration(seconds: float | None) -> str:
    """'1 h 02 min', '3 min 05 s', '12 s', or '—' when unknown."""
    if seconds is None:
        return "—"
    seconds = max(0, int(round(seconds)))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {secs:02d} s"
    return f"{secs} s"


def progress_text(run: Run) -> str:
    """'epoch 3/10 · batch 40/45 · ETA 12 s' for a running run; the status otherwise."""
    if run.status != RUNNING:
        return run.status
    if not run.steps:
        return "preparing data and model…"
    eta = "" if run.eta_seconds is None else f" · ETA {duration(run.eta_seconds)}"  # none until it means something
    return f"epoch {max(1, run.epoch)}/{run.epochs} · batch {run.batch}/{run.steps}{eta}"


def percent(value: float | None) -> str:
    """0.9123 -> '91.23 %'; None (or NaN, a pandas frame's missing value) -> '—'."""
    return "—" if value is None or value != value else share(value)


def count(value: int | None) -> str:
    """1234567 -> '1,234,567'; None -> '—'."""
    return "—" if value is None else f"{value:,}"


def shorten(text: str, limit: int) -> str:
    """`text` cut on whole words to at most `limit` characters, with "…" when cut.

    A cut inside a word made settings read wrong ("lr=0" for "lr=0.001", "bs 12" for "bs 128")."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    words, out = text.split(" "), ""
    for word in words:
        if len(out) + len(word) + (1 if out else 0) > limit - 1:
            break
        out = f"{out} {word}" if out else word
    # A first word longer than the limit is the only case cut inside a word.
    return (out or text[: limit - 1]).rstrip(" ·,;:-") + "…"


def distinguishing(texts: list[str], limit: int) -> dict[str, str]:
    """Short labels for texts that share most of their words (e.g. architecture specs on an axis):
    words common to all are dropped, the rest cut on whole words. Returns text -> label."""
    token_sets = [set(t.split()) for t in texts]
    common = set.intersection(*token_sets) if len(texts) > 1 else set()
    labels = {}
    for text in texts:
        rest = " ".join(w for w in text.split() if w not in common) or text
        labels[text] = shorten(rest, limit)
    return labels


def escape_markdown(text: str) -> str:
    """Make user text (run names, notes) render literally inside Streamlit markdown."""
    return _MARKDOWN_SPECIALS.sub(r"\\\1", _break_autolinks(text))


_AUTOLINK = re.compile(r"(?i)\b(?:https?|ftp|mailto):|\bwww\.|@")
WORD_JOINER = "\u2060"
_LINK_SPECIALS = re.compile(r"([\\\[\]<>$])")  # not `: a code span shows text as typed, which is the point


def escape_links(message: str) -> str:
    """A one-line message that may quote what a user typed (a refusal naming their value, shown to them),
    made safe for Streamlit markdown without escaping every dot and colon of the message itself: no link,
    image, HTML, formula or directive can come from it."""
    return _LINK_SPECIALS.sub(r"\\\1", _break_autolinks(message))


def _break_autolinks(text: str) -> str:
    # GitHub-flavoured markdown links bare addresses too (https://…, www.…, name@host), escaped or not: an
    # invisible word joiner before the ':', '.' or '@' they hinge on keeps them text (checked in Chromium).
    return _AUTOLINK.sub(lambda m: m.group(0)[:-1] + WORD_JOINER + m.group(0)[-1], text)


def queue_text(place) -> str:
    """'3rd in the queue · starts in about 4 min' for a queued run's place (core.domain.fair_queue.Place)."""
    n = place.position
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    when = "next" if place.starts_in < 1 else f"starts in about {duration(place.starts_in)}"
    return f"{n}{suffix} in the queue · {when}"


def runs_table(runs: list[Run], places: dict | None = None, validation: dict[int, float] | None = None,
               titles: dict[str, str] | None = None) -> pd.DataFrame:
    """One row per run for the Runs and Home tables (plain values; names stay text).

    Who and what come first, so they stay in view on a 1024 px screen: the run's number and name,
    its status, best validation and test accuracy, in a classroom who queued it, the dataset and
    architecture; progress and the other settings follow and scroll sideways there. `places` (run id ->
    queue place) fills a queued run's detail; `validation` (run id -> best validation accuracy) its column;
    `titles` names model files' architectures ("file:3" -> "amy / my-cnn").
    """
    places, validation, titles = places or {}, validation or {}, titles or {}
    owners = any(run.owner for run in runs)
    rows = []
    for run in runs:
        config = run.config_dict
        rows.append({
            "id": run.id,
            "name": run.name,
            "status": run.status,
            "val accuracy": validation.get(run.id),
            "test accuracy": run.test_accuracy,
            **({"owner": run.owner or "—"} if owners else {}),
            "dataset": config.get("dataset") or None,  # a script may not say: "—", not a blank
            "architecture": titles.get(config.get("architecture", ""), config.get("architecture", "")),
            "progress": round(100 * run.progress, 1),
            "optimizer": optimizer_text(config),
            "parameters": run.param_count,
            "time": duration(run.train_seconds) if run.train_seconds is not None else "",
            "detail": progress_text(run) if run.status == RUNNING else
            queue_text(places[run.id]) if run.id in places else (run.error or ("scored, not trained" if run.kind ==
                                                                                EVALUATED else "")),
        })
    return pd.DataFrame(rows)


def optimizer_text(config: dict) -> str:
    """'adam 0.001' for a run's settings; a run from a student's own code may know neither (an optimizer of
    their own making), and its page must still show: what is missing is left out."""
    rate = config.get("learning_rate")
    rate_text = f"{rate:g}" if isinstance(rate, (int, float)) and not isinstance(rate, bool) else ""
    return " ".join(part for part in (str(config.get("optimizer") or ""), rate_text) if part)


def varied_first(table: pd.DataFrame, columns: tuple[str, ...]) -> tuple[str, ...]:
    """`columns` of `table` with those whose values differ between rows first (what a comparison varied),
    each group in the given order; columns the table lacks are kept, for a column order to skip."""
    def varies(column: str) -> bool:
        return column in table and table[column].astype(str).nunique() > 1

    return tuple(c for c in columns if varies(c)) + tuple(c for c in columns if not varies(c))


def for_display(table: pd.DataFrame, percent_columns: tuple[str, ...] = (), count_columns: tuple[str, ...] = (),
                seconds_columns: tuple[str, ...] = ()) -> pd.DataFrame:
    """A copy of `table` to show: shares as "91.23 %", counts as "1,234", seconds as "3 min 05 s", and
    "—" for a missing value in those columns, in text columns and in other number columns that miss
    one. Streamlit writes "None" in an empty cell, which reads as a value, and has no setting for it
    (streamlit#11123)."""
    out = table.copy()
    for column in out.columns:
        values = out[column]
        if column in percent_columns:
            out[column] = [percent(v) for v in _missing_as_none(values)]
        elif column in count_columns:
            out[column] = [count(None if v is None else int(v)) for v in _missing_as_none(values)]
        elif column in seconds_columns:
            out[column] = [duration(v) for v in _missing_as_none(values)]
        elif values.dtype == object or pd.api.types.is_string_dtype(values):
            out[column] = ["—" if v is None else v for v in _missing_as_none(values)]
        elif pd.api.types.is_numeric_dtype(values) and values.isna().any():
            out[column] = [_number(v) for v in _missing_as_none(values)]
    return out


def _missing_as_none(values: pd.Series) -> list:
    return [None if pd.isna(v) else v for v in values]


def _number(value) -> str:
    if value is None:
        return "—"
    return f"{int(value):,}" if float(value).is_integer() else f"{value:.4g}"


def size_text(size_bytes: int | None) -> str:
    """1536 -> '1.5 KB'; None -> '—'."""
    if size_bytes is None:
        return "—"
    value = float(size_bytes)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"


def catalog_table(entries) -> pd.DataFrame:
    """The Data page's table: one row per dataset, status and size first, and where its files are
    (or go) last. How to get a missing one is longer than a cell: see `missing_hints`."""
    rows = []
    for d in entries:
        status = "available offline" if d.available else ("downloadable (needs network)" if d.downloadable
                                                          else "missing")
        rows.append({
            "dataset": d.title, "status": status,
            "image shape": "×".join(map(str, d.input_shape)) + (" (resized)" if d.resizable else ""),
            "classes": d.num_classes, "train": d.train_size, "test": d.test_size,
            "size on disk": size_text(d.size_bytes), "key": d.key, "files": d.location,
        })
    return pd.DataFrame(rows)


def missing_hints(entries) -> list[tuple[str, str]]:
    """(title, how to get it) for each dataset that is not on this machine."""
    return [(d.title, d.hint) for d in entries if not d.available and d.hint]


def cluster_line(nodes: list, at_once: int, run_cpus: int, run_gpus: int) -> str:
    """One line on the Ray cluster as its dispatcher last saw it (`nodes`: core.store.cluster.SeenNode)."""
    if not nodes:  # none yet, or its dispatcher stopped looking (core.services.capacity.FRESH_SECONDS)
        return "Ray cluster: no dispatcher has looked at its nodes in the last minute; one starts with the next run"
    gpus, most_gpus = sum(n.gpus for n in nodes), max(n.gpus for n in nodes)
    total = f"{counted(sum(n.cpus for n in nodes), 'CPU')}" + (f", {counted(gpus, 'GPU')}" if gpus else "")
    most = f"{counted(max(n.cpus for n in nodes), 'CPU')}" + (f" and {counted(most_gpus, 'GPU')}" if gpus else "")
    largest = f" (at most {most} on one node)" if len(nodes) > 1 else ""
    size = counted(run_cpus, "CPU") + (f" and {counted(run_gpus, 'GPU')}" if run_gpus else "")
    if any(n.cpus >= run_cpus and n.gpus >= run_gpus for n in nodes):
        runs = f"{counted(at_once, 'run')} of {size} at a time"
    else:
        runs = f"no node holds a run of {size}: ask for fewer (cpus, gpus)"
    return f"Ray cluster: {counted(len(nodes), 'node')}, {total}{largest} · {runs}"
