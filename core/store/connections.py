"""Opening the run store: a SQLite file (WAL, foreign keys, a damaged file named in one line) or a
PostgreSQL database (core/store/postgres.py), either with its schema made and brought up to date."""
from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path
from typing import Iterator

from core.store.schema import StoreError, create, migrate


def is_database_url(location: str | Path) -> bool:
    """Whether `location` names a PostgreSQL database rather than a SQLite file."""
    return str(location).startswith(("postgresql://", "postgres://"))


def damaged_message(path: Path, exc: BaseException) -> str:
    """One line: which store file is damaged, and what to do."""
    return (f"store: {path} is damaged ({' '.join(str(exc).split())}); stop the app and the workers, move it "
            f"aside (mv {path} {path}.damaged) and copy a backup in its place (README: Backing up), or start "
            "again with an empty store")


def open_sqlite(path: Path) -> sqlite3.Connection:
    """A connection to the SQLite store at `path` (made if missing); StoreError if the file is damaged."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=30, isolation_level=None)
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
