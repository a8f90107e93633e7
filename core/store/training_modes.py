"""The training mode each run trained with and why (core/domain/training_modes.py), and the measurements `auto`
keeps per model shape and machine, so later runs of that shape skip measuring."""
from __future__ import annotations

import json
import time

from core.domain.training_modes import KERAS, SPE, XLA, ModeChoice, Timings, again
from core.store.runs import RunStore


def measured_choice(store: RunStore, key: str, total_steps: int) -> ModeChoice | None:
    """The choice for a run of `total_steps` from an earlier run's measurement of shape `key`; None when none has
    (or one from before `spe` was measured: measuring again costs once what every later run of the shape gains)."""
    row = store.connection().execute(
        "SELECT same_result, keras_seconds, xla_seconds, keras_start, xla_start, run_id, spe_seconds, spe_start, "
        "spe_measured FROM mode_measurements WHERE shape_key=?", (key,)).fetchone()
    if row is None or not row[8]:
        return None
    candidates = [mode for mode, usable in ((XLA, row[0] and row[2] is not None), (SPE, row[6] is not None))
                  if usable]
    if not candidates:
        return ModeChoice(KERAS, None, "earlier: XLA failed or differed in its result for this model here",
                          measured_by=row[5])
    return again(Timings(row[1], row[3], row[2], row[4], row[6], row[7]), total_steps, "earlier", row[5],
                 candidates)


def keep_measurement(store: RunStore, key: str, timings: Timings, same_result: bool, run_id: int | None = None) -> None:
    """Keep what run `run_id` measured for shape `key` (the latest measurement wins); `same_result`: XLA's loss
    matched (`spe`'s timings are None when its did not)."""
    with store.transaction() as conn:
        conn.execute("DELETE FROM mode_measurements WHERE shape_key=?", (key,))
        conn.execute("INSERT INTO mode_measurements (shape_key, same_result, keras_seconds, xla_seconds, keras_start, "
                     "xla_start, measured_at, run_id, spe_seconds, spe_start, spe_measured) "
                     "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)",
                     (key, int(same_result and timings.xla_step is not None), timings.keras_step, timings.xla_step,
                      timings.keras_start, timings.xla_start, time.time(), run_id, timings.spe_step,
                      timings.spe_start))


def record_run_mode(store: RunStore, run_id: int, choice: ModeChoice) -> None:
    """Note what run `run_id` trains with (a retry's choice replaces its lost attempt's)."""
    with store.transaction() as conn:
        conn.execute("DELETE FROM run_modes WHERE run_id=?", (run_id,))
        conn.execute("INSERT INTO run_modes (run_id, choice) VALUES (?, ?)", (run_id, json.dumps(choice.to_dict())))


def run_mode(store: RunStore, run_id: int) -> ModeChoice | None:
    """What run `run_id` trained with, or None (not started yet, tracked, or trained before modes were kept)."""
    row = store.connection().execute("SELECT choice FROM run_modes WHERE run_id=?", (run_id,)).fetchone()
    return ModeChoice(**json.loads(row[0])) if row else None
