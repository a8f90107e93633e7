"""The run store: SQLite (WAL mode, the default) or PostgreSQL (`TRAINLAB_DB_URL`, for a lab of several
machines) holding runs, their configs, live metrics and heartbeats.

Every process (Streamlit, CLI, workers, on any machine with PostgreSQL) opens the same store; WAL lets
SQLite's readers poll while a worker writes. Writes go through `transaction()`, which on SQLite takes the
write lock up front (`BEGIN IMMEDIATE`) so a claim or a status change is atomic across processes; on
PostgreSQL the same conditional UPDATEs are atomic by its row locks. The SQL is SQLite's; core/store/postgres.py
runs it on PostgreSQL. Only the store package issues SQL (this module and its siblings); the rest calls them.
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

from core.domain.class_rules import check_queue
from core.domain.statuses import CANCELLED, EVALUATED, FAILED, FINISHED_STATUSES, QUEUED, RUNNING, SUCCEEDED, TRAINED
from core.store.connections import busy_as_store_error, is_database_url, open_postgres, open_sqlite


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
    attempt: int = 0  # claims so far: 1 while the first attempt trains, 2 after one retry
    attempt_note: str | None = None  # why an earlier attempt was lost (it was re-queued)
    threads: int | None = None  # CPU threads its worker's TensorFlow trained it with (None: not recorded)
    owner: str = ""  # the account that queued it ("": the operator, on a laptop or the server's CLI)
    kind: str = TRAINED  # trained by Train Lab's workers, or tracked (it trains outside and only reports)

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


def insert_run(conn: sqlite3.Connection, name: str, config: dict, notes: str = "", epochs: int = 0,
               owner: str = "", kind: str = TRAINED) -> int:
    """Insert a queued run of `owner` (trained, or only evaluated) inside the caller's transaction; its id."""
    cur = conn.execute(
        "INSERT INTO runs (name, notes, status, config, created_at, epochs, owner, kind) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        (name, notes, QUEUED, json.dumps(config, sort_keys=True), time.time(), epochs, owner, kind),
    )
    return int(cur.fetchone()[0])


def _queued_of(conn, owner: str) -> int:
    return int(conn.execute("SELECT COUNT(*) FROM runs WHERE status=? AND owner=?", (QUEUED, owner)).fetchone()[0])


class Superseded(RuntimeError):
    """A worker's attempt no longer owns its run (marked lost, re-queued, or claimed again): stop writing."""


def _owner(run_id: int, attempt: int | None) -> tuple[str, tuple]:
    """The WHERE clause of a worker's write: the run, and (fenced) only while `attempt` still owns it."""
    if attempt is None:
        return "id=?", (run_id,)
    return "id=? AND status=? AND attempt=?", (run_id, RUNNING, attempt)


class RunStore:
    """Access to the run store; one connection per thread, opened lazily. `location` is the SQLite file,
    or a postgresql:// URL (Settings.store_location gives the one the settings choose)."""

    def __init__(self, location: Path | str):
        self.url = str(location) if is_database_url(location) else None
        self.path = Path(location) if self.url is None else None
        self._local = threading.local()

    @property
    def location(self) -> str | Path:
        """The PostgreSQL URL or the SQLite file: what another process opens the same store with."""
        return self.url or self.path

    # -- connection -----------------------------------------------------------------
    def connection(self) -> sqlite3.Connection:
        """The calling thread's connection (opened, and the schema brought up to date, on first use)."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = open_sqlite(self.path) if self.url is None else open_postgres(self.url)
            self._local.conn = conn
        return conn

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction that holds the lock from the start, commits at the end and rolls back on error."""
        conn = self.connection()
        with busy_as_store_error(self.path):
            conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        else:
            conn.execute("COMMIT")

    def check(self) -> None:
        """Open the store and ask it one question: StoreError in one line when it is damaged or unreachable."""
        self.connection().execute("SELECT 1").fetchone()

    def clock_offset(self) -> float:
        """Seconds the database server's clock is ahead of this machine's; 0 on SQLite (one machine). The
        store's times (heartbeats, starts) are written by one machine and compared by another."""
        if self.url is None:
            return 0.0
        before = time.time()
        server = float(self.connection().execute("SELECT extract(epoch from clock_timestamp())").fetchone()[0])
        return server - (before + time.time()) / 2  # the server read it about halfway through the round trip

    def close(self) -> None:
        """Close this thread's connection (others close when their thread ends)."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    # -- creating and claiming ------------------------------------------------------
    def create_run(self, name: str, config: dict, notes: str = "", epochs: int = 0, owner: str = "",
                   max_queued: int | None = None) -> int:
        """Insert a new queued run of `owner` and return its id (see `create_runs` for `max_queued`)."""
        return self.create_runs([(name, config, notes, epochs)], owner, max_queued)[0]

    def create_runs(self, runs: list[tuple[str, dict, str, int]], owner: str = "",
                    max_queued: int | None = None) -> list[int]:
        """Insert queued runs ((name, config, notes, epochs[, kind]) each) of `owner` all at once; their ids, or
        LimitError (none stored) if they would put `owner` over `max_queued` runs queued."""
        with self.transaction() as conn:
            self.guard_queue(conn, owner, len(runs), max_queued)
            return [insert_run(conn, *run[:4], owner, *run[4:]) for run in runs]

    def guard_queue(self, conn, owner: str, new: int, max_queued: int | None) -> None:
        """In a write transaction: LimitError if `new` more runs put `owner` over `max_queued` queued. Counted
        in the transaction that inserts, one writer at a time (SQLite's BEGIN IMMEDIATE, a PostgreSQL lock)."""
        if max_queued is not None:
            if self.url is not None:
                conn.execute("SELECT pg_advisory_xact_lock(hashtext(?))", (f"trainlab queue of {owner}",))
            check_queue(max_queued, _queued_of(conn, owner), new)

    def claim(self, run_id: int, pid: int, host: str, threads: int | None = None) -> int | None:
        """Atomically move a queued run to running for this worker (training with `threads` CPU threads);
        returns the attempt's number (its fencing token: 1, then 2 after a retry), or None if the run
        was not queued."""
        now = time.time()
        with self.transaction() as conn:
            cur = conn.execute(
                "UPDATE runs SET status=?, started_at=?, heartbeat_at=?, worker_pid=?, worker_host=?, threads=?, "
                "attempt=attempt + 1 WHERE id=? AND status=?",
                (RUNNING, now, now, pid, host, threads, run_id, QUEUED),
            )
            if cur.rowcount != 1:
                return None
            return int(conn.execute("SELECT attempt FROM runs WHERE id=?", (run_id,)).fetchone()[0])

    def queued_runs(self) -> list[tuple[int, str, str]]:
        """(id, owner, config JSON, attempts so far) of every queued run Train Lab trains, oldest first."""
        return [tuple(r) for r in self.connection().execute(
            "SELECT id, owner, config, attempt FROM runs WHERE status=? AND kind IN (?, ?) ORDER BY id",
            (QUEUED, TRAINED, EVALUATED))]

    def owner_loads(self, since: float, now: float) -> tuple[dict[str, int], dict[str, float]]:
        """Per owner: runs training now, and seconds their runs trained between `since` and `now`."""
        conn = self.connection()
        running = {owner: n for owner, n in conn.execute(
            "SELECT owner, COUNT(*) FROM runs WHERE status=? GROUP BY owner", (RUNNING,))}
        recent = {owner: float(seconds) for owner, seconds in conn.execute(
            # min(now, end) - max(started, since), in CASEs both databases read (SQLite has no LEAST/GREATEST)
            "SELECT owner, SUM(CASE WHEN COALESCE(finished_at, ?) < ? THEN COALESCE(finished_at, ?) ELSE ? END "
            "- CASE WHEN started_at > ? THEN started_at ELSE ? END) FROM runs "
            "WHERE started_at IS NOT NULL AND COALESCE(finished_at, ?) > ? GROUP BY owner",
            (now, now, now, now, since, since, now, since))}
        return running, recent

    def queued_count(self, owner: str) -> int:
        """How many runs `owner` has waiting in the queue."""
        return _queued_of(self.connection(), owner)

    # -- while running: a worker passes its attempt, and a superseded attempt's writes are refused ----------
    def _owned_update(self, conn: sqlite3.Connection, assignments: str, values: tuple, run_id: int,
                      attempt: int | None) -> None:
        where, keys = _owner(run_id, attempt)
        cur = conn.execute(f"UPDATE runs SET {assignments} WHERE {where}", (*values, *keys))
        if attempt is not None and cur.rowcount != 1:
            raise Superseded(f"run #{run_id}: attempt {attempt} no longer owns it")

    def heartbeat(self, run_id: int, attempt: int | None = None) -> None:
        """Record that the worker training this run is alive (Superseded once `attempt` lost the run)."""
        with self.transaction() as conn:
            if attempt is None:
                conn.execute("UPDATE runs SET heartbeat_at=? WHERE id=? AND status=?", (time.time(), run_id, RUNNING))
            else:
                self._owned_update(conn, "heartbeat_at=?", (time.time(),), run_id, attempt)

    def set_plan(self, run_id: int, epochs: int, steps: int, param_count: int, attempt: int | None = None) -> None:
        """Record the size of the job once the model and data are ready."""
        with self.transaction() as conn:
            self._owned_update(conn, "epochs=?, steps=?, param_count=?", (epochs, steps, param_count), run_id, attempt)

    def report(
        self,
        run_id: int,
        points: Iterable[MetricPoint],
        epoch: int,
        batch: int,
        progress: float,
        eta_seconds: float | None,
        attempt: int | None = None,
    ) -> None:
        """Append metric points and update progress in one transaction (one fsync-free commit); a
        superseded `attempt` writes nothing and gets Superseded."""
        rows = [(run_id, p.kind, p.step, p.epoch, p.elapsed, p.name, p.value) for p in points]
        with self.transaction() as conn:
            self._owned_update(conn, "epoch=?, batch=?, progress=?, eta_seconds=?, heartbeat_at=?",
                               (epoch, batch, progress, eta_seconds, time.time()), run_id, attempt)
            conn.executemany(
                "INSERT INTO metrics (run_id, kind, step, epoch, elapsed, name, value) VALUES (?, ?, ?, ?, ?, ?, ?)",
                rows,
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
        attempt: int | None = None,
    ) -> bool:
        """Move a running run to a final status; False if it was no longer running (or no longer this attempt's)."""
        if status not in FINISHED_STATUSES:
            raise ValueError(f"finish() takes a final status; got {status!r}")
        where, keys = _owner(run_id, attempt)
        with self.transaction() as conn:
            cur = conn.execute(
                "UPDATE runs SET status=?, finished_at=?, error=?, traceback=?, test_loss=?, test_accuracy=?, "
                "train_seconds=?, eta_seconds=NULL, progress=COALESCE(?, progress) "
                f"WHERE {where} AND status=?",
                (status, time.time(), error, traceback, test_loss, test_accuracy, train_seconds,
                 1.0 if status == SUCCEEDED else None, *keys, RUNNING),
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

    def activity(self) -> tuple[tuple, int, float | None]:
        """(fingerprint, active, newest start): the fingerprint changes when a run is created, starts, ends
        or is deleted, not with every metric point; active counts queued and running runs; the newest
        start is when the latest running run started (None if none runs). One cheap query."""
        row = self.connection().execute(
            "SELECT COUNT(*), COALESCE(MAX(id), 0), COALESCE(SUM(started_at), 0), COALESCE(SUM(finished_at), 0), "
            "COALESCE(SUM(CASE WHEN status IN (?, ?) THEN 1 ELSE 0 END), 0), "
            "MAX(CASE WHEN status=? THEN started_at END) FROM runs",
            (QUEUED, RUNNING, RUNNING)).fetchone()
        return tuple(row)[:5], int(row[4]), row[5]

    def has_metrics(self, run_id: int) -> bool:
        """Whether run `run_id` has written any metric point yet (one indexed lookup)."""
        return bool(self.connection().execute("SELECT 1 FROM metrics WHERE run_id=? LIMIT 1", (run_id,)).fetchone())

    def metric_count(self) -> int:
        """How many metric points the store holds."""
        return int(self.connection().execute("SELECT COUNT(*) FROM metrics").fetchone()[0])

    def count_by_status(self, owner: str | None = None) -> dict[str, int]:
        """How many runs are in each status (of `owner` only, if given)."""
        where, params = ("WHERE owner=? ", (owner,)) if owner is not None else ("", ())
        rows = self.connection().execute(f"SELECT status, COUNT(*) FROM runs {where}GROUP BY status", params)
        return {status: n for status, n in rows}
