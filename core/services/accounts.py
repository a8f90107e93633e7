"""Classroom accounts: create and remove them, sign in and out, and read the audit.

Passwords are kept as argon2id hashes (argon2-cffi, the Password Hashing Competition's winner, with
its recommended parameters). A browser that signs in gets a random session token in a cookie; the
store keeps only the token's SHA-256 and when it expires.

Guessing is slowed down per computer, per name tried from an unknown browser, and per known browser
(core/domain/throttle.py). A browser that signed in as a name before carries a "known browser" cookie
for it, signed with the account's password hash (so a new password forgets every known browser): its
attempts are counted on their own, so a stranger guessing at the teacher's name from another computer
cannot lock the teacher out of her own browser.
"""
from __future__ import annotations

import csv
import hashlib
import hmac
import io
import secrets
import time
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from core.domain.people import STUDENT, AccountError, Actor, check_name, check_password, check_role
from core.domain.throttle import Rule, Throttle
from core.settings import Settings, load_settings
from core.store import accounts as rows
from core.store.runs import RunStore

# Wrong passwords free before attempts are slowed: a name tried from unknown browsers gets few, a computer
# more (a class behind one address mistypes too), a browser that signed in as the name before its own.
SIGN_IN_RULES = {"name": Rule(free=3), "computer": Rule(free=10), "browser": Rule(free=5)}
_throttles: dict[str, Throttle] = {}  # this process's, per store: the sign-in page is served by one process
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
    known_browser: str = ""  # the value of the browser's "known browser" cookie for this name


def _store(settings: Settings | None) -> RunStore:
    return RunStore((settings or load_settings()).store_location)


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


def sign_in(name: str, password: str, settings: Settings | None = None, now: float | None = None,
            computer: str = "", known_browser: str = "") -> SignIn:
    """Check a name and password tried from `computer` (its address) by a browser carrying `known_browser`
    (its cookie, if any); a session for the browser, or AccountError in one line. Wrong names and wrong
    passwords read the same, and so do their waits, so names cannot be told from the answers."""
    settings = settings or load_settings()
    store = _store(settings)
    now = time.time() if now is None else now
    try:
        user = rows.get_user(store, check_name(name))
    except AccountError:
        user = None
    browser = _known_browser(user, known_browser)
    keys = ([("browser", user.name, browser)] if browser else
            [("computer", computer), ("name", name.strip().lower()[:64])])
    throttle = _throttles.setdefault(str(settings.store_location), Throttle(SIGN_IN_RULES))
    wait = throttle.reserve(keys, now)
    if wait:
        raise AccountError(f"sign-in: too many wrong passwords; wait {max(1, round(wait))} s and try again")
    right = False
    try:
        try:
            _hasher.verify(user.password_hash if user else _NOBODY_HASH, password)
            right = user is not None
        except (VerificationError, InvalidHashError):
            right = False
    finally:  # whatever happens, the reserved check is answered
        throttle.settle(keys, right, now, clear=("name", "browser"))
    if not right:
        raise AccountError("sign-in: wrong user name or password")
    token = secrets.token_urlsafe(32)
    expires_at = now + settings.session_hours * 3600
    rows.add_session(store, _token_hash(token), user.name, expires_at)
    return SignIn(Actor(user.name, user.role), token, expires_at, _known_browser_cookie(user))


def _known_browser_cookie(user: rows.UserRow) -> str:
    """A "known browser" cookie for `user`: their name, a random part, and a signature keyed by their password
    hash (only the store holds it), so it cannot be made without the store and a new password voids it."""
    nonce = secrets.token_urlsafe(9)
    return f"{user.name}.{nonce}.{_signature(user, nonce)}"


def _known_browser(user: rows.UserRow | None, cookie: str) -> str:
    """The random part of `cookie` if it is a valid known-browser cookie for `user`, else ""."""
    parts = cookie.rsplit(".", 2) if user and cookie and len(cookie) < 200 else []
    if len(parts) != 3 or parts[0] != user.name:
        return ""
    return parts[1] if hmac.compare_digest(parts[2], _signature(user, parts[1])) else ""


def _signature(user: rows.UserRow, nonce: str) -> str:
    return hmac.new(user.password_hash.encode(), f"{user.name}.{nonce}".encode(), hashlib.sha256).hexdigest()[:32]


def actor_for(token: str | None, settings: Settings | None = None, now: float | None = None) -> Actor | None:
    """Who a browser's session token signs in, or None (no token, unknown, expired or signed out)."""
    if not token:
        return None
    found = rows.session_user(_store(settings), _token_hash(token), time.time() if now is None else now)
    return Actor(*found) if found else None


def live_sessions(token_hashes: set[str], settings: Settings | None = None, now: float | None = None) -> set[str]:
    """Which of these sessions (by token hash) are still signed in: one look for every open page at once."""
    return rows.live_sessions(_store(settings), sorted(token_hashes), time.time() if now is None else now)


def token_hash(token: str) -> str:
    """How a session token is known in the store (its SHA-256): the token itself is never kept."""
    return _token_hash(token)


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

