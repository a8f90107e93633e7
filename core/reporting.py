"""A Keras callback that streams training progress into the run store.

Within an epoch it writes at most one point per `interval` seconds (Keras' running epoch
averages of loss/accuracy), so a long epoch still moves the curve while the store stays off
the hot path; at each epoch end it writes every metric, validation included. At the same
moments it checks whether the run was cancelled and, if so, stops training.
"""
from __future__ import annotations

import math
import time
from typing import Callable

import keras

from core.store import MetricPoint, RunStore

LIVE_METRICS = ("loss", "accuracy")


class StoreReporter(keras.callbacks.Callback):
    """Report progress, metrics and ETA of run `run_id` into `store`.

    Args:
        store: the run store.
        run_id: the run being trained.
        epochs: total epochs planned.
        steps: batches per epoch.
        interval: least seconds between two within-epoch reports.
        clock: monotonic time source (tests may pass their own).

    Example:
        model.fit(ds, epochs=3, callbacks=[StoreReporter(store, 7, epochs=3, steps=40)])
    """

    def __init__(self, store: RunStore, run_id: int, epochs: int, steps: int, interval: float = 0.5,
                 clock: Callable[[], float] = time.monotonic):
        super().__init__()
        self.store = store
        self.run_id = run_id
        self.epochs = epochs
        self.steps = max(1, steps)
        self.interval = interval
        self.clock = clock
        self.cancelled = False
        self._t0: float | None = None
        self._last_report: float | None = None
        self._epoch = 0

    def on_train_begin(self, logs=None):
        self._t0 = self.clock()
        self._last_report = self._t0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        now = self.clock()
        if now - self._last_report < self.interval:
            return
        self._last_report = now
        logs = logs or {}
        step = self._epoch * self.steps + batch + 1
        points = [
            MetricPoint("batch", step, step / self.steps, now - self._t0, name, float(logs[name]))
            for name in LIVE_METRICS
            if name in logs and math.isfinite(float(logs[name]))
        ]
        self._report(points, step, batch + 1)

    def on_epoch_end(self, epoch, logs=None):
        now = self.clock()
        self._last_report = now
        logs = logs or {}
        step = (epoch + 1) * self.steps
        # Non-finite values (a diverging run) are kept out of the curves; the run goes on.
        points = [
            MetricPoint("epoch", step, float(epoch + 1), now - self._t0, name, float(value))
            for name, value in logs.items()
            if isinstance(value, (int, float)) and math.isfinite(float(value))
        ]
        self._report(points, step, self.steps)

    def _report(self, points: list[MetricPoint], step: int, batch: int) -> None:
        total = self.epochs * self.steps
        progress = min(1.0, step / total)
        elapsed = self.clock() - self._t0
        eta = elapsed * (1 - progress) / progress if progress > 0 else None
        self.store.report(self.run_id, points, epoch=self._epoch + 1, batch=batch, progress=progress, eta_seconds=eta)
        if self.store.cancel_requested(self.run_id):
            self.cancelled = True
            self.model.stop_training = True
