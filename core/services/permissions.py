"""Who may do what, checked where pages and the CLI act (the services), not only by hiding buttons.

On a laptop an action with no actor is the operator's, who may do anything. In classroom mode every
action must name the signed-in actor: one without is refused, so a page that forgot to pass it cannot
act with a teacher's rights.
"""
from __future__ import annotations

from core.domain.people import OPERATOR, Actor, may_change
from core.errors import Refusal
from core.settings import Settings


class PermissionDenied(Refusal):
    """An action the actor may not take; the message says whose it is and who may."""


def acting(actor: Actor | None, settings: Settings) -> Actor:
    """The actor an action is taken as."""
    if actor is not None:
        return actor
    if settings.classroom:
        raise PermissionDenied("sign-in: this needs a signed-in user; sign in again")
    return OPERATOR


def require_change(actor: Actor, owner: str, what: str, verb: str) -> None:
    """Refuse unless `actor` may `verb` `what` (e.g. "run #12"), which `owner` made."""
    if not may_change(actor, owner):
        whose = f"{owner}'s" if owner else "the teacher's"
        raise PermissionDenied(f"{what}: it is {whose}; only its owner or a teacher may {verb} it")


def owner_of(actor: Actor) -> str:
    """The owner recorded for what `actor` makes ("" for the operator)."""
    return actor.name
