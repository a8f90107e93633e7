"""Classroom accounts: create and remove them, sign in and out, and read the audit.

Passwords are kept as argon2id hashes (argon2-cffi, the Password Hashing Competition's winner, with
its recommended parameters). A browser that signs in gets a random session token in a cookie; the
store keeps only the token's SHA-256 and when it expires. Wrong passwords for one account in a row
make it wait before the next attempt is even checked: 1 s after the third, doubling up to a minute.
"""
from __future__ import annotations

import csv
import hashlib
import io
import secrets
import time
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from core.domain.people import STUDENT, AccountError, Actor, check_name, check_password, check_role
from core.settings import Settings, load_settings
from core.store import accounts as rows
from core.store.runs import RunStore

FREE_TRIES = 3  # wrong passwords in a row before attempts are slowed down
MAX_WAIT_SECONDS = 60.0
PASSWORD_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read aloud and typed by students
GENERATED_LENGTH = 12

_hasher = PasswordHasher()
_NOBODY_HASH = _hasher.hash("not a password anyone has")  # checked for unknown names: the same time taken


@dataclass(frozen=True)
class Account:
    """An account as the CLI lists it (never its hash)."""

    name: str
    role: str
    created_at: float


@dataclass(frozen=True)
class SignIn:
    """A successful sign-in: who, and the token for the browser's cookie."""

    actor: Actor
    token: str
    expires_at: float


def _store(settings: Settings | None) -> RunStore:
    return RunStore((settings or load_settings()).store_location)


def wait_after(failures: int) -> float:
    """Seconds before the next attempt is checked, after `failures` wrong passwords in a row."""
    if failures < FREE_TRIES:
        return 0.0
    return min(MAX_WAIT_SECONDS, 2.0 ** (failures - FREE_TRIES))


def generate_password() -> str:
    """A random password for a roster import (12 characters of 31: about 59 bits)."""
    return "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(GENERATED_LENGTH))


def add(name: str, role: str, password: str, settings: Settings | None = None) -> Account:
    """Create an account; AccountError for a bad or taken name, a bad role or a short password."""
    name, role, password = check_name(name), check_role(role), check_password(password)
    store = _store(settings)
    if not rows.add_user(store, name, role, _hasher.hash(password)):
        raise AccountError(f"name: there is already a user {name!r}; pick another name or `users password {name}`")
    rows.add_audit(store, "", "add user", f"user {name}", role)
    return Account(name, role, time.time())


def import_roster(text: str, settings: Settings | None = None) -> list[tuple[str, str, str]]:
    """Create an account for each row of a roster CSV (a `name` column, an optional `role` column; students
    by default), each with a generated password; returns (name, role, password) to print once.

    Every row is checked before any account is made: a bad or taken name refuses the whole roster."""
    reader = csv.DictReader(io.StringIO(text))
    if reader.fieldnames is None or "name" not in [f.strip().lower() for f in reader.fieldnames]:
        raise AccountError("roster: the first line must name the columns, with a 'name' column (and 'role')")
    wanted, seen = [], set()
    store = _store(settings)
    for number, row in enumerate(reader, start=2):
        row = {(k or "").strip().lower(): (v or "").strip() for k, v in row.items()}
        if not row.get("name"):
            continue
        try:
            name, role = check_name(row["name"]), check_role(row.get("role") or STUDENT)
        except AccountError as exc:
            raise AccountError(f"roster line {number}: {exc}") from None
        if name in seen or rows.get_user(store, name) is not None:
            raise AccountError(f"roster line {number}: name {name!r} is already taken; remove the line or rename")
        seen.add(name)
        wanted.append((name, role))
    made = []
    for name, role in wanted:
        password = generate_password()
        add(name, role, password, settings)
        made.append((name, role, password))
    return made


def accounts(settings: Settings | None = None) -> list[Account]:
    """Every account, teachers first."""
    return [Account(u.name, u.role, u.created_at) for u in rows.list_users(_store(settings))]


def remove(name: str, settings: Settings | None = None) -> None:
    """Remove an account (its runs stay, under its name); AccountError if there is none."""
    name = check_name(name)
    store = _store(settings)
    if not rows.remove_user(store, name):
        raise AccountError(f"name: there is no user {name!r}; `python -m core users list` shows them")
    rows.add_audit(store, "", "remove user", f"user {name}")


def set_password(name: str, password: str, settings: Settings | None = None) -> None:
    """Give an account a new password; its browsers are signed out."""
    name, password = check_name(name), check_password(password)
    store = _store(settings)
    if not rows.set_password_hash(store, name, _hasher.hash(password)):
        raise AccountError(f"name: there is no user {name!r}; `python -m core users list` shows them")
    rows.add_audit(store, "", "set password", f"user {name}")


def sign_in(name: str, password: str, settings: Settings | None = None, now: float | None = None) -> SignIn:
    """Check a name and password; a session for the browser, or AccountError in one line (wrong name and
    wrong password read the same, so names cannot be guessed one by one)."""
    settings = settings or load_settings()
    store = _store(settings)
    now = time.time() if now is None else now
    try:
        user = rows.get_user(store, check_name(name))
    except AccountError:
        user = None
    if user is not None and user.retry_after is not None and now < user.retry_after:
        raise AccountError(f"sign-in: too many wrong passwords for {user.name}; try again in "
                           f"{max(1, round(user.retry_after - now))} s")
    try:
        _hasher.verify(user.password_hash if user else _NOBODY_HASH, password)
        right = user is not None
    except (VerificationError, InvalidHashError):
        right = False
    if not right:
        if user is not None:
            rows.record_failure(store, user.name, wait_after, now)
        raise AccountError("sign-in: wrong user name or password")
    rows.clear_failures(store, user.name)
    token = secrets.token_urlsafe(32)
    expires_at = now + settings.session_hours * 3600
    rows.add_session(store, _token_hash(token), user.name, expires_at)
    return SignIn(Actor(user.name, user.role), token, expires_at)


def actor_for(token: str | None, settings: Settings | None = None, now: float | None = None) -> Actor | None:
    """Who a browser's session token signs in, or None (no token, unknown, expired or signed out)."""
    if not token:
        return None
    found = rows.session_user(_store(settings), _token_hash(token), time.time() if now is None else now)
    return Actor(*found) if found else None


def sign_out(token: str | None, settings: Settings | None = None) -> None:
    """End a browser's session (nothing happens for an unknown token)."""
    if token:
        rows.end_session(_store(settings), _token_hash(token))


def record(actor: Actor, action: str, target: str, detail: str = "", settings: Settings | None = None) -> None:
    """Add `actor`'s `action` on `target` to the audit."""
    rows.add_audit(_store(settings), actor.name, action, target, detail)


def audit(settings: Settings | None = None, limit: int = 200) -> list[rows.AuditRow]:
    """The latest recorded actions, newest first."""
    return rows.audit_rows(_store(settings), limit)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()

