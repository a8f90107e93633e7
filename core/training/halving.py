"""Successive halving of sweep trials, judged in the worker at the end of rung epochs.

Asynchronous, like ASHA: a trial reaching a rung is compared with every trial of its sweep
(same dataset) that reached the same rung so far, and stops unless it is in the top 1/eta.
Until eta trials have reached a rung nobody is stopped there, so the first trials are not
judged against nothing. Hand-written (about 30 lines) rather than Optuna's pruners: those
need Optuna's own trial storage beside the run store, for a rule this small.
"""
from __future__ import annotations

import keras

from core.store.runs import RunStore
from core.store.sweeps import HalvingPlan, mark_stopped, rung_scores


def keep_going(scores: dict[int, float], run_id: int, eta: int) -> bool:
    """Whether `run_id` is in the top max(1, n // eta) of the n scores at a rung (ties: earlier run first)."""
    if len(scores) < eta:
        return True
    ranked = sorted(scores, key=lambda rid: (-scores[rid], rid))
    return run_id in ranked[:max(1, len(scores) // eta)]


class HalvingCallback(keras.callbacks.Callback):
    """Stop training when the trial falls out of the top 1/eta at one of its rungs.

    Args:
        store: the run store (the reporter has written this epoch's val_accuracy already).
        run_id: the trial being trained.
        plan: its sweep, dataset, eta and rung epochs.

    """

    def __init__(self, store: RunStore, run_id: int, plan: HalvingPlan):
        super().__init__()
        self.store, self.run_id, self.plan = store, run_id, plan
        self.stopped_at: int | None = None

    def on_epoch_end(self, epoch, logs=None):
        """At a rung, stop training unless this trial is in the top 1/eta so far."""
        logs = logs or {}
        done = epoch + 1
        if done not in self.plan.rungs or "val_accuracy" not in logs:
            return
        scores = rung_scores(self.store, self.plan, done)
        scores[self.run_id] = float(logs["val_accuracy"])
        if not keep_going(scores, self.run_id, self.plan.eta):
            mark_stopped(self.store, self.run_id, done)
            self.stopped_at = done
            self.model.stop_training = True
