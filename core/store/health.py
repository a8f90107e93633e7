"""Is a store file usable, and a consistent copy of it while the lab runs (SQLite's online backup)."""
from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from core.store.schema import StoreError


def damaged(path: Path) -> str | None:
    """Why the SQLite file at `path` cannot be read (e.g. 'file is not a database'), or None if it can
    (or is not a file). Reads the header and the schema only: cheap on any size."""
    if not path.is_file():  # missing (made on first use) or not a file: not a question of damage
        return None
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
        try:
            conn.execute("PRAGMA schema_version").fetchone()
            conn.execute("SELECT name FROM sqlite_master").fetchall()
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        return " ".join(str(exc).split()) or exc.__class__.__name__
    return None


def backup(db_path: Path, destination: Path | None = None) -> Path:
    """Copy the run store to `destination` (default: backups/trainlab-<time>.db beside it) with SQLite's
    online backup, which gives a consistent copy while workers keep writing; returns the copy's path."""
    if destination is None:
        destination = db_path.parent / "backups" / f"trainlab-{time.strftime('%Y%m%d-%H%M%S')}.db"
    if destination.is_dir() or not destination.suffix:  # a folder, existing or to be made
        destination = destination / f"trainlab-{time.strftime('%Y%m%d-%H%M%S')}.db"
    try:
        destination.parent.mkdir(parents=True, exist_ok=True)
        source = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=30)
        target = sqlite3.connect(destination)
        try:
            source.backup(target)
        finally:
            target.close()
            source.close()
    except (OSError, sqlite3.Error) as exc:  # the destination, not the store: a place that cannot take the copy
        reason = " ".join(str(getattr(exc, "strerror", None) or exc).split())
        raise StoreError(f"backup: cannot write {destination} ({reason}); give a folder or a .db file you can "
                         "write to") from None
    return destination
