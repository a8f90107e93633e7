"""Students' API keys in the store: what lets a student's own script report to the class's server as them.
Only each key's SHA-256 is kept (like sessions), with its owner, a label, its first characters and when it
was made, last used and revoked."""
from __future__ import annotations

import time
from dataclasses import dataclass

from core.store.runs import RunStore


@dataclass(frozen=True)
class KeyRow:
    """One API key, as its owner's page lists it (never the key itself)."""

    hint: str
    label: str
    created_at: float
    last_used_at: float | None
    revoked_at: float | None


def add_key(store: RunStore, key_hash: str, user: str, label: str, hint: str, most: int) -> bool:
    """Store a new key of `user`; False (nothing stored) when they already hold `most` live keys."""
    with store.transaction() as conn:
        live = conn.execute("SELECT COUNT(*) FROM api_keys WHERE \"user\"=? AND revoked_at IS NULL",
                            (user,)).fetchone()[0]
        if live >= most:
            return False
        conn.execute("INSERT INTO api_keys (key_hash, \"user\", label, hint, created_at) VALUES (?, ?, ?, ?, ?)",
                     (key_hash, user, label, hint, time.time()))
        return True


def user_keys(store: RunStore, user: str) -> list[KeyRow]:
    """A user's keys, live ones first, newest first."""
    rows = store.connection().execute(
        "SELECT hint, label, created_at, last_used_at, revoked_at FROM api_keys WHERE \"user\"=? "
        "ORDER BY revoked_at IS NOT NULL, created_at DESC", (user,))
    return [KeyRow(*row) for row in rows]


def revoke_key(store: RunStore, user: str, hint: str) -> bool:
    """Revoke `user`'s live key that starts with `hint`; False if they hold none."""
    with store.transaction() as conn:
        cur = conn.execute("UPDATE api_keys SET revoked_at=? WHERE \"user\"=? AND hint=? AND revoked_at IS NULL",
                           (time.time(), user, hint))
        return cur.rowcount > 0


def key_user(store: RunStore, key_hash: str) -> tuple[str, str, float | None] | None:
    """(name, role, last used) of the account a live key acts for, or None (unknown, revoked, account gone)."""
    row = store.connection().execute(
        "SELECT u.name, u.role, k.last_used_at FROM api_keys k JOIN users u ON u.name = k.\"user\" "
        "WHERE k.key_hash=? AND k.revoked_at IS NULL", (key_hash,)).fetchone()
    return (row[0], row[1], row[2]) if row else None


def mark_used(store: RunStore, key_hash: str) -> None:
    """Record that a key was used now."""
    with store.transaction() as conn:
        conn.execute("UPDATE api_keys SET last_used_at=? WHERE key_hash=?", (time.time(), key_hash))
