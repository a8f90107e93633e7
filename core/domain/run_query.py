"""What a user asks of the run table: filters, a sort and a page (the store turns it into SQL)."""
from __future__ import annotations

from dataclasses import dataclass

from core.errors import Refusal

SORT_KEYS = ("id", "name", "status", "validation accuracy", "test accuracy", "test loss", "parameters", "training time")


class QueryError(Refusal, ValueError):
    """A filter of the run table that cannot be used; the message names the field."""


def least_share(percent: float | None) -> float | None:
    """The Runs page's typed "at least (%)" as a share (None: any); QueryError naming the field otherwise."""
    if percent is None:
        return None
    if not 0 <= percent <= 100:
        raise QueryError(f"Val accuracy at least: type a percentage from 0 to 100, or leave it empty; got {percent:g}")
    return percent / 100


MAX_RUN_NUMBER = 2**63 - 1  # the largest the store's INTEGER holds


def run_number(text) -> int | None:
    """A run's (or a sweep's) number from a link, a selection or a command line, or None when it is not one: a
    whole number from 1 to what the store can hold, in ASCII digits ("²" passes isdigit() but is no number)."""
    text = str(text).strip() if text is not None else ""
    if not (text.isascii() and text.isdecimal()) or len(text) > 19:  # int() of 4,300+ digits raises
        return None
    value = int(text)
    return value if 0 < value <= MAX_RUN_NUMBER else None


def linked_run_ids(text: str | None) -> list[int]:
    """Run numbers from a link (`runs=3,4`); QueryError naming the part when one is not a run's number."""
    parts = [part for part in (text or "").split(",") if part.strip()]
    numbers = [run_number(part) for part in parts]
    if None in numbers:
        raise QueryError("runs: the link's run numbers must be whole numbers separated by commas, "
                         "e.g. runs=3,4")
    return numbers


@dataclass(frozen=True)
class RunQuery:
    """Filters, sorting and one page of the run table."""

    status: tuple[str, ...] = ()
    dataset: tuple[str, ...] = ()
    architecture: tuple[str, ...] = ()
    optimizer: tuple[str, ...] = ()
    tag: str = ""
    text: str = ""  # matched against name, notes and tags
    sweep: int | None = None  # only the runs of this sweep
    owner: str | None = None  # only the runs this account queued (exam mode: a student's own)
    min_val_accuracy: float | None = None  # only runs whose best validation accuracy reached this share
    sort: str = "id"
    descending: bool = True
    page: int = 0
    page_size: int = 50

    @property
    def filtered(self) -> bool:
        """Whether a filter narrows the runs (the sort and the page aside)."""
        return self != RunQuery(sort=self.sort, descending=self.descending, page=self.page, page_size=self.page_size)
