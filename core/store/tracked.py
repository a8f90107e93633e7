"""Tracked runs in the store: runs that train outside Train Lab (a student's own script or notebook) and only
report in. Each has a row in `reporters` beside its `runs` row: the reporter's own key for its fit call (a
start sent again finds the same run), the last report stored (a report sent again is not stored twice, so
points arrive once and in order however often the network drops an answer), and whether the reporter said how
`fit` ended. The dispatcher never claims such a run; its liveness check fails it when the reporter goes silent,
and a reporter that comes back (its machine was offline) brings it back to running with its points.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass

from core.domain.statuses import CANCELLED, FAILED, RUNNING, SUCCEEDED, TRACKED
from core.store.runs import MetricPoint, RunStore


@dataclass(frozen=True)
class Reporter:
    """A tracked run's reporter, as the store knows it."""

    run_id: int
    client_key: str
    owner: str
    status: str
    last_seq: int
    points: int
    said_end: bool
    offline_seconds: float
    layers: list


class ReportRefused(ValueError):
    """A report the store cannot take for this run; the message says why, in one line."""


def reporter(store: RunStore, run_id: int) -> Reporter | None:
    """The reporter of tracked run `run_id`, or None if it is not a tracked run."""
    row = store.connection().execute(
        "SELECT r.run_id, r.client_key, u.owner, u.status, r.last_seq, r.points, r.said_end, r.offline_seconds, "
        "r.layers FROM reporters r JOIN runs u ON u.id = r.run_id WHERE r.run_id=?", (run_id,)).fetchone()
    if row is None:
        return None
    values = list(row)
    values[6], values[8] = bool(values[6]), json.loads(values[8])
    return Reporter(*values)


def reporter_of_key(store: RunStore, client_key: str) -> int | None:
    """The run a reporter's key started, or None."""
    row = store.connection().execute("SELECT run_id FROM reporters WHERE client_key=?", (client_key,)).fetchone()
    return int(row[0]) if row else None


@dataclass(frozen=True)
class ReporterLimits:
    """What one reporter's run, and its owner's tracked runs together, may hold (None: no limit)."""

    points_per_run: int
    names_per_run: int
    running: int | None = None  # the owner's runs at once (a student's class limit)
    points_per_owner: int | None = None  # every tracked run of the owner together (a student's disk share)
    starts_per_hour: int | None = None


def _owner_lock(store: RunStore, conn, owner: str) -> None:
    """In a write transaction: one writer at a time counts `owner`'s runs (SQLite's BEGIN IMMEDIATE already is
    one; PostgreSQL takes a lock per owner), so reporters starting at once cannot overshoot a limit together."""
    if store.url is not None:
        conn.execute("SELECT pg_advisory_xact_lock(hashtext(?))", (f"trainlab runs of {owner}",))


def _check_running(conn, owner: str, limits: ReporterLimits) -> None:
    if limits.running is None:
        return
    running = conn.execute("SELECT COUNT(*) FROM runs WHERE owner=? AND status=?", (owner, RUNNING)).fetchone()[0]
    if running >= limits.running:
        raise ReportRefused(f"limit: you have {running} runs training, the class limit of {limits.running} runs at "
                            "once; let one finish or cancel one first")


def start_tracked_run(store: RunStore, client_key: str, owner: str, name: str, config: dict, *, epochs: int,
                      steps: int, param_count: int, pid: int, host: str, layers: list,
                      limits: ReporterLimits) -> tuple[int, bool]:
    """Insert a running tracked run for `owner`; (its id, True), or (the id, False) when this reporter's start
    was stored before (its answer was lost). ReportRefused when the key is another owner's, or over `limits`
    (counted in this transaction: starts at the same moment cannot all slip under a limit)."""
    now = time.time()
    with store.transaction() as conn:
        row = conn.execute("SELECT r.run_id, u.owner FROM reporters r JOIN runs u ON u.id = r.run_id "
                           "WHERE r.client_key=?", (client_key,)).fetchone()
        if row is not None:
            if row[1] != owner:
                raise ReportRefused("key: another reporter's run; start a new run with a fresh key")
            return int(row[0]), False
        _owner_lock(store, conn, owner)
        _check_running(conn, owner, limits)
        if limits.starts_per_hour is not None and conn.execute(
                "SELECT COUNT(*) FROM runs WHERE owner=? AND kind=? AND created_at > ?",
                (owner, TRACKED, now - 3600)).fetchone()[0] >= limits.starts_per_hour:
            raise ReportRefused(f"limit: {limits.starts_per_hour} runs from your own code in the last hour, the most "
                                "a student may start; wait a while")
        cur = conn.execute(
            "INSERT INTO runs (name, notes, status, config, created_at, started_at, heartbeat_at, worker_pid, "
            "worker_host, epochs, steps, param_count, owner, kind, attempt) "
            "VALUES (?, '', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1) RETURNING id",
            (name, RUNNING, json.dumps(config, sort_keys=True), now, now, now, pid, host, epochs, steps, param_count,
             owner, TRACKED))
        run_id = int(cur.fetchone()[0])
        conn.execute("INSERT INTO reporters (run_id, client_key, layers) VALUES (?, ?, ?)",
                     (run_id, client_key, json.dumps(layers)))
        return run_id, True


@dataclass(frozen=True)
class Where:
    """Where training is, as a report says: the run's row takes it when the report is new."""

    epoch: int
    batch: int
    progress: float
    eta_seconds: float | None
    offline_seconds: float


def append_report(store: RunStore, run_id: int, seq: int, points: list[MetricPoint], where: Where,
                  limits: ReporterLimits, back_note: str | None = None) -> bool:
    """Store report `seq` of tracked run `run_id` (points, progress, and the heartbeat it also is); a report
    already stored (seq not above the last) only counts as a heartbeat. A run its liveness check failed while
    the reporter was silent comes back to running (within the owner's limits), `back_note` kept as why. A run
    someone asked to stop ends cancelled at its reporter's next word, which is told so (True). ReportRefused
    when the run has ended, or the points would go past `limits` or the run's epochs."""
    now = time.time()
    with store.transaction() as conn:
        row = conn.execute("SELECT u.status, r.last_seq, r.points, r.said_end, u.cancel_requested, u.owner, u.epochs, "
                           "r.names FROM runs u JOIN reporters r ON r.run_id = u.id WHERE u.id=?", (run_id,)).fetchone()
        status, last_seq, stored, said_end, cancel, owner, epochs, names = row
        if cancel:
            _cancelled(conn, run_id, now)
            return True
        if status == FAILED and not said_end:  # failed for its silence: the reporter is back
            _owner_lock(store, conn, owner)
            _check_running(conn, owner, limits)
            conn.execute("UPDATE runs SET status=?, finished_at=NULL, error=NULL, attempt_note=? WHERE id=?",
                         (RUNNING, back_note, run_id))
        elif status != RUNNING:
            raise ReportRefused(f"run: #{run_id} has ended ({status}); a new fit call makes a new run")
        fresh = seq > last_seq
        if fresh and seq > 0:
            names = _checked_points(conn, run_id, points, stored, epochs, json.loads(names), owner, limits)
        conn.execute("UPDATE runs SET epoch=?, batch=?, progress=?, eta_seconds=?, heartbeat_at=? WHERE id=?",
                     (min(where.epoch, epochs), where.batch, where.progress, where.eta_seconds, now, run_id) if fresh
                     else (_current(conn, run_id) + (now, run_id)))
        conn.execute("UPDATE reporters SET offline_seconds=? WHERE run_id=? AND offline_seconds < ?",
                     (where.offline_seconds, run_id, where.offline_seconds))
        if fresh and seq > 0:
            conn.executemany(
                "INSERT INTO metrics (run_id, kind, step, epoch, elapsed, name, value) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(run_id, p.kind, p.step, p.epoch, p.elapsed, p.name, p.value) for p in points])
            conn.execute("UPDATE reporters SET last_seq=?, points=points + ?, names=? WHERE run_id=?",
                         (seq, len(points), json.dumps(names), run_id))
        return False


def _cancelled(conn, run_id: int, now: float) -> None:
    """A cancel was asked: the run ends cancelled now (its reporter is told to stop), whatever it sends later."""
    conn.execute("UPDATE runs SET status=?, finished_at=?, error=?, eta_seconds=NULL, "
                 "train_seconds=COALESCE(train_seconds, heartbeat_at - started_at) WHERE id=? AND status IN (?, ?)",
                 (CANCELLED, now, "cancelled from Train Lab", run_id, RUNNING, FAILED))


def _checked_points(conn, run_id: int, points: list[MetricPoint], stored: int, epochs: int, names: list[str],
                    owner: str, limits: ReporterLimits) -> list[str]:
    """ReportRefused when `points` would take run `run_id` past its limits or its epochs; the run's metric
    names after them."""
    if stored + len(points) > limits.points_per_run:
        raise ReportRefused(f"points: run #{run_id} would hold more than {limits.points_per_run:,} points; report "
                            "less often")
    late = next((p for p in points if p.kind != "test" and p.epoch > epochs + 1e-9), None)
    if late is not None:
        raise ReportRefused(f"points: epoch {late.epoch:g} is past the run's {epochs} epochs")
    known = set(names)
    new = sorted({p.name for p in points} - known)
    if len(known) + len(new) > limits.names_per_run:
        raise ReportRefused(f"points: run #{run_id} would have more than {limits.names_per_run} metric names; "
                            "report Keras' own metrics")
    if limits.points_per_owner is not None:
        held = conn.execute("SELECT COALESCE(SUM(r.points), 0) FROM reporters r JOIN runs u ON u.id = r.run_id "
                            "WHERE u.owner=?", (owner,)).fetchone()[0]
        if held + len(points) > limits.points_per_owner:
            raise ReportRefused(f"points: your runs from your own code hold {held:,} points, near the most a student "
                                f"may keep ({limits.points_per_owner:,}); delete some of them on the Runs page")
    return [*names, *new]


def _current(conn, run_id: int) -> tuple:
    """(epoch, batch, progress, eta) as they are: a report sent again must not move them back."""
    return tuple(conn.execute("SELECT epoch, batch, progress, eta_seconds FROM runs WHERE id=?", (run_id,)).fetchone())


def end_tracked_run(store: RunStore, run_id: int, status: str, error: str | None,
                    train_seconds: float | None) -> bool:
    """The reporter says how `fit` ended: the run takes that status (also when its silence had failed it
    meanwhile); a run someone asked to stop ends cancelled whatever it says; False if it had already ended
    otherwise (cancelled from a page, say)."""
    now = time.time()
    with store.transaction() as conn:
        said_before, cancel = conn.execute("SELECT r.said_end, u.cancel_requested FROM reporters r JOIN runs u "
                                           "ON u.id = r.run_id WHERE r.run_id=?", (run_id,)).fetchone()
        if cancel:
            conn.execute("UPDATE reporters SET said_end=1 WHERE run_id=?", (run_id,))
            _cancelled(conn, run_id, now)
            # The reporter's own training time beats the one its last report allowed.
            conn.execute("UPDATE runs SET train_seconds=COALESCE(?, train_seconds) WHERE id=?", (train_seconds, run_id))
            return False
        conn.execute("UPDATE reporters SET said_end=1 WHERE run_id=?", (run_id,))
        endable = (RUNNING,) if said_before else (RUNNING, FAILED)  # FAILED unsaid: failed for its silence
        marks = ",".join("?" * len(endable))
        cur = conn.execute(
            "UPDATE runs SET status=?, finished_at=?, error=?, train_seconds=?, eta_seconds=NULL, "
            f"progress=CASE WHEN ?=? THEN 1.0 ELSE progress END WHERE id=? AND status IN ({marks})",
            (status, now, error, train_seconds, status, SUCCEEDED, run_id, *endable))
        return cur.rowcount == 1


def record_test_result(store: RunStore, run_id: int, metrics: dict[str, float], step: int, epoch: float) -> None:
    """A `model.evaluate` after `fit`: its loss and accuracy become the run's test figures, every value a
    'test' point (a later evaluate replaces them)."""
    # The metric that is the test accuracy: the request's checks held every share-named one within 0..1.
    accuracy = next((v for k, v in metrics.items() if k in ("accuracy", "acc", "sparse_categorical_accuracy",
                                                           "categorical_accuracy", "compile_metrics")
                     and 0 <= v <= 1), None)
    with store.transaction() as conn:
        conn.execute("UPDATE runs SET test_loss=?, test_accuracy=? WHERE id=?", (metrics.get("loss"), accuracy, run_id))
        conn.execute("DELETE FROM metrics WHERE run_id=? AND kind='test'", (run_id,))
        conn.executemany(
            "INSERT INTO metrics (run_id, kind, step, epoch, elapsed, name, value) VALUES (?, 'test', ?, ?, 0, ?, ?)",
            [(run_id, step, epoch, name, value) for name, value in metrics.items()])
