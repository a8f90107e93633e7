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


def next_fair_run(store: RunStore, now: float | None = None, exclude: frozenset[int] = frozenset(),
                  handed: frozenset[int] = frozenset()) -> int | None:
    """The queued run to train next, or None: nothing queued, or every queued run is held by a limit.
    `exclude`: queued runs not to be chosen this time. `handed`: queued runs already handed out to start
    (a Ray task whose worker has not claimed its run yet): not chosen again, and each counts as one of
    its owner's runs training now, for the limit and for the fair order alike."""
    queued = store.queued_runs()
    waiting = [Waiting(run_id, owner) for run_id, owner, _ in queued if run_id not in exclude | handed]
    if not waiting:
        return None
    loads = owner_loads(store, now)
    for run_id, owner, _ in queued:
        if run_id in handed:
            loads.running[owner] = loads.running.get(owner, 0) + 1
    return next_run(waiting, loads)
