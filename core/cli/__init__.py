"""The command line: `python -m core …` (main.py; sweeps.py for `python -m core sweep …`).

May import: core.services and everything below it.
"""
from core.cli.main import main, run

__all__ = ["main", "run"]
