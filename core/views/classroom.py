"""Tables of the Class page: the audit, in the server's local time."""
from __future__ import annotations

import time

import pandas as pd


def audit_table(rows) -> pd.DataFrame:
    """One row per recorded action (core.store.accounts.AuditRow), newest first."""
    return pd.DataFrame([{"when": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(r.at)),
                          "who": r.actor or "operator", "action": r.action, "what": r.target, "detail": r.detail}
                         for r in rows], columns=["when", "who", "action", "what", "detail"])
