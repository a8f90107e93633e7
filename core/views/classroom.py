"""Tables of the Class page: the audit, in the server's local time."""
from __future__ import annotations

import time

import pandas as pd


def audit_table(rows) -> pd.DataFrame:
    """One row per recorded action (core.store.accounts.AuditRow), newest first."""
    return pd.DataFrame([{"when": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(r.at)),
                          "who": r.actor or "operator", "action": r.action, "what": r.target, "detail": r.detail}
                         for r in rows], columns=["when", "who", "action", "what", "detail"])


def class_queue_table(runs, places: dict) -> pd.DataFrame:
    """What trains and waits, for a projector: who, which run, and where it stands (progress or queue place)."""
    from core.views.display import progress_text, queue_text

    return pd.DataFrame([{
        "id": r.id, "owner": r.owner or "—", "name": r.name, "status": r.status, "progress": round(100 * r.progress, 1),
        "detail": queue_text(places[r.id]) if r.id in places else progress_text(r)} for r in runs],
        columns=["id", "owner", "status", "detail", "name", "progress"])  # where it stands first: seen at 1024 px
