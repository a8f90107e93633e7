"""A student's API keys: made and revoked on the Your code page, each acting as that
student alone for their own scripts' reports to the class's server (core/web/track_api.py). A key is shown
once, when made; the store keeps only its SHA-256."""
from __future__ import annotations

import hashlib
import secrets
import time

from core.domain.people import Actor
from core.errors import Refusal
from core.settings import Settings, load_settings
from core.store.api_keys import KeyRow, add_key, key_user, mark_used, revoke_key, user_keys
from core.store.runs import RunStore

PREFIX = "tlk_"  # a Train Lab key: recognisable in a script or a leaked paste
MOST_KEYS = 5  # live keys per student: one per laptop, say
MAX_LABEL = 40
USED_EVERY = 60.0  # seconds between two writes of a key's "last used" (not one write per report)


class KeyRefused(Refusal):
    """A key that cannot be made or revoked as asked; the message says why."""


def _store(settings: Settings | None) -> RunStore:
    return RunStore((settings or load_settings()).store_location)


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def make(actor: Actor, label: str, settings: Settings | None = None) -> str:
    """A new key for `actor` (an account), labelled `label`; the key itself, to show once."""
    label = " ".join(label.split())
    if not actor.name:
        raise KeyRefused("key: API keys are for classroom accounts; on a laptop your scripts report directly")
    if not label or len(label) > MAX_LABEL or not label.isprintable():
        raise KeyRefused(f"label: name the key in 1 to {MAX_LABEL} printable characters (e.g. laptop)")
    key = PREFIX + secrets.token_urlsafe(24)
    if not add_key(_store(settings), _hash(key), actor.name, label, key[:len(PREFIX) + 6], MOST_KEYS):
        raise KeyRefused(f"key: you hold {MOST_KEYS} keys already; revoke one you no longer use first")
    return key


def keys(actor: Actor, settings: Settings | None = None) -> list[KeyRow]:
    """`actor`'s keys (hints, labels, when made and last used), live ones first."""
    return user_keys(_store(settings), actor.name) if actor.name else []


def revoke(actor: Actor, hint: str, settings: Settings | None = None) -> None:
    """Revoke `actor`'s key that starts with `hint`: from now on it acts for nobody."""
    if not revoke_key(_store(settings), actor.name, hint):
        raise KeyRefused(f"key: you hold no live key {hint}…")


def actor_for_key(key: str | None, settings: Settings | None = None) -> Actor | None:
    """Who a live key acts for, or None (no key, unknown, revoked, or its account removed)."""
    if not key or not key.startswith(PREFIX) or len(key) > 100:
        return None
    store = _store(settings)
    found = key_user(store, _hash(key))
    if found is None:
        return None
    name, role, last_used = found
    if last_used is None or time.time() - last_used > USED_EVERY:
        mark_used(store, _hash(key))
    return Actor(name, role)
