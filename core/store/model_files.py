"""Students' own model files in the store (issue 31): one row per checked `.keras` file, with what its page shows
(parameters, input shape, classes, layer table) and whether a teacher shared it with the class; the file itself
lives in the lab's models folder as <id>.keras (Settings.models_dir)."""
from __future__ import annotations

import json
import time

from core.domain.model_files import ModelFile
from core.store.runs import RunStore

_COLUMNS = "id, owner, name, created_at, params, input_shape, classes, layers, shared"


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


def _row(r) -> ModelFile:
    return ModelFile(r[0], r[1], r[2], r[3], r[4], json.loads(r[5]), r[6], json.loads(r[7]), bool(r[8]))


def model_files(store: RunStore, owner: str | None = None, with_shared: bool = False) -> list[ModelFile]:
    """The added model files: every one, or `owner`'s (and the shared ones, `with_shared`); by owner, then name."""
    if owner is None:
        where, values = "", ()
    else:
        where, values = ("WHERE owner=? OR shared=1 " if with_shared else "WHERE owner=? "), (owner,)
    rows = store.connection().execute(f"SELECT {_COLUMNS} FROM model_files {where}ORDER BY owner, name", values)
    return [_row(r) for r in rows]


def model_file(store: RunStore, model_id: int) -> ModelFile | None:
    """One model file's row, or None."""
    row = store.connection().execute(f"SELECT {_COLUMNS} FROM model_files WHERE id=?", (model_id,)).fetchone()
    return _row(row) if row else None


def set_shared(store: RunStore, model_id: int, shared: bool) -> None:
    """Share a model file with the class, or stop sharing it."""
    with store.transaction() as conn:
        conn.execute("UPDATE model_files SET shared=? WHERE id=?", (int(shared), model_id))


def remove_model_file(store: RunStore, model_id: int) -> None:
    """Forget a model file's row (its file is the caller's to remove)."""
    with store.transaction() as conn:
        conn.execute("DELETE FROM model_files WHERE id=?", (model_id,))
