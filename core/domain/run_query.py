"""What a user asks of the run table: filters, a sort and a page (the store turns it into SQL)."""
from __future__ import annotations

from dataclasses import dataclass

SORT_KEYS = ("id", "name", "status", "validation accuracy", "test accuracy", "test loss", "parameters", "training time")


def least_share(percent: float | None) -> float | None:
    """The Runs page's typed "at least (%)" as a share (None: any); ValueError naming the field otherwise."""
    if percent is None:
        return None
    if not 0 <= percent <= 100:
        raise ValueError(f"Val accuracy at least: type a percentage from 0 to 100, or leave it empty; got {percent:g}")
    return percent / 100


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
