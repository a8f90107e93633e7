"""The store as the queue: one read of the queued runs and their owners' loads and limits for each look of
the dispatcher, with the class's fair order (core.domain.fair_queue) saying which run is next."""
from __future__ import annotations

import json
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


class FairQueue:
    """The queued runs in the class's fair order, read from the store once for one look at them: `next()`
    is the fairest run left, `take(run)` says it starts (it counts as its owner's run training from then
    on), `skip(run)` that it waits. `handed`: runs already handed out to start (a worker or a Ray task
    that has not claimed its run yet), each with the attempts it had then: never chosen, and each counts as
    its owner's run training, for the limit and for the fair order alike. A handed run that was claimed,
    lost and re-queued since has one attempt more: it waits again like any other."""

    def __init__(self, store: RunStore, now: float | None = None,
                 handed: dict[int, int] | frozenset[int] = frozenset()):
        queued = store.queued_runs()
        if not isinstance(handed, dict):  # ids alone: handed whatever their attempts
            handed = {run_id: attempt for run_id, _, _, attempt in queued if run_id in handed}
        self._store, self._now = store, now
        self._owner = {run_id: owner for run_id, owner, _, _ in queued}
        self._config = {run_id: config for run_id, _, config, _ in queued}
        self._attempt = {run_id: attempt for run_id, _, _, attempt in queued}
        self._handed = {run_id for run_id, _, _, attempt in queued if handed.get(run_id) == attempt}
        self._left = [Waiting(run_id, owner) for run_id, owner, _, _ in queued if run_id not in self._handed]
        self._loads: Loads | None = None  # read at the first next() that has runs to choose from

    def next(self) -> int | None:
        """The run to start next, or None: none left, or every one left is held by its owner's limit."""
        if not self._left:
            return None
        if self._loads is None:
            self._loads = owner_loads(self._store, self._now)
            for run_id in self._handed:
                self._count(run_id)
        return next_run(self._left, self._loads)

    def attempt(self, run_id: int) -> int:
        """Run `run_id`'s attempts so far, as it was queued (0 before its first claim)."""
        return self._attempt[run_id]

    def config(self, run_id: int) -> dict:
        """Run `run_id`'s config, as it was queued."""
        return json.loads(self._config[run_id])

    def take(self, run_id: int) -> None:
        """Run `run_id`, which next() chose, starts: out of the queue, and one more of its owner's runs training."""
        self.skip(run_id)
        self._count(run_id)

    def skip(self, run_id: int) -> None:
        """Run `run_id` waits (or is gone): not chosen again in this look."""
        self._left = [w for w in self._left if w.id != run_id]

    def _count(self, run_id: int) -> None:
        owner = self._owner[run_id]
        self._loads.running[owner] = self._loads.running.get(owner, 0) + 1


def next_fair_run(store: RunStore, now: float | None = None, exclude: frozenset[int] = frozenset(),
                  handed: dict[int, int] | frozenset[int] = frozenset()) -> int | None:
    """The queued run to train next, or None: nothing queued, or every queued run is held by a limit.
    `exclude`: queued runs not to be chosen this time; `handed`: as FairQueue's."""
    queue = FairQueue(store, now, handed)
    for run_id in exclude:
        queue.skip(run_id)
    return queue.next()
