"""Allow `python -m core ...` as the command-line entry point."""
import sys

from core.cli.main import run

sys.exit(run())
