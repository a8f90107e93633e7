"""The run store: SQLite (WAL mode) holding runs, their configs, live metrics and heartbeats.

Every process (Streamlit, CLI, workers) opens the same file; WAL lets readers poll while a
worker writes. Writes go through `transaction()`, which takes the write lock up front
(`BEGIN IMMEDIATE`) so a claim or a status change is atomic across processes. Only the store
layer (this module and core/sweep_store.py) issues SQL; everything else calls its methods.

The schema has a version (`PRAGMA user_version`); `MIGRATIONS` bring an older store up to date,
one ordered step at a time, and never drop data.
"""
from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
import time
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Iterable, Iterator

QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED = "queued", "running", "succeeded", "failed", "cancelled"
ACTIVE_STATUSES = (QUEUED, RUNNING)
FINISHED_STATUSES = (SUCCEEDED, FAILED, CANCELLED)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    notes TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL,
    config TEXT NOT NULL,
    created_at REAL NOT NULL,
    started_at REAL,
    finished_at REAL,
    heartbeat_at REAL,
    worker_pid INTEGER,
    worker_host TEXT,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    epoch INTEGER NOT NULL DEFAULT 0,
    epochs INTEGER NOT NULL DEFAULT 0,
    batch INTEGER NOT NULL DEFAULT 0,
    steps INTEGER NOT NULL DEFAULT 0,
    progress REAL NOT NULL DEFAULT 0,
    eta_seconds REAL,
    param_count INTEGER,
    test_loss REAL,
    test_accuracy REAL,
    train_seconds REAL,
    error TEXT,
    traceback TEXT,
    tags TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS runs_status ON runs(status);
CREATE TABLE IF NOT EXISTS metrics (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,          -- 'batch' (within an epoch) or 'epoch' (epoch end)
    step INTEGER NOT NULL,       -- global batch count since training began
    epoch REAL NOT NULL,         -- fractional epochs done, the x-axis of the curves
    elapsed REAL NOT NULL,       -- seconds since training began
    name TEXT NOT NULL,          -- loss, accuracy, val_loss, val_accuracy, ...
    value REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS metrics_run ON metrics(run_id, step);
CREATE TABLE IF NOT EXISTS sweeps (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    spec TEXT NOT NULL,          -- the SweepSpec as JSON
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS sweep_runs (
    sweep_id INTEGER NOT NULL REFERENCES sweeps(id) ON DELETE CASCADE,
    run_id INTEGER NOT NULL UNIQUE REFERENCES runs(id) ON DELETE CASCADE,
    role TEXT NOT NULL,          -- 'trial' (part of the search) or 'retrain' (best setting, retrained)
    params TEXT NOT NULL,        -- the hyperparameter values the run stands for, as JSON
    stopped_at INTEGER           -- the epoch successive halving stopped the trial at, if it did
);
CREATE INDEX IF NOT EXISTS sweep_runs_sweep ON sweep_runs(sweep_id);
"""


@dataclass(frozen=True)
class Run:
    """One row of the runs table."""

    id: int
    name: str
    notes: str
    status: str
    config: str
    created_at: float
    started_at: float | None
    finished_at: float | None
    heartbeat_at: float | None
    worker_pid: int | None
    worker_host: str | None
    cancel_requested: int
    epoch: int
    epochs: int
    batch: int
    steps: int
    progress: float
    eta_seconds: float | None
    param_count: int | None
    test_loss: float | None
    test_accuracy: float | None
    train_seconds: float | None
    error: str | None
    traceback: str | None
    tags: str = ""  # comma-separated labels a user gave the run

    @property
    def tag_list(self) -> list[str]:
        """The run's tags."""
        return [t for t in (x.strip() for x in self.tags.split(",")) if t]

    @property
    def config_dict(self) -> dict:
        """The run's TrainConfig as a plain dict."""
        return json.loads(self.config)

    @property
    def is_finished(self) -> bool:
        """True once the run can no longer change."""
        return self.status in FINISHED_STATUSES


@dataclass(frozen=True)
class MetricPoint:
    """One metric value at one moment of training."""

    kind: str
    step: int
    epoch: float
    elapsed: float
    name: str
    value: float


_RUN_COLUMNS = ", ".join(f.name for f in fields(Run))


def insert_run(conn: sqlite3.Connection, name: str, config: dict, notes: str = "", epochs: int = 0) -> int:
    """Insert a queued run inside the caller's transaction; returns its id."""
    cur = conn.execute(
        "INSERT INTO runs (name, notes, status, config, created_at, epochs) VALUES (?, ?, ?, ?, ?, ?)",
        (name, notes, QUEUED, json.dumps(config, sort_keys=True), time.time(), epochs),
    )
    return int(cur.lastrowid)


def _add_tags_column(conn: sqlite3.Connection) -> None:
    """Version 1: runs get tags (stores made before had none)."""
    if "tags" not in {row[1] for row in conn.execute("PRAGMA table_info(runs)")}:
        conn.execute("ALTER TABLE runs ADD COLUMN tags TEXT NOT NULL DEFAULT ''")


# Ordered schema changes: MIGRATIONS[k] brings a store from version k to k + 1. Version 0 is a store
# made before versions were recorded. Each step adds, never drops, and checks what is there first.
MIGRATIONS = (_add_tags_column,)
SCHEMA_VERSION = len(MIGRATIONS)


class StoreError(RuntimeError):
    """A store this code cannot use; the message says why and what to do."""


def schema_version(conn: sqlite3.Connection) -> int:
    """The store's schema version (`PRAGMA user_version`)."""
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def migrate(conn: sqlite3.Connection) -> None:
    """Bring the store to SCHEMA_VERSION, one step per transaction (processes opening it at once
    take turns: a step another process already made is skipped)."""
    while (version := schema_version(conn)) < SCHEMA_VERSION:
        conn.execute("BEGIN IMMEDIATE")
        try:
            if schema_version(conn) == version:
                MIGRATIONS[version](conn)
                conn.execute(f"PRAGMA user_version = {version + 1}")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
    if version > SCHEMA_VERSION:
        raise StoreError(f"store: {conn.execute('PRAGMA database_list').fetchone()[2]} has schema version "
                         f"{version}, newer than this Train Lab's {SCHEMA_VERSION}; update Train Lab")


class RunStore:
    """Access to the SQLite run store; one connection per thread, opened lazily."""

    def __init__(self, path: Path | str):
        self.path = Path(path)
        self._local = threading.local()

    # -- connection -----------------------------------------------------------------
    def connection(self) -> sqlite3.Connection:
        """The calling thread's connection (opened, and the schema brought up to date, on first use)."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL is durable across crashes of a process
            conn.execute("PRAGMA foreign_keys=ON")
            conn.executescript(_SCHEMA)
            migrate(conn)
            self._local.conn = conn
        return conn

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction that holds the lock from the start, commits at the end and rolls back on error."""
        conn = self.connection()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        else:
            conn.execute("COMMIT")

    def close(self) -> None:
        """Close this thread's connection (others close when their thread ends)."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    # -- creating and claiming ------------------------------------------------------
    def create_run(self, name: str, config: dict, notes: str = "", epochs: int = 0) -> int:
        """Insert a new queued run and return its id."""
        with self.transaction() as conn:
            return insert_run(conn, name, config, notes, epochs)

    def claim(self, run_id: int, pid: int, host: str) -> bool:
        """Atomically move a queued run to running for this worker; False if it was not queued."""
        now = time.time()
        with self.transaction() as conn:
            cur = conn.execute(
                "UPDATE runs SET status=?, started_at=?, heartbeat_at=?, worker_pid=?, worker_host=? "
                "WHERE id=? AND status=?",
                (RUNNING, now, now, pid, host, run_id, QUEUED),
            )
            return cur.rowcount == 1

    # -- while running ----------------------------------------------------------------
    def heartbeat(self, run_id: int) -> None:
        """Record that the worker training this run is alive."""
        with self.transaction() as conn:
            conn.execute("UPDATE runs SET heartbeat_at=? WHERE id=? AND status=?", (time.time(), run_id, RUNNING))

    def set_plan(self, run_id: int, epochs: int, steps: int, param_count: int) -> None:
        """Record the size of the job once the model and data are ready."""
        with self.transaction() as conn:
            conn.execute(
                "UPDATE runs SET epochs=?, steps=?, param_count=? WHERE id=?", (epochs, steps, param_count, run_id)
            )

    def report(
        self,
        run_id: int,
        points: Iterable[MetricPoint],
        epoch: int,
        batch: int,
        progress: float,
        eta_seconds: float | None,
    ) -> None:
        """Append metric points and update progress in one transaction (one fsync-free commit)."""
        rows = [(run_id, p.kind, p.step, p.epoch, p.elapsed, p.name, p.value) for p in points]
        with self.transaction() as conn:
            conn.executemany(
                "INSERT INTO metrics (run_id, kind, step, epoch, elapsed, name, value) VALUES (?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
            conn.execute(
                "UPDATE runs SET epoch=?, batch=?, progress=?, eta_seconds=?, heartbeat_at=? WHERE id=?",
                (epoch, batch, progress, eta_seconds, time.time(), run_id),
            )

    def cancel_requested(self, run_id: int) -> bool:
        """Whether someone asked this run to stop."""
        row = self.connection().execute("SELECT cancel_requested FROM runs WHERE id=?", (run_id,)).fetchone()
        return bool(row and row[0])

    def finish(
        self,
        run_id: int,
        status: str,
        *,
        error: str | None = None,
        traceback: str | None = None,
        test_loss: float | None = None,
        test_accuracy: float | None = None,
        train_seconds: float | None = None,
    ) -> bool:
        """Move a running run to a final status; False if it was no longer running."""
        if status not in FINISHED_STATUSES:
            raise ValueError(f"finish() takes a final status; got {status!r}")
        with self.transaction() as conn:
            cur = conn.execute(
                "UPDATE runs SET status=?, finished_at=?, error=?, traceback=?, test_loss=?, test_accuracy=?, "
                "train_seconds=?, eta_seconds=NULL, progress=CASE WHEN ?=? THEN 1.0 ELSE progress END "
                "WHERE id=? AND status=?",
                (status, time.time(), error, traceback, test_loss, test_accuracy, train_seconds,
                 status, SUCCEEDED, run_id, RUNNING),
            )
            return cur.rowcount == 1

    # -- user actions -----------------------------------------------------------------
    def request_cancel(self, run_id: int) -> str | None:
        """Cancel a queued run at once, or flag a running one; return the status after, None if no run."""
        with self.transaction() as conn:
            conn.execute(
                "UPDATE runs SET status=?, finished_at=? WHERE id=? AND status=?",
                (CANCELLED, time.time(), run_id, QUEUED),
            )
            conn.execute("UPDATE runs SET cancel_requested=1 WHERE id=? AND status=?", (run_id, RUNNING))
            row = conn.execute("SELECT status FROM runs WHERE id=?", (run_id,)).fetchone()
        return row[0] if row else None

    def delete(self, run_id: int) -> bool:
        """Delete a finished run and its metrics; False if it does not exist or is still active."""
        with self.transaction() as conn:
            cur = conn.execute(
                f"DELETE FROM runs WHERE id=? AND status IN ({','.join('?' * len(FINISHED_STATUSES))})",
                (run_id, *FINISHED_STATUSES),
            )
            return cur.rowcount == 1

    def cancel_unqueued(self, run_ids: list[int], reason: str) -> int:
        """Cancel runs still `queued` that the job queue did not take, with the reason; how many."""
        if not run_ids:
            return 0
        with self.transaction() as conn:
            marks = ",".join("?" * len(run_ids))
            cur = conn.execute(f"UPDATE runs SET status=?, finished_at=?, error=? WHERE status=? AND id IN ({marks})",
                               (CANCELLED, time.time(), reason, QUEUED, *run_ids))
            return cur.rowcount

    def fail_run(self, run_id: int, reason: str) -> bool:
        """Mark a running run failed from outside its worker (the worker is gone)."""
        with self.transaction() as conn:
            cur = conn.execute(
                "UPDATE runs SET status=?, finished_at=?, error=?, eta_seconds=NULL WHERE id=? AND status=?",
                (FAILED, time.time(), reason, run_id, RUNNING),
            )
            return cur.rowcount == 1

    # -- reading ----------------------------------------------------------------------
    def get(self, run_id: int) -> Run | None:
        """One run, or None."""
        row = self.connection().execute(f"SELECT {_RUN_COLUMNS} FROM runs WHERE id=?", (run_id,)).fetchone()
        return Run(**dict(row)) if row else None

    def list_runs(self, statuses: Iterable[str] | None = None, limit: int | None = None) -> list[Run]:
        """Runs, newest first, optionally only some statuses."""
        sql = f"SELECT {_RUN_COLUMNS} FROM runs"
        params: list = []
        if statuses:
            statuses = list(statuses)
            sql += f" WHERE status IN ({','.join('?' * len(statuses))})"
            params += statuses
        sql += " ORDER BY id DESC"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(int(limit))
        return [Run(**dict(r)) for r in self.connection().execute(sql, params)]

    def metrics(self, run_id: int) -> list[MetricPoint]:
        """All metric points of a run in training order."""
        rows = self.connection().execute(
            "SELECT kind, step, epoch, elapsed, name, value FROM metrics WHERE run_id=? ORDER BY step, rowid",
            (run_id,),
        )
        return [MetricPoint(**dict(r)) for r in rows]

    def activity(self) -> tuple[tuple, int]:
        """(fingerprint, active): the fingerprint changes when a run is created, starts, ends or is
        deleted, not with every metric point; active counts queued and running runs. One cheap query."""
        row = self.connection().execute(
            "SELECT COUNT(*), COALESCE(MAX(id), 0), COALESCE(SUM(started_at), 0), COALESCE(SUM(finished_at), 0), "
            "COALESCE(SUM(status IN (?, ?)), 0) FROM runs", (QUEUED, RUNNING)).fetchone()
        return tuple(row), int(row[4])

    def throughput_rows(self) -> list[tuple[str, int, int, float]]:
        """(config JSON, batches per epoch, epochs done, training seconds) of every succeeded run that
        trained, for estimates of how long new runs will take."""
        return [tuple(row) for row in self.connection().execute(
            "SELECT config, steps, epoch, train_seconds FROM runs WHERE status=? AND train_seconds > 0 AND steps > 0",
            (SUCCEEDED,))]

    def has_metrics(self, run_id: int) -> bool:
        """Whether run `run_id` has written any metric point yet (one indexed lookup)."""
        return self.connection().execute("SELECT 1 FROM metrics WHERE run_id=? LIMIT 1", (run_id,)).fetchone() \
            is not None

    def metric_count(self) -> int:
        """How many metric points the store holds."""
        return int(self.connection().execute("SELECT COUNT(*) FROM metrics").fetchone()[0])

    def count_by_status(self) -> dict[str, int]:
        """How many runs are in each status."""
        rows = self.connection().execute("SELECT status, COUNT(*) FROM runs GROUP BY status")
        return {status: n for status, n in rows}


SORTABLE = {"id": "id", "name": "name COLLATE NOCASE", "status": "status", "test accuracy": "test_accuracy",
            "test loss": "test_loss", "parameters": "param_count", "training time": "train_seconds"}
FILTER_FIELDS = ("dataset", "architecture", "optimizer")


@dataclass(frozen=True)
class RunQuery:
    """Filters, sorting and one page of the run table."""

    status: tuple[str, ...] = ()
    dataset: tuple[str, ...] = ()
    architecture: tuple[str, ...] = ()
    optimizer: tuple[str, ...] = ()
    tag: str = ""
    text: str = ""  # matched against name, notes and tags
    sweep: int | None = None  # only the runs of this sweep
    sort: str = "id"
    descending: bool = True
    page: int = 0
    page_size: int = 50


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


def facets(store: RunStore) -> dict[str, list[str]]:
    """The values the filters can take: datasets, architectures, optimizers and tags in use."""
    conn = store.connection()
    result = {f: [r[0] for r in conn.execute(
        f"SELECT DISTINCT json_extract(config, '$.{f}') FROM runs ORDER BY 1") if r[0]] for f in FILTER_FIELDS}
    tags = set()
    for (text,) in conn.execute("SELECT DISTINCT tags FROM runs WHERE tags != ''"):
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
