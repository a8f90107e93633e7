"""Queries over runs for the Runs page and the CLI: filters, sorting, pages, facets, labels, curves."""
from __future__ import annotations

from core.domain.run_query import SORT_KEYS, RunQuery
from core.domain.statuses import EVALUATED, SUCCEEDED, TRAINED
from core.store.runs import _RUN_COLUMNS, Run, RunStore

# A run's best epoch-end validation accuracy, read from its points (the metrics index is on run_id).
BEST_VALIDATION_SQL = ("(SELECT MAX(m.value) FROM metrics m WHERE m.run_id=runs.id AND m.kind='epoch' "
                       "AND m.name='val_accuracy')")
_SORT_SQL = {"id": "id", "name": "LOWER(name)", "status": "status", "validation accuracy": BEST_VALIDATION_SQL,
             "test accuracy": "test_accuracy", "test loss": "test_loss", "parameters": "param_count",
             "training time": "train_seconds"}
SORTABLE = {key: _SORT_SQL[key] for key in SORT_KEYS}  # every sort the page offers has its SQL
FILTER_FIELDS = ("dataset", "architecture", "optimizer")


def _where(query: RunQuery) -> tuple[str, list]:
    clauses, params = [], []
    if query.status:
        clauses.append(f"status IN ({','.join('?' * len(query.status))})")
        params += list(query.status)
    for field_name in FILTER_FIELDS:
        values = getattr(query, field_name)
        if values:
            clauses.append(f"json_extract(config, '$.{field_name}') IN ({','.join('?' * len(values))})")
            params += list(values)
    if query.tag:
        clauses.append("(',' || replace(tags, ', ', ',') || ',') LIKE ?")
        params.append(f"%,{query.tag.strip()},%")
    if query.sweep is not None:
        clauses.append("id IN (SELECT run_id FROM sweep_runs WHERE sweep_id=?)")
        params.append(int(query.sweep))
    if query.owner is not None:
        clauses.append("owner = ?")
        params.append(query.owner)
    if query.min_val_accuracy is not None:
        clauses.append(f"{BEST_VALIDATION_SQL} >= ?")
        params.append(float(query.min_val_accuracy))
    if query.text.strip():
        clauses.append("(name LIKE ? OR notes LIKE ? OR tags LIKE ?)")
        params += [f"%{query.text.strip()}%"] * 3
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


def query_runs(store: RunStore, query: RunQuery) -> tuple[list[Run], int]:
    """One page of runs matching the filters, and how many match in all."""
    where, params = _where(query)
    conn = store.connection()
    total = conn.execute(f"SELECT COUNT(*) FROM runs{where}", params).fetchone()[0]
    order = SORTABLE.get(query.sort, "id")
    direction = "DESC" if query.descending else "ASC"
    rows = conn.execute(
        f"SELECT {_RUN_COLUMNS} FROM runs{where} ORDER BY {order} IS NULL, {order} {direction}, id DESC "
        "LIMIT ? OFFSET ?", params + [query.page_size, query.page * query.page_size])
    return [Run(**dict(r)) for r in rows], total


def facets(store: RunStore, owner: str | None = None) -> dict[str, list[str]]:
    """The values the filters can take: datasets, architectures, optimizers and tags in use (in runs of
    `owner` only, if given)."""
    conn = store.connection()
    mine, params = ("owner = ?", (owner,)) if owner is not None else ("1=1", ())
    result = {f: [r[0] for r in conn.execute(
        f"SELECT DISTINCT json_extract(config, '$.{f}') FROM runs WHERE {mine} ORDER BY 1", params) if r[0]]
        for f in FILTER_FIELDS}
    tags = set()
    for (text,) in conn.execute(f"SELECT DISTINCT tags FROM runs WHERE tags != '' AND {mine}", params):
        tags.update(t.strip() for t in text.split(",") if t.strip())
    result["tag"] = sorted(tags)
    return result


def relabel(store: RunStore, run_id: int, name: str, notes: str, tags: list[str]) -> bool:
    """Rename, re-note and re-tag a run; False if there is no such run."""
    with store.transaction() as conn:
        cur = conn.execute("UPDATE runs SET name=?, notes=?, tags=? WHERE id=?",
                           (name, notes, ", ".join(dict.fromkeys(t.strip() for t in tags if t.strip())), run_id))
        return cur.rowcount == 1


def metrics_for(store: RunStore, run_ids: list[int]) -> list[tuple]:
    """(run_id, kind, step, epoch, elapsed, name, value) rows of several runs in one query."""
    if not run_ids:
        return []
    marks = ",".join("?" * len(run_ids))
    return list(store.connection().execute(
        f"SELECT run_id, kind, step, epoch, elapsed, name, value FROM metrics WHERE run_id IN ({marks}) "
        "ORDER BY run_id, step, rowid", list(run_ids)))


def best_validation_accuracy(store: RunStore, run_ids: list[int] | None = None) -> dict[int, float]:
    """Each run's best epoch-end validation accuracy (of `run_ids` only, if given; runs without one are
    left out)."""
    if run_ids is not None and not run_ids:
        return {}
    only, params = ("", []) if run_ids is None else (f" AND run_id IN ({','.join('?' * len(run_ids))})", list(run_ids))
    return {run_id: value for run_id, value in store.connection().execute(
        "SELECT run_id, MAX(value) FROM metrics WHERE kind='epoch' AND name='val_accuracy'" + only
        + " GROUP BY run_id", params)}


def throughput_rows(store: RunStore) -> list[tuple[str, int, int, float]]:
    """(config JSON, batches per epoch, epochs done, training seconds) of every succeeded run Train Lab trained,
    for estimates of how long new runs will take (a student's own script trained on another machine: its pace
    says nothing of this one's)."""
    return [tuple(row) for row in store.connection().execute(
        "SELECT config, steps, epoch, train_seconds FROM runs WHERE status=? AND train_seconds > 0 AND steps > 0 "
        "AND kind=?", (SUCCEEDED, TRAINED))]


def evaluated_runs(store: RunStore, dataset: str, owner: str | None = None, architecture: str | None = None,
                   succeeded: bool = True) -> list[Run]:
    """The evaluation runs on `dataset` (succeeded only: a leaderboard's entries), `owner`'s only and of model file
    `architecture` only if given; newest first."""
    where, params = "", []
    for clause, value in (("owner = ?", owner), ("json_extract(config, '$.architecture') = ?", architecture),
                          ("status = ?", SUCCEEDED if succeeded else None)):
        if value is not None:
            where, params = f"{where} AND {clause}", [*params, value]
    rows = store.connection().execute(
        f"SELECT {_RUN_COLUMNS} FROM runs WHERE kind=? AND json_extract(config, '$.dataset')=?{where} "
        "ORDER BY id DESC", [EVALUATED, dataset, *params])
    return [Run(**dict(r)) for r in rows]
