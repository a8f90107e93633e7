"""Where a tracked run's reports go. Every sink answers the same four requests (start, report, end, test) with
the same JSON; `connect()` picks the one this machine has: the Train Lab installed here (its store, through
core/services/tracking.py, which checks every request as the class's API does)."""
from __future__ import annotations

import sys


class Unreachable(Exception):
    """Train Lab cannot take a request now (its store is locked or away): keep it and send it again later."""


class Refused(Exception):
    """Train Lab refused a request as it is; str(error) is its one-line reason. Sending it again cannot help."""


class LocalSink:
    """The Train Lab of this machine: its store, written through its tracking service in this process."""

    description = "local"

    def __init__(self):
        from core.services import tracking
        from core.settings import load_settings

        self._tracking = tracking
        self._settings = load_settings()
        self.where = str(self._settings.home)

    def call(self, op: str, payload: dict) -> dict:
        """Send one request; its answer, or Unreachable / Refused."""
        from core.errors import Refusal
        from core.store.schema import StoreError

        try:
            return self._tracking.REQUESTS[op](payload, self._settings)
        except StoreError as exc:  # locked by another process for long, or away: the spool keeps the request
            raise Unreachable(str(exc)) from None
        except Refusal as exc:
            raise Refused(str(exc)) from None

    def header(self) -> dict:
        """What `python -m core sync` needs to send this sink's spooled requests again."""
        return {"sink": "local", "home": self.where}


def connect():
    """The sink this process reports to, or None (with one line on stderr) when there is no Train Lab here."""
    try:
        return LocalSink()
    except ImportError:
        print("trainlab: no Train Lab found on this machine; training goes on without reporting", file=sys.stderr)
        return None
