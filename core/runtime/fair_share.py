"""Which queued run a free worker trains next: the class's fair order (core.domain.fair_queue) applied
to the store as it is at that moment, with the teacher's limit of runs at once per student."""
from __future__ import annotations

import time

from core.domain.class_rules import ClassRules
from core.domain.fair_queue import Loads, Waiting, next_run
from core.domain.people import STUDENT
from core.store.accounts import class_settings, list_users
from core.store.runs import RunStore

RECENT_SECONDS = 3600.0  # training in the last hour counts towards an owner's recent share


def class_rules(store: RunStore) -> ClassRules:
    """The teacher's limits and switches as stored (none set: no limits)."""
    return ClassRules.from_dict(class_settings(store))


def owner_loads(store: RunStore, now: float | None = None) -> Loads:
    """Each owner's runs training now and recent training, and the students held to a limit of runs at once."""
    now = time.time() if now is None else now
    running, recent = store.owner_loads(now - RECENT_SECONDS, now)
    rules = class_rules(store)
    limits = {}
    if rules.max_running is not None:
        limits = {u.name: rules.max_running for u in list_users(store) if u.role == STUDENT}
    return Loads(running, recent, limits)


def next_fair_run(store: RunStore, now: float | None = None, exclude: frozenset[int] = frozenset()) -> int | None:
    """The queued run to train next, or None: nothing queued, or every queued run is held by a limit.
    `exclude`: queued runs already handed out (a Ray task not started yet) that are not to be chosen again."""
    waiting = [Waiting(run_id, owner) for run_id, owner, _ in store.queued_runs() if run_id not in exclude]
    return next_run(waiting, owner_loads(store, now)) if waiting else None
