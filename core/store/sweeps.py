"""The sweeps' tables in the run store: a sweep, the runs it queued, and what halving needs.

A sweep's runs are ordinary rows of `runs` (so the Runs page, comparison and the CLI work on
them); `sweep_runs` links each to its sweep with the hyperparameters it stands for.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass

from core.domain.statuses import ACTIVE_STATUSES
from core.store.runs import RunStore, insert_run

TRIAL, RETRAIN = "trial", "retrain"


@dataclass(frozen=True)
class SweepRow:
    """One row of the sweeps table."""

    id: int
    name: str
    spec: dict
    created_at: float
    owner: str = ""


@dataclass(frozen=True)
class NewRun:
    """A run to insert with its sweep link."""

    name: str
    config: dict
    epochs: int
    params: dict
    role: str = TRIAL


def create_sweep(store: RunStore, name: str, spec: dict, runs: list[NewRun], owner: str = "",
                 max_queued: int | None = None, retrain_datasets: tuple[str, ...] = ()) -> tuple[int, list[int]]:
    """Insert a sweep of `owner`, all its queued runs and the retrains it asks for once its search ends (one per
    dataset of `retrain_datasets`) in one transaction; returns (sweep id, run ids) (LimitError, nothing stored, if
    they would put `owner` over `max_queued` runs queued)."""
    with store.transaction() as conn:
        store.guard_queue(conn, owner, len(runs), max_queued)
        cur = conn.execute("INSERT INTO sweeps (name, spec, created_at, owner) VALUES (?, ?, ?, ?) RETURNING id",
                           (name, json.dumps(spec, sort_keys=True), time.time(), owner))
        sweep_id = int(cur.fetchone()[0])
        run_ids = [_link(conn, sweep_id, run, owner) for run in runs]
        for dataset in dict.fromkeys(retrain_datasets):  # a dataset named twice is retrained once
            conn.execute("INSERT INTO sweep_retrains (sweep_id, dataset) VALUES (?, ?)", (sweep_id, dataset))
    return sweep_id, run_ids


def add_run(store: RunStore, sweep_id: int, run: NewRun, owner: str = "", max_queued: int | None = None) -> int:
    """Insert one more queued run of `owner` into an existing sweep (a retrain); returns its id."""
    with store.transaction() as conn:
        store.guard_queue(conn, owner, 1, max_queued)
        return _link(conn, sweep_id, run, owner)


def _link(conn, sweep_id: int, run: NewRun, owner: str) -> int:
    run_id = insert_run(conn, run.name, run.config, epochs=run.epochs, owner=owner)
    conn.execute("INSERT INTO sweep_runs (sweep_id, run_id, role, params) VALUES (?, ?, ?, ?)",
                 (sweep_id, run_id, run.role, json.dumps(run.params, sort_keys=True)))
    return run_id


def get_sweep(store: RunStore, sweep_id: int) -> SweepRow | None:
    """One sweep, or None."""
    row = store.connection().execute("SELECT id, name, spec, created_at, owner FROM sweeps WHERE id=?",
                                     (sweep_id,)).fetchone()
    return SweepRow(row[0], row[1], json.loads(row[2]), row[3], row[4]) if row else None


def list_sweeps(store: RunStore) -> list[SweepRow]:
    """Every sweep, newest first."""
    rows = store.connection().execute("SELECT id, name, spec, created_at, owner FROM sweeps ORDER BY id DESC")
    return [SweepRow(r[0], r[1], json.loads(r[2]), r[3], r[4]) for r in rows]


def sweep_runs(store: RunStore, sweep_id: int) -> list[dict]:
    """The sweep's runs joined with their link: run columns plus role, params, stopped_at and
    the last epoch's validation accuracy and loss."""
    rows = store.connection().execute(
        """
        SELECT r.id, r.name, r.status, r.config, r.epoch, r.epochs, r.progress, r.eta_seconds, r.param_count,
               r.test_accuracy, r.test_loss, r.train_seconds, r.error,
               s.role, s.params, s.stopped_at,
               (SELECT value FROM metrics m WHERE m.run_id=r.id AND m.kind='epoch' AND m.name='val_accuracy'
                ORDER BY step DESC LIMIT 1) AS val_accuracy,
               (SELECT value FROM metrics m WHERE m.run_id=r.id AND m.kind='epoch' AND m.name='val_loss'
                ORDER BY step DESC LIMIT 1) AS val_loss
        FROM sweep_runs s JOIN runs r ON r.id = s.run_id
        WHERE s.sweep_id=? ORDER BY r.id
        """, (sweep_id,))
    out = []
    for row in rows:
        item = dict(row)
        item["params"] = json.loads(item["params"])
        out.append(item)
    return out


def sibling_configs(store: RunStore, run_id: int) -> list[str]:
    """The configs (JSON) of every run of run `run_id`'s sweep, its own included; [] when it is in none."""
    return [row[0] for row in store.connection().execute(
        "SELECT r.config FROM sweep_runs s JOIN runs r ON r.id=s.run_id "
        "WHERE s.sweep_id=(SELECT sweep_id FROM sweep_runs WHERE run_id=?)", (run_id,))]


def active_run_ids(store: RunStore, sweep_id: int) -> list[int]:
    """Ids of the sweep's queued and running runs."""
    marks = ",".join("?" * len(ACTIVE_STATUSES))
    return [r[0] for r in store.connection().execute(
        f"SELECT r.id FROM sweep_runs s JOIN runs r ON r.id=s.run_id WHERE s.sweep_id=? AND r.status IN ({marks})",
        (sweep_id, *ACTIVE_STATUSES))]


def delete_sweep(store: RunStore, sweep_id: int) -> list[int]:
    """Delete a sweep with no active run, and its runs; returns the deleted run ids."""
    with store.transaction() as conn:
        run_ids = [r[0] for r in conn.execute("SELECT run_id FROM sweep_runs WHERE sweep_id=?", (sweep_id,))]
        marks = ",".join("?" * len(run_ids))
        if run_ids:
            conn.execute(f"DELETE FROM runs WHERE id IN ({marks})", run_ids)
        conn.execute("DELETE FROM sweeps WHERE id=?", (sweep_id,))
    return run_ids


# -- successive halving -----------------------------------------------------------------------------
@dataclass(frozen=True)
class HalvingPlan:
    """What the worker needs to judge a trial at its rungs."""

    sweep_id: int
    dataset: str
    eta: int
    rungs: tuple[int, ...]


def halving_plan(store: RunStore, run_id: int, epochs: int) -> HalvingPlan | None:
    """The halving rule for a sweep trial, or None (not a trial, or its sweep does not halve)."""
    row = store.connection().execute(
        "SELECT s.sweep_id, w.spec, json_extract(r.config, '$.dataset') FROM sweep_runs s "
        "JOIN sweeps w ON w.id=s.sweep_id JOIN runs r ON r.id=s.run_id WHERE s.run_id=? AND s.role=?",
        (run_id, TRIAL)).fetchone()
    if row is None:
        return None
    halving = json.loads(row[1]).get("halving")
    if not halving:
        return None
    from core.domain.sweep_spec import Halving

    rule = Halving(**halving)
    return HalvingPlan(row[0], row[2], rule.eta, tuple(rule.rungs(epochs)))


def rung_scores(store: RunStore, plan: HalvingPlan, epoch: int) -> dict[int, float]:
    """Validation accuracy at `epoch` of every trial of the sweep on the same dataset that reached it."""
    rows = store.connection().execute(
        "SELECT m.run_id, m.value FROM metrics m JOIN sweep_runs s ON s.run_id=m.run_id "
        "JOIN runs r ON r.id=m.run_id WHERE s.sweep_id=? AND s.role=? AND m.kind='epoch' "
        "AND m.name='val_accuracy' AND m.epoch=? AND json_extract(r.config, '$.dataset')=?",
        (plan.sweep_id, TRIAL, float(epoch), plan.dataset))
    return {run_id: value for run_id, value in rows}


def membership(store: RunStore, run_id: int) -> tuple[int, str, str, int | None] | None:
    """(sweep id, sweep name, role, stopped_at) of a run that belongs to a sweep, else None."""
    row = store.connection().execute(
        "SELECT s.sweep_id, w.name, s.role, s.stopped_at FROM sweep_runs s JOIN sweeps w ON w.id=s.sweep_id "
        "WHERE s.run_id=?", (run_id,)).fetchone()
    return tuple(row) if row else None


def mark_stopped(store: RunStore, run_id: int, epoch: int) -> None:
    """Record that halving stopped this trial after `epoch` epochs."""
    with store.transaction() as conn:
        conn.execute("UPDATE sweep_runs SET stopped_at=? WHERE run_id=?", (epoch, run_id))


def due_retrains(store: RunStore) -> list[tuple[int, str, str]]:
    """(sweep id, dataset, owner) of each asked retrain not settled yet whose dataset has no trial queued or
    running left: its search has ended."""
    marks = ",".join("?" * len(ACTIVE_STATUSES))
    rows = store.connection().execute(
        "SELECT a.sweep_id, a.dataset, w.owner FROM sweep_retrains a JOIN sweeps w ON w.id=a.sweep_id "
        "WHERE a.settled=0 AND NOT EXISTS (SELECT 1 FROM sweep_runs s JOIN runs r ON r.id=s.run_id "
        f"WHERE s.sweep_id=a.sweep_id AND s.role=? AND r.status IN ({marks}) "
        "AND json_extract(r.config, '$.dataset')=a.dataset) ORDER BY a.sweep_id, a.dataset",
        (TRIAL, *ACTIVE_STATUSES))
    return [(int(r[0]), r[1], r[2]) for r in rows]


def settle_retrain(store: RunStore, sweep_id: int, dataset: str, run_id: int | None, note: str | None) -> None:
    """Record that an asked retrain was queued as `run_id`, or could not be (`note` says why)."""
    with store.transaction() as conn:
        conn.execute("UPDATE sweep_retrains SET settled=1, run_id=?, note=? WHERE sweep_id=? AND dataset=?",
                     (run_id, note, sweep_id, dataset))


def asked_retrains(store: RunStore, sweep_id: int) -> dict[str, tuple[bool, int | None, str | None]]:
    """Per dataset, (settled, run id, note) of the retrains sweep `sweep_id` asked for."""
    rows = store.connection().execute(
        "SELECT dataset, settled, run_id, note FROM sweep_retrains WHERE sweep_id=?", (sweep_id,))
    return {r[0]: (bool(r[1]), r[2], r[3]) for r in rows}
