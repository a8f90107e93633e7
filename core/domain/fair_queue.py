"""The order queued runs start in when several people share the workers: one rule, used by the workers
to choose the next run and by the pages to show each run's place in the queue and its likely start.

The next free worker takes the oldest queued run of the owner with the fewest runs training now, then
of the owner whose runs trained least recently (in the last hour), so one student's 18-run sweep
queued first does not hold the class up: it goes on as workers come free, between the others' runs.
With one owner (a laptop) this is first come, first served. Round-robin by owner would also stop the
sweep from blocking; counting recent training time is fairer to a student whose runs are long.
"""
from __future__ import annotations

import heapq
import itertools
from collections import deque
from dataclasses import dataclass, field

DEFAULT_SECONDS = 60.0  # a run's length when nothing like it has trained here yet


@dataclass(frozen=True)
class Waiting:
    """A queued run: its id, who queued it, and about how long it will train (None: unknown)."""

    id: int
    owner: str
    seconds: float | None = None


@dataclass(frozen=True)
class Training:
    """A running run: who queued it and about how long it has left (None: unknown)."""

    owner: str
    seconds_left: float | None = None


@dataclass
class Loads:
    """Per owner: runs training now, seconds trained recently, and owners held at their limit of runs at once."""

    running: dict[str, int] = field(default_factory=dict)
    recent_seconds: dict[str, float] = field(default_factory=dict)
    at_once_limit: dict[str, int] = field(default_factory=dict)  # owner -> most runs at once (students only)

    def allowed(self, owner: str) -> bool:
        """Whether another run of `owner` may start now."""
        limit = self.at_once_limit.get(owner)
        return limit is None or self.running.get(owner, 0) < limit

    def rank(self, owner: str, first_id: int) -> tuple:
        """How `owner` (whose oldest queued run is `first_id`) ranks for the next free worker: lowest first."""
        return self.running.get(owner, 0), self.recent_seconds.get(owner, 0.0), first_id


def next_run(waiting: list[Waiting], loads: Loads) -> int | None:
    """The id of the run a free worker should take now, or None (nothing queued, or every owner with
    queued runs is at their limit of runs at once)."""
    firsts: dict[str, int] = {}
    for run in sorted(waiting, key=lambda r: r.id):
        firsts.setdefault(run.owner, run.id)
    candidates = [(loads.rank(owner, first), first) for owner, first in firsts.items() if loads.allowed(owner)]
    return min(candidates)[1] if candidates else None


@dataclass(frozen=True)
class Place:
    """Where a queued run stands: its place in the start order (1 = next) and its likely start, in seconds."""

    position: int
    starts_in: float


def schedule(waiting: list[Waiting], training: list[Training], workers: int, loads: Loads) -> dict[int, Place]:
    """Every queued run's place, by playing the rule forward: each worker frees when its run's estimate
    is spent, and takes the run `next_run` would choose at that moment. Estimates are guesses, so the
    start times are too; the order is exact for the next run and likely for the rest. Runs that only a
    limit holds back, with nothing running to end, get no place."""
    running, recent = dict(loads.running), dict(loads.recent_seconds)
    order = itertools.count()  # ties go to the worker that freed first; owners never need comparing
    slots = [(max(0.0, DEFAULT_SECONDS if t.seconds_left is None else t.seconds_left), next(order), t.owner)
             for t in training]
    slots += [(0.0, next(order), None) for _ in range(max(0, workers - len(slots)))]
    heapq.heapify(slots)
    queues: dict[str, deque[Waiting]] = {}
    for run in sorted(waiting, key=lambda r: r.id):
        queues.setdefault(run.owner, deque()).append(run)
    places: dict[int, Place] = {}
    while queues and slots:
        free_at, _, previous = heapq.heappop(slots)
        if previous is not None:
            running[previous] = running.get(previous, 0) - 1
        state = Loads(running, recent, loads.at_once_limit)
        open_owners = [o for o in queues if state.allowed(o)]
        if not open_owners:  # every queued owner is at their limit: this worker waits for a run to end
            ends = [t for t, _, owner in slots if owner is not None]
            if not ends:
                break
            heapq.heappush(slots, (min(ends), next(order), None))
            continue
        owner = min(open_owners, key=lambda o: state.rank(o, queues[o][0].id))
        run = queues[owner].popleft()
        if not queues[owner]:
            del queues[owner]
        places[run.id] = Place(len(places) + 1, free_at)
        length = DEFAULT_SECONDS if run.seconds is None else run.seconds
        running[owner] = running.get(owner, 0) + 1
        recent[owner] = recent.get(owner, 0.0) + length
        heapq.heappush(slots, (free_at + length, next(order), owner))
    return places
