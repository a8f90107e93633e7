"""Where a tracked run's reports go. Every sink answers the same four requests (start, report, end, test) with
the same JSON; `connect()` picks one: the class's server when TRAINLAB_URL (and a key in TRAINLAB_KEY) is set,
else the Train Lab installed on this machine (its store, through core/services/tracking.py, which checks every
request as the class's API does)."""
from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlencode, urlsplit

TIMEOUT = 5.0  # seconds a request to the server may take before it counts as unreachable (and waits in the spool)
MODEL_TIMEOUT = 300.0  # a trained model's upload, checked and loaded by the server before it answers


def say(message: str) -> None:
    """One line of the client's on stderr, on a line of its own (Keras' progress bar may be mid-line)."""
    print(("\n" if sys.stderr.isatty() else "") + f"trainlab: {message}", file=sys.stderr, flush=True)


class Unreachable(Exception):
    """Train Lab cannot take a request now (its store is locked or away): keep it and send it again later."""


class Refused(Exception):
    """Train Lab refused a request as it is; str(error) is its one-line reason. Sending it again cannot help."""


class LocalSink:
    """The Train Lab of this machine: its store, written through its tracking service in this process."""

    def __init__(self):
        from core.services import tracking
        from core.settings import load_settings

        self._tracking = tracking
        self._settings = load_settings()
        self.where = f"this machine's lab, {self._settings.home}"
        self.home = str(self._settings.home)

    def call(self, op: str, payload: dict) -> dict:
        """Send one request; its answer, or Unreachable / Refused."""
        from core.errors import Refusal
        from core.store.schema import StoreError

        try:
            if op == "model":  # a file on this machine: this sink alone hands one over
                return self._tracking.attach_model_file(payload, self._settings)
            return self._tracking.REQUESTS[op](payload, self._settings)
        except StoreError as exc:  # locked by another process for long, or away: the spool keeps the request
            raise Unreachable(str(exc)) from None
        except Refusal as exc:
            raise Refused(str(exc)) from None

    def header(self) -> dict:
        """What `python -m core sync` needs to send this sink's spooled requests again."""
        return {"sink": "local", "home": self.home}


class HttpSink:
    """The class's server, through its JSON API (core/web/track_api.py), with a student's API key."""

    def __init__(self, url: str, key: str, timeout: float = TIMEOUT):
        self.url, self._key, self.timeout = url.rstrip("/"), key, timeout
        self.where = self.url

    def call(self, op: str, payload: dict) -> dict:
        """Send one request; its answer, or Unreachable (no answer, busy, over the rate) / Refused (4xx)."""
        if op == "model":
            return self._send_model(payload)
        request = urllib.request.Request(
            f"{self.url}/api/track/{op}", data=json.dumps(payload).encode(), method="POST",
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {self._key}"})
        return self._answer(request, self.timeout)

    def _send_model(self, payload: dict) -> dict:
        """The trained model's file as the body of one PUT; the server checks it before anything reads it."""
        path = Path(str(payload.get("path", "")))
        try:
            size, body = path.stat().st_size, open(path, "rb")  # noqa: SIM115 - closed below, after the upload
        except OSError as exc:
            raise Refused(f"the trained model's file cannot be read ({exc})") from None
        query = urlencode({"run": payload.get("run"), "key": payload.get("key")})
        request = urllib.request.Request(
            f"{self.url}/api/track/model?{query}", data=body, method="PUT",
            headers={"Content-Type": "application/octet-stream", "Content-Length": str(size),
                     "Authorization": f"Bearer {self._key}"})
        try:
            # Checking and loading it on the server takes seconds: more time than a report's.
            return self._answer(request, MODEL_TIMEOUT)
        finally:
            body.close()

    def _answer(self, request, timeout: float) -> dict:
        try:
            with urllib.request.urlopen(request, timeout=timeout) as answer:
                return json.loads(answer.read(1_000_000))
        except urllib.error.HTTPError as exc:
            said = _said(exc)
            if exc.code in (408, 429) or exc.code >= 500:  # busy, or the store away for a moment: later
                raise Unreachable(f"{exc.code}: {said}") from None
            if said.startswith("HTTP "):  # not the API's JSON: the address is not the API's
                raise Refused(f"{said} from {self.url}: TRAINLAB_URL should be the server's address only, like "
                              "http://10.0.0.5:8501 (no page after it)") from None
            raise Refused(said) from None
        except (urllib.error.URLError, OSError, ValueError) as exc:  # no server, a dropped network, a cut answer
            raise Unreachable(str(getattr(exc, "reason", exc))) from None

    def header(self) -> dict:
        """What `python -m core sync` (or `python -m trainlab sync`) needs: the server (the key stays in the env)."""
        return {"sink": "http", "url": self.url}


def _said(error: urllib.error.HTTPError) -> str:
    try:
        return str(json.loads(error.read(10_000))["error"])[:500]
    except (ValueError, KeyError, TypeError, OSError):
        return f"HTTP {error.code}"


def connect():
    """The sink this process reports to, or None (with one line on stderr) when there is none."""
    url = os.environ.get("TRAINLAB_URL", "").strip()
    if url:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.path.strip("/"):
            say(f"TRAINLAB_URL={url!r} is not a server's address; use the one the Your code page shows, like "
                "http://10.0.0.5:8501; training goes on without reporting")
            return None
        key = os.environ.get("TRAINLAB_KEY", "").strip()
        if not key:
            say("TRAINLAB_URL is set but TRAINLAB_KEY is not; make a key on the Your code page; training goes on "
                "without reporting")
            return None
        return HttpSink(url, key)
    try:
        return LocalSink()
    except ImportError:
        say("no Train Lab here and no TRAINLAB_URL set; training goes on without reporting")
        return None
