"""The training mode each run trained with and why (core/domain/training_modes.py), and the measurements `auto`
keeps per model shape and machine, so later runs of that shape skip measuring."""
from __future__ import annotations

import json
import time

from core.domain.training_modes import CANDIDATES, KERAS, ModeChoice, Timings, again
from core.store.runs import RunStore


def measured_choice(store: RunStore, key: str, total_steps: int) -> ModeChoice | None:
    """The choice for a run of `total_steps` from an earlier run's measurement of shape `key`; None when none has
    (or one from before version 10, of XLA alone: measuring again costs once what every later run of it gains)."""
    row = store.connection().execute(
        "SELECT keras_seconds, keras_start, modes, run_id FROM mode_measurements WHERE shape_key=?", (key,)).fetchone()
    if row is None or row[2] is None:
        return None
    # Modes this code still measures: one dropped since would be chosen without being known.
    modes = {mode: tuple(timing) for mode, timing in json.loads(row[2]).items() if mode in CANDIDATES}
    if not modes:
        return ModeChoice(KERAS, None, "earlier: no faster mode trained to the same result for this model here",
                          measured_by=row[3])
    return again(Timings(row[0], row[1], modes), total_steps, "earlier", row[3])


def keep_measurement(store: RunStore, key: str, timings: Timings, run_id: int | None = None) -> None:
    """Keep what run `run_id` measured for shape `key` (the latest measurement wins)."""
    # One statement, not DELETE then INSERT: a sweep's trials of one shape may measure at once, and two INSERTs
    # racing under PostgreSQL's READ COMMITTED would fail the second run on the key.
    with store.transaction() as conn:
        conn.execute("INSERT INTO mode_measurements (shape_key, same_result, keras_seconds, keras_start, measured_at, "
                     "run_id, modes) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (shape_key) DO UPDATE SET "
                     "same_result=excluded.same_result, keras_seconds=excluded.keras_seconds, "
                     "keras_start=excluded.keras_start, measured_at=excluded.measured_at, run_id=excluded.run_id, "
                     "modes=excluded.modes, xla_seconds=NULL, xla_start=NULL",
                     (key, int(bool(timings.modes)), timings.keras_step, timings.keras_start, time.time(), run_id,
                      json.dumps({mode: list(timing) for mode, timing in timings.modes.items()})))


def record_run_mode(store: RunStore, run_id: int, choice: ModeChoice) -> None:
    """Note what run `run_id` trains with (a retry's choice replaces its lost attempt's)."""
    with store.transaction() as conn:
        conn.execute("DELETE FROM run_modes WHERE run_id=?", (run_id,))
        conn.execute("INSERT INTO run_modes (run_id, choice) VALUES (?, ?)", (run_id, json.dumps(choice.to_dict())))


def run_mode(store: RunStore, run_id: int) -> ModeChoice | None:
    """What run `run_id` trained with, or None (not started yet, tracked, or trained before modes were kept)."""
    row = store.connection().execute("SELECT choice FROM run_modes WHERE run_id=?", (run_id,)).fetchone()
    return ModeChoice(**json.loads(row[0])) if row else None
