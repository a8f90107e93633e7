"""Store: the only code that issues SQL (SQLite in WAL mode), behind `RunStore` and its functions.

runs.py holds runs, metrics, queries and the versioned schema; sweeps.py the sweep tables.
May import: core.domain (sweep specs), core.data, core.settings.
"""
