"""The classroom's tables in the run store: accounts, signed-in sessions, and the audit of who did what.

Only hashes are stored: argon2id for passwords (made by the accounts service), SHA-256 for session
tokens, so a copy of the store lets nobody sign in.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass

from core.store.runs import RunStore


@dataclass(frozen=True)
class UserRow:
    """One account."""

    name: str
    role: str
    password_hash: str
    created_at: float
    failed_sign_ins: int
    retry_after: float | None


@dataclass(frozen=True)
class AuditRow:
    """One recorded action."""

    id: int
    at: float
    actor: str
    action: str
    target: str
    detail: str


_USER_COLUMNS = "name, role, password_hash, created_at, failed_sign_ins, retry_after"


def add_user(store: RunStore, name: str, role: str, password_hash: str) -> bool:
    """Create an account; False if the name is taken."""
    with store.transaction() as conn:
        cur = conn.execute("INSERT INTO users (name, role, password_hash, created_at) VALUES (?, ?, ?, ?) "
                           "ON CONFLICT (name) DO NOTHING",
                           (name, role, password_hash, time.time()))
        return cur.rowcount == 1


def get_user(store: RunStore, name: str) -> UserRow | None:
    """One account, or None."""
    row = store.connection().execute(f"SELECT {_USER_COLUMNS} FROM users WHERE name=?", (name,)).fetchone()
    return UserRow(*row) if row else None


def list_users(store: RunStore) -> list[UserRow]:
    """Every account: teachers first, then by name."""
    rows = store.connection().execute(f"SELECT {_USER_COLUMNS} FROM users ORDER BY role != 'teacher', name")
    return [UserRow(*r) for r in rows]


def remove_user(store: RunStore, name: str) -> bool:
    """Delete an account and its sessions (its runs stay, still owned by the name); False if none."""
    with store.transaction() as conn:
        return conn.execute("DELETE FROM users WHERE name=?", (name,)).rowcount == 1


def set_password_hash(store: RunStore, name: str, password_hash: str) -> bool:
    """Replace an account's password, end its sessions and clear its failures; False if no account."""
    with store.transaction() as conn:
        cur = conn.execute("UPDATE users SET password_hash=?, failed_sign_ins=0, retry_after=NULL WHERE name=?",
                           (password_hash, name))
        conn.execute('DELETE FROM sessions WHERE "user"=?', (name,))
        return cur.rowcount == 1


def add_session(store: RunStore, token_hash: str, user: str, expires_at: float) -> None:
    """Record a signed-in session (and drop expired ones, so the table stays small)."""
    now = time.time()
    with store.transaction() as conn:
        conn.execute("DELETE FROM sessions WHERE expires_at <= ?", (now,))
        conn.execute("INSERT INTO sessions (token_hash, \"user\", created_at, expires_at) VALUES (?, ?, ?, ?)",
                     (token_hash, user, now, expires_at))


def session_user(store: RunStore, token_hash: str, now: float) -> tuple[str, str] | None:
    """(name, role) of the account a live session belongs to, or None if none or expired."""
    row = store.connection().execute(
        "SELECT u.name, u.role FROM sessions s JOIN users u ON u.name = s.\"user\" "
        "WHERE s.token_hash=? AND s.expires_at > ?", (token_hash, now)).fetchone()
    return (row[0], row[1]) if row else None


def live_sessions(store: RunStore, token_hashes: list[str], now: float) -> set[str]:
    """Which of these session token hashes are still signed in (not expired, ended, or of a removed account)."""
    if not token_hashes:
        return set()
    marks = ",".join("?" * len(token_hashes))
    rows = store.connection().execute(
        f"SELECT s.token_hash FROM sessions s JOIN users u ON u.name = s.\"user\" WHERE s.token_hash IN ({marks}) "
        "AND s.expires_at > ?", [*token_hashes, now])
    return {row[0] for row in rows}


def end_session(store: RunStore, token_hash: str) -> None:
    """Sign a session out."""
    with store.transaction() as conn:
        conn.execute("DELETE FROM sessions WHERE token_hash=?", (token_hash,))


def add_audit(store: RunStore, actor: str, action: str, target: str, detail: str = "") -> None:
    """Record that `actor` did `action` to `target`."""
    with store.transaction() as conn:
        conn.execute("INSERT INTO audit (at, actor, action, target, detail) VALUES (?, ?, ?, ?, ?)",
                     (time.time(), actor, action, target, detail))


def audit_rows(store: RunStore, limit: int = 200) -> list[AuditRow]:
    """The latest recorded actions, newest first."""
    rows = store.connection().execute("SELECT id, at, actor, action, target, detail FROM audit ORDER BY id DESC "
                                      "LIMIT ?", (int(limit),))
    return [AuditRow(*r) for r in rows]


def class_settings(store: RunStore) -> dict:
    """The teacher's class settings as stored (field -> value)."""
    return {key: json.loads(value) for key, value in store.connection().execute(
        "SELECT key, value FROM class_settings")}


def save_class_settings(store: RunStore, values: dict) -> None:
    """Store the teacher's class settings (every field given)."""
    with store.transaction() as conn:
        conn.executemany("INSERT INTO class_settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET "
                         "value=excluded.value", [(k, json.dumps(v)) for k, v in values.items()])
