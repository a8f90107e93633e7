"""Students' own model files in the store (issue 31): one row per checked `.keras` file, with what its page shows
(parameters, input shape, classes, layer table); the file itself lives in the lab's folder as <id>.keras."""
from __future__ import annotations

import json
import time
from dataclasses import dataclass

from core.store.runs import RunStore


@dataclass(frozen=True)
class ModelFileRow:
    """One added model file."""

    id: int
    owner: str
    name: str
    created_at: float
    params: int
    input_shape: list
    classes: int
    layers: list


def add_model_file(store: RunStore, owner: str, name: str, params: int, input_shape: list, classes: int,
                   layers: list) -> int | None:
    """Store a checked model file's row; its id, or None when `owner` already has a model of that name."""
    with store.transaction() as conn:
        if conn.execute("SELECT 1 FROM model_files WHERE owner=? AND name=?", (owner, name)).fetchone():
            return None
        cur = conn.execute(
            "INSERT INTO model_files (owner, name, created_at, params, input_shape, classes, layers) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (owner, name, time.time(), params, json.dumps(input_shape), classes, json.dumps(layers)))
        return int(cur.fetchone()[0])


def model_files(store: RunStore, owner: str | None = None) -> list[ModelFileRow]:
    """The added model files, `owner`'s only if given; by owner, then name."""
    where, values = ("WHERE owner=? ", (owner,)) if owner is not None else ("", ())
    rows = store.connection().execute(
        f"SELECT id, owner, name, created_at, params, input_shape, classes, layers FROM model_files {where}"
        "ORDER BY owner, name", values)
    return [ModelFileRow(r[0], r[1], r[2], r[3], r[4], json.loads(r[5]), r[6], json.loads(r[7])) for r in rows]


def remove_model_file(store: RunStore, model_id: int) -> None:
    """Forget a model file's row (its file is the caller's to remove)."""
    with store.transaction() as conn:
        conn.execute("DELETE FROM model_files WHERE id=?", (model_id,))
