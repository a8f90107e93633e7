"""Anything that escapes as other than a Refusal is a bug: its traceback goes to the data folder's
`logs/errors.log` under a short reference, and the user sees one line naming that reference."""
from __future__ import annotations

import logging
import secrets
import traceback

from core.settings import load_settings

log = logging.getLogger(__name__)


def report_bug(context: str, exc: BaseException | None = None) -> str:
    """Log `exc` (by default the exception being handled) with a new reference; the one line to show for it."""
    reference = secrets.token_hex(4)
    trace = "".join(traceback.format_exception(exc)) if exc is not None else traceback.format_exc()
    details = f"[{reference}] {context}\n{trace}"
    try:
        path = load_settings().logs_dir / "errors.log"
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a") as fh:
            fh.write(details + "\n")
    except Exception:  # the settings or the folder are what failed: the log of this process gets it instead
        log.error(details)
        return f"Train Lab failed unexpectedly (a bug, not your input); reference {reference} in this process's log"
    return f"Train Lab failed unexpectedly (a bug, not your input); reference {reference} in {path}"
