"""Opening the run store: a SQLite file (WAL, foreign keys, a damaged file named in one line) or a
PostgreSQL database (core/store/postgres.py), either with its schema made and brought up to date."""
from __future__ import annotations

import contextlib
import os
import sqlite3
from pathlib import Path
from typing import Iterator

from core.store.schema import StoreBusy, StoreError, create, migrate


def is_database_url(location: str | Path) -> bool:
    """Whether `location` names a PostgreSQL database rather than a SQLite file."""
    return str(location).startswith(("postgresql://", "postgres://"))


def damaged_message(path: Path, exc: BaseException) -> str:
    """One line: which store file is damaged, and what to do."""
    return (f"store: {path} is damaged ({' '.join(str(exc).split())}); stop the app and the workers, move it "
            f"aside (mv {path} {path}.damaged) and copy a backup in its place (README: Backing up), or start "
            "again with an empty store")


def busy_seconds() -> float:
    """How long a process waits for another's write lock on the SQLite store (TRAINLAB_STORE_BUSY_SECONDS,
    30 by default; read here, where every connection opens, rather than through the settings object)."""
    try:
        return max(0.1, float(os.environ.get("TRAINLAB_STORE_BUSY_SECONDS", "30")))
    except ValueError:
        return 30.0


@contextlib.contextmanager
def busy_as_store_error(path: Path | None) -> Iterator[None]:
    """Within the block, SQLite's "database is locked" (another process held the write lock past
    busy_seconds) becomes StoreBusy, one line saying what happened."""
    try:
        yield
    except sqlite3.OperationalError as exc:
        if "locked" not in str(exc) and "busy" not in str(exc):
            raise
        raise StoreBusy(f"store: {path} was locked by another process for more than {busy_seconds():.0f} s (a "
                        "backup tool or a long transaction); nothing was changed; try again once it lets go") from None


def open_sqlite(path: Path) -> sqlite3.Connection:
    """A connection to the SQLite store at `path` (made if missing); StoreError if the file is damaged,
    StoreBusy if another process holds its write lock for too long."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        conn = sqlite3.connect(path, timeout=busy_seconds(), isolation_level=None)
    except sqlite3.OperationalError as exc:  # a folder in its place, a folder this user may not write
        raise StoreError(f"store: cannot open {path} ({exc}); it must be a file this user may write, in a "
                         "folder that exists (TRAINLAB_HOME)") from None
    try:
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL is durable across crashes of a process
        conn.execute("PRAGMA foreign_keys=ON")
        create(conn)
        migrate(conn)
    except sqlite3.DatabaseError as exc:
        conn.close()
        if isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc):
            with busy_as_store_error(path):
                raise
        raise StoreError(damaged_message(path, exc)) from None
    return conn


@contextlib.contextmanager
def waiting_at_most(seconds: float) -> Iterator[None]:
    """Within the block, an unreachable PostgreSQL server is given up on after `seconds` (30 otherwise):
    a page says so at once, while a worker outlives a restart. SQLite has no server to wait for."""
    from core.store.postgres import waiting_at_most as pg_waiting_at_most

    with pg_waiting_at_most(seconds):
        yield


# PostgreSQL stores this process has made or brought up to date already: a service opens a store per call,
# and checking the schema again (DDL under a lock every process takes in turn) would cost each call.
_CURRENT: set[str] = set()


def open_postgres(url: str):
    """A connection to the PostgreSQL store at `url`; StoreError in one line if it cannot be reached."""
    from core.store.postgres import PgConnection, describe

    conn = PgConnection(url)
    if url in _CURRENT:
        return conn
    try:
        create(conn)
        migrate(conn, where=describe(url))
    except BaseException:
        conn.close()
        raise
    _CURRENT.add(url)
    return conn
