"""A sweep that retrains its best setting by itself (`retrain_epochs`; `python -m core sweep start --retrain-best
EPOCHS`): the course assignment's "then the best setting trained once more", without waiting for the person to
come back. The retrain of a dataset is queued as soon as the winner is certain (every trial on that dataset has
ended), by the dispatcher's housekeeping (core/runtime/dispatcher.py), as the sweep's owner and under the class's
limits, at most once; one that cannot be queued keeps its one-line reason for `sweep show`. The sweep asks for
them when it starts (`sweeps.start`, which also refuses a retrain its owner could never run)."""
from __future__ import annotations

import logging

from core.domain.people import OPERATOR, Actor
from core.domain.sweep_parsing import SweepError
from core.domain.sweep_spec import SweepSpec
from core.errors import Refusal
from core.services import sweeps
from core.settings import Settings, load_settings
from core.store.accounts import get_user
from core.store.runs import RunStore
from core.store.sweeps import asked_retrains, due_retrains, settle_retrain

log = logging.getLogger(__name__)


def _owner(store: RunStore, owner: str) -> Actor | None:
    if not owner:
        return OPERATOR
    user = get_user(store, owner)
    return Actor(owner, user.role) if user is not None else None


def queue_due(settings: Settings | None = None) -> list[int]:
    """Queue every asked retrain whose search has ended; the new runs' ids."""
    settings = settings or load_settings()
    store = RunStore(settings.store_location)
    queued = []
    for sweep_id, dataset, owner in due_retrains(store):
        actor, run_id, note = _owner(store, owner), None, None
        try:
            if actor is None:
                raise SweepError(f"its owner {owner!r} no longer has an account")
            spec = SweepSpec.from_dict(sweeps.get(sweep_id, settings, actor).spec)
            run_id = sweeps.retrain_best(sweep_id, dataset, spec.retrain_epochs, True, settings, actor=actor)
            queued.append(run_id)
        except Refusal as exc:
            note = str(exc)
            log.warning("sweep %s: the retrain on %s was not queued: %s", sweep_id, dataset, note)
        settle_retrain(store, sweep_id, dataset, run_id, note)
    return queued


def retrain_notes(sweep_id: int, settings: Settings | None = None) -> dict[str, str]:
    """Per dataset, what became of the retrain the sweep asked for: queued (as which run), still waiting for the
    search to end, or why it could not be queued."""
    settings = settings or load_settings()
    notes = {}
    for dataset, (settled, run_id, note) in asked_retrains(RunStore(settings.store_location), sweep_id).items():
        notes[dataset] = (f"queued as run #{run_id}" if run_id else f"not queued: {note}") if settled else \
            "queued by itself once every trial on it has ended"
    return notes
