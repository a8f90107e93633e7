"""A Keras callback that streams training progress into the run store.

The first batch writes a point at once; within an epoch it then writes at most one point per
`interval` seconds, so a long epoch still
moves the curve while the store stays off the hot path. Keras logs running means since the
epoch began; a point is the mean over the batches since the previous point instead (derived
from two running means), so the live curve shows recent loss and does not jump at epoch
boundaries. At each epoch end it also writes every epoch metric, validation included. At the
same moments it checks whether the run was cancelled and, if so, stops training.
"""
from __future__ import annotations

import math
import threading
import time
from typing import Callable

import keras

from core.domain.metric_kinds import USAGE_KIND
from core.store.runs import MetricPoint, RunStore, Superseded
from core.training.usage import UsageSampler

LIVE_METRICS = ("loss", "accuracy")


MIN_ETA_STEPS = 3
MIN_ETA_SECONDS = 1.0


class StoreReporter(keras.callbacks.Callback):
    """Report progress, metrics and ETA of run `run_id` into `store`.

    Args:
        store: the run store.
        run_id: the run being trained.
        epochs: total epochs planned.
        steps: batches per epoch.
        interval: least seconds between two within-epoch reports.
        clock: monotonic time source (tests may pass their own).
        attempt: the worker's attempt (its claim's fencing token); once the store refuses its writes
            (the run was marked lost or re-queued), the fit stops and `superseded` is set.

    Example:
        model.fit(ds, epochs=3, callbacks=[StoreReporter(store, 7, epochs=3, steps=40)])

    """

    # Keras may call the batch hook on a thread pool while the loop goes on to the next batch, instead
    # of waiting for every batch's results in the loop: the hook locks and drops late, stale calls.
    async_safe = True

    def __init__(self, store: RunStore, run_id: int, epochs: int, steps: int, interval: float = 0.5,
                 clock: Callable[[], float] = time.monotonic, attempt: int | None = None):
        super().__init__()
        self.store = store
        self.run_id = run_id
        self.attempt = attempt
        self.superseded = False
        self.epochs = epochs
        self.steps = max(1, steps)
        self.interval = interval
        self.clock = clock
        self.cancelled = False
        self._t0: float | None = None
        self._last_report: float | None = None
        self._epoch = 0
        self._window_start = 0  # batches of this epoch already covered by a point
        self._window_means: dict[str, float] = {}  # Keras' running means at that batch
        self._rate_from: tuple[float, int] | None = None  # (time, step) of the first report: the ETA's origin
        self._usage = UsageSampler(clock=clock)
        self._lock = threading.Lock()

    def report_start(self, loss: float, accuracy: float) -> None:
        """Write the untrained model's loss and accuracy as the point at step 0, before `fit`.

        Keras' first batch also traces the training step (most of a second on a CPU), so a curve
        that waited for it would stay empty that long; this point needs one eager forward pass.
        """
        points = [MetricPoint("batch", 0, 0.0, 0.0, name, float(value))
                  for name, value in (("loss", loss), ("accuracy", accuracy)) if math.isfinite(float(value))]
        self.store.report(self.run_id, points, epoch=1, batch=0, progress=0.0, eta_seconds=None, attempt=self.attempt)

    def on_train_begin(self, logs=None):
        """Start the clock; the first batch then reports at once."""
        self._t0 = self.clock()
        self._last_report = None  # the first batch reports at once: Start shows a point quickly

    def on_epoch_begin(self, epoch, logs=None):
        """Open a new window of batches for the live points."""
        self._epoch = epoch
        self._window_start = 0
        self._window_means = {}

    def on_train_batch_end(self, batch, logs=None):
        """Write a live point when the report interval has passed."""
        with self._lock:
            now = self.clock()
            if self._last_report is not None and now - self._last_report < self.interval:
                return
            if batch + 1 <= self._window_start:
                return  # an earlier batch's call that ran after a later one: already covered
            self._last_report = now
            step = self._epoch * self.steps + batch + 1
            self._report(self._window_points(logs or {}, batch + 1, now) + self._usage_points(step, now), step,
                         batch + 1)

    def on_epoch_end(self, epoch, logs=None):
        """Write the last live point and every epoch metric (validation included)."""
        if self.cancelled:
            # Keras ends the epoch it was cancelled in with validation on the partial epoch: its
            # "epoch" metrics would plot a full epoch that never happened.
            return
        now = self.clock()
        self._last_report = now
        logs = logs or {}
        step = (epoch + 1) * self.steps
        # The last window closes at the epoch end, whose train metrics are the final running means.
        points = self._window_points(logs, self.steps, now)
        # Non-finite values (a diverging run) are kept out of the curves; the run goes on.
        values = {name: value for name, value in logs.items() if isinstance(value, (int, float))}
        if "learning_rate" not in values:  # a schedule's rate changes every step and Keras does not log it
            values["learning_rate"] = self._learning_rate()
        points += [
            MetricPoint("epoch", step, float(epoch + 1), now - self._t0, name, float(value))
            for name, value in values.items() if value is not None and math.isfinite(float(value))
        ]
        self._report(points + self._usage_points(step, now, force=True), step, self.steps)

    def _learning_rate(self) -> float | None:
        """The optimizer's learning rate now (a schedule's value at this step), or None if it has none."""
        try:
            return float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
        except (AttributeError, TypeError, ValueError):
            return None

    def _usage_points(self, step: int, now: float, force: bool = False) -> list[MetricPoint]:
        """The worker's CPU and memory since the last sample (at most one sample per 2 s within an epoch)."""
        usage = self._usage.sample(force=force)
        return [MetricPoint(USAGE_KIND, step, step / self.steps, now - self._t0, name, value)
                for name, value in (usage or {}).items()]

    def _window_points(self, logs: dict, batches_done: int, now: float) -> list[MetricPoint]:
        """Mean of each live metric over the batches since the last point, from two running means."""
        start, previous = self._window_start, self._window_means
        if batches_done <= start:
            return []
        step = self._epoch * self.steps + batches_done
        points = []
        for name in LIVE_METRICS:
            if name not in logs:
                continue
            mean = float(logs[name])
            # sum(first k2) - sum(first k1), over k2 - k1 batches
            value = (batches_done * mean - start * previous.get(name, 0.0)) / (batches_done - start)
            if math.isfinite(value):
                points.append(MetricPoint("batch", step, step / self.steps, now - self._t0, name, value))
            self._window_means[name] = mean
        self._window_start = batches_done
        return points

    def _eta(self, step: int, total: int) -> float | None:
        """Seconds left at the pace since the first report, or None until that pace means something. The
        first batch also traces and compiles the model (seconds, on a CPU): an ETA that counted it showed
        '19 min' at batch 1 of a run that took 9 s, so it is measured from after it, over at least
        MIN_ETA_STEPS steps (or 2 % of the run) and MIN_ETA_SECONDS."""
        now = self.clock()
        if self._rate_from is None:
            self._rate_from = (now, step)
            return None
        since, first_step = self._rate_from
        done = step - first_step
        if done < max(MIN_ETA_STEPS, 0.02 * total) or now - since < MIN_ETA_SECONDS:
            return None
        return (now - since) / done * (total - step)

    def _report(self, points: list[MetricPoint], step: int, batch: int) -> None:
        total = self.epochs * self.steps
        progress = min(1.0, step / total)
        eta = self._eta(step, total)
        try:
            self.store.report(self.run_id, points, epoch=self._epoch + 1, batch=batch, progress=progress,
                              eta_seconds=eta, attempt=self.attempt)
        except Superseded:
            # Not raised through Keras (the hook may run on its thread pool): stop, and let the caller see it.
            self.superseded = True
            self.model.stop_training = True
            return
        if self.store.cancel_requested(self.run_id):
            self.cancelled = True
            self.model.stop_training = True
