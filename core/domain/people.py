"""Who is acting: the people of a classroom, their roles, and the one rule of who may change a run.

On a laptop nobody signs in and the person at the keyboard (or a CLI on the server) may do anything:
that actor is `OPERATOR`. In classroom mode each browser session has the actor it signed in as.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from core.errors import Refusal

TEACHER, STUDENT = "teacher", "student"
ROLES = (TEACHER, STUDENT)
NAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9._-]{0,39}")  # lower case: "Ana" and "ana" are one person
MIN_PASSWORD = 8


class AccountError(Refusal, ValueError):
    """A refused account action (bad name, wrong password, missing permission); the message says why."""


@dataclass(frozen=True)
class Actor:
    """Someone acting on the lab: `name` (an account, or "" for the operator) and `role`."""

    name: str
    role: str

    @property
    def is_teacher(self) -> bool:
        """Teachers (and the operator) may act on every run."""
        return self.role == TEACHER

    @property
    def label(self) -> str:
        """How the actor is named on screen and in the audit."""
        return self.name or "operator"


OPERATOR = Actor("", TEACHER)  # laptop mode and the server's command line: no account, every right


def may_change(actor: Actor, owner: str) -> bool:
    """Whether `actor` may cancel, delete, relabel or retrain what `owner` made: teachers and the operator
    may change anything, a student only their own."""
    return actor.is_teacher or (bool(actor.name) and actor.name == owner)


def check_name(name: str) -> str:
    """The account name `name` stands for (trimmed, lower case); AccountError if it cannot be one."""
    clean = name.strip().lower()
    if not NAME_PATTERN.fullmatch(clean):
        raise AccountError(f"name: {name!r} is not a user name; use 1-40 letters, digits, '.', '_' or '-', "
                           "starting with a letter or digit")
    return clean


def check_role(role: str) -> str:
    """`role` if it is one; AccountError naming the choices otherwise."""
    if role not in ROLES:
        raise AccountError(f"role: {role!r} is not a role; use {' or '.join(ROLES)}")
    return role


def check_password(password: str) -> str:
    """`password` if it is long enough to keep; AccountError otherwise."""
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"password: it has {len(password)} characters; use at least {MIN_PASSWORD}")
    return password
