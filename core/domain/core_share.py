"""How many CPU threads a run trains with: every core when it is alone, an equal part when runs share them.

TensorFlow fixes a process's threads at its first operation, so a warm worker keeps the share it started
with; the local pool (core/runtime/local_pool.py) matches runs to workers by it."""
from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.settings import Settings


def fair_share(settings: Settings, others_active: int) -> int:
    """CPU threads for a run while `others_active` other runs are queued or running in this pool: all the
    cores when it is alone, an equal part of them when it shares the pool's workers."""
    sharing = min(settings.workers, others_active + 1)
    return max(1, (os.cpu_count() or 1) // sharing)
