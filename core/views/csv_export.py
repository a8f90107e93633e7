"""Tables as CSV that a spreadsheet opens as data: text a user typed (a run's name, a tag) that starts like a
formula (=, +, -, @) is written with a leading apostrophe, so Excel or LibreOffice shows it instead of running
it (OWASP's "CSV injection": `=HYPERLINK(...)` in a run name became a live link in the teacher's board)."""
from __future__ import annotations

import pandas as pd

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _inert(value):
    return f"'{value}" if isinstance(value, str) and value.startswith(FORMULA_STARTS) else value


def spreadsheet_csv(table: pd.DataFrame) -> str:
    """`table` as CSV text (no index), its text cells made inert; numbers stay numbers."""
    safe = table.copy()
    for column in safe.columns:
        if not pd.api.types.is_numeric_dtype(safe[column]):  # object or pandas' own text dtype
            safe[column] = safe[column].map(_inert)
    return safe.to_csv(index=False)
