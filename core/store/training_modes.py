"""The training mode each run trained with and why (core/domain/training_modes.py), and the measurements `auto`
keeps per model shape and machine, so later runs of that shape skip measuring."""
from __future__ import annotations

import json
import time

from core.domain.training_modes import ModeChoice
from core.store.runs import RunStore


def measured_choice(store: RunStore, key: str) -> ModeChoice | None:
    """The choice an earlier run measured for shape `key`, marked as earlier; None when none has."""
    row = store.connection().execute("SELECT mode, speedup, run_id FROM mode_measurements WHERE shape_key=?",
                                     (key,)).fetchone()
    return ModeChoice(row[0], row[1], "earlier", measured_by=row[2]) if row else None


def keep_measurement(store: RunStore, key: str, choice: ModeChoice, keras_seconds: float,
                     xla_seconds: float | None, run_id: int | None = None) -> None:
    """Keep what run `run_id` measured for shape `key` (the latest measurement wins)."""
    with store.transaction() as conn:
        conn.execute("DELETE FROM mode_measurements WHERE shape_key=?", (key,))
        conn.execute("INSERT INTO mode_measurements (shape_key, mode, speedup, keras_seconds, xla_seconds, "
                     "measured_at, run_id) VALUES (?, ?, ?, ?, ?, ?, ?)",
                     (key, choice.mode, choice.speedup, keras_seconds, xla_seconds, time.time(), run_id))


def record_run_mode(store: RunStore, run_id: int, choice: ModeChoice) -> None:
    """Note what run `run_id` trains with (a retry's choice replaces its lost attempt's)."""
    with store.transaction() as conn:
        conn.execute("DELETE FROM run_modes WHERE run_id=?", (run_id,))
        conn.execute("INSERT INTO run_modes (run_id, choice) VALUES (?, ?)", (run_id, json.dumps(choice.to_dict())))


def run_mode(store: RunStore, run_id: int) -> ModeChoice | None:
    """What run `run_id` trained with, or None (not started yet, tracked, or trained before modes were kept)."""
    row = store.connection().execute("SELECT choice FROM run_modes WHERE run_id=?", (run_id,)).fetchone()
    return ModeChoice(**json.loads(row[0])) if row else None
