"""Slowing down password guessing without letting a stranger lock a real user out.

Attempts are counted under keys: the computer they come from, the name they try from a browser not
known for it, and a known browser (one that signed in as that name before; see core/services/accounts.py).
A key's first `free` wrong passwords cost nothing; after that each attempt must wait 1 s, then 2, 4, ...
up to `max_wait`, and only one attempt at a time is checked, however many arrive together: a check in
flight counts as wrong until it is answered. Names that have no account are counted exactly like names
that do, so the answers never tell which names exist.

Pure and in memory (the sign-in page's process holds one): no clock of its own, `now` is passed in.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Rule:
    """How many wrong passwords a kind of key has free, and the longest wait after that."""

    free: int
    max_wait: float = 60.0
    forget_after: float = 3600.0  # a key quiet this long starts again

    def wait_after(self, failures: int) -> float:
        """Seconds before the next attempt may be checked, after `failures` wrong passwords."""
        if failures < self.free:
            return 0.0
        return min(self.max_wait, 2.0 ** (failures - self.free))


@dataclass
class _Count:
    failures: int = 0
    next_at: float = 0.0
    in_flight: int = 0
    last_at: float = 0.0


@dataclass
class Throttle:
    """Counts wrong passwords per key and says when the next attempt may be checked."""

    rules: dict[str, Rule]
    _counts: dict[tuple, _Count] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def reserve(self, keys: list[tuple], now: float) -> float:
        """0.0 when an attempt under every key may be checked now (it is then in flight under each, until
        `settle`); else the seconds to wait, and nothing is reserved. A key is (kind, ...), kind a rule's."""
        with self._lock:
            self._forget_quiet(now)
            wait = 0.0
            for key in keys:
                count = self._counts.get(key)
                if count is None:
                    continue
                if now < count.next_at:
                    wait = max(wait, count.next_at - now)
                elif count.in_flight and count.failures + count.in_flight >= self.rules[key[0]].free:
                    wait = max(wait, 1.0)  # past the free tries: one check at a time
            if wait:
                return wait
            for key in keys:
                count = self._counts.setdefault(key, _Count())
                count.in_flight += 1
                count.last_at = now
            return 0.0

    def settle(self, keys: list[tuple], right: bool, now: float, clear: tuple[str, ...] = ()) -> None:
        """The reserved attempt was answered: a wrong password counts under every key; a right one clears
        the keys of the kinds in `clear` (the name's and the browser's, not the computer's: signing in to
        one's own account must not reset the count of guesses at others')."""
        with self._lock:
            for key in keys:
                count = self._counts.setdefault(key, _Count())
                count.in_flight = max(0, count.in_flight - 1)
                count.last_at = now
                if right:
                    if key[0] in clear and not count.in_flight:
                        del self._counts[key]
                    continue
                count.failures += 1
                count.next_at = now + self.rules[key[0]].wait_after(count.failures)

    def _forget_quiet(self, now: float) -> None:
        if len(self._counts) < 1000:  # a bounded table: old keys are dropped only when it grows
            return
        for key in [k for k, c in self._counts.items()
                    if not c.in_flight and now - c.last_at > self.rules[k[0]].forget_after]:
            del self._counts[key]
