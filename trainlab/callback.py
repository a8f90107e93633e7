"""`TrainLabCallback`: pass it to `model.fit` and the fit becomes a run on Train Lab's dashboard.

Within an epoch it reports the mean loss and accuracy of the batches since its last point, at most one point
per `interval` seconds (the same live curve as a run Train Lab trains); at each epoch end every metric Keras
logged, validation included, and the learning rate. Each `fit` is a run of its own, so running a notebook cell
again makes a new one. A cancel asked on the dashboard stops `fit` at its next batch. How `fit` ended is said
by `on_train_end`; a `fit` interrupted by an exception or Ctrl+C (which Keras does not tell callbacks) is ended
by `autolog()`'s wrapper, by IPython's hook after the cell, or when the process exits. A `model.evaluate` after
`fit` becomes the run's test figures.
"""
from __future__ import annotations

import os
import sys
import threading
import time

import keras

from trainlab import describe
from trainlab.reporter import _AT_EXIT, Reporter, spool_dir
from trainlab.sinks import connect, say

LIVE_METRICS = ("loss", "accuracy")
MIN_ETA_STEPS, MIN_ETA_SECONDS = 3, 1.0


class TrainLabCallback(keras.callbacks.Callback):
    """Report this `fit` to Train Lab.

    Args:
        name: the run's name (default: the script's or notebook's name and the model's).
        dataset: the dataset's name as Train Lab knows it ("fashion_mnist"), for comparing and the class's board.
        interval: least seconds between two live points within an epoch.
        save_model: also hand the trained model to Train Lab (on this machine's lab: its page then looks inside
            it and offers it for download; on the class's server: checked there, then kept as your model file
            on the Models page and offered for download on the run's page).
        sink: where to report (default: `trainlab.sinks.connect()`); None reports nowhere.

    Example:
        model.fit(x, y, validation_split=0.1, epochs=5, callbacks=[TrainLabCallback(dataset="fashion_mnist")])

    """

    async_safe = True  # the batch hook locks, so Keras may call it from its own thread pool

    def __init__(self, name: str = "", dataset: str = "", interval: float = 0.5, save_model: bool = False, sink=...):
        super().__init__()
        self.name, self.dataset, self.interval, self.save_model = name, dataset, interval, save_model
        self._sink = sink
        self.reporter: Reporter | None = None
        self.cancelled = False
        self._lock = threading.Lock()
        self._reset()

    def _reset(self) -> None:
        self._t0 = time.monotonic()
        self._last_point: float | None = None
        self._epoch = 0
        self._steps = 1
        self._window_start, self._window_means = 0, {}
        self._rate_from: tuple[float, int] | None = None

    # -- Keras' hooks ---------------------------------------------------------------------------------------
    def on_train_begin(self, logs=None):
        """Start a new run: every fit is one (a notebook cell run again makes another). Whatever goes wrong
        here costs the tracking, never the training."""
        try:
            self._begin()
        except Exception as exc:  # noqa: BLE001 - a model or data of the user's own making Train Lab misread
            say(f"this fit is not tracked ({type(exc).__name__}: {exc})".splitlines()[0])
            self.reporter = None

    def _begin(self) -> None:
        self._reset()
        self.cancelled = False
        self.reporter = None
        sink = connect if self._sink is ... else self._sink  # connect() runs on the reporter's thread
        if sink is None:
            return
        fit = describe.fit_arguments()
        self._steps = max(1, int(self.params.get("steps") or 1))
        start = describe.describe_start(self.model, self.params, fit, name=self.name or _default_name(self.model),
                                        script=_script_name(), args=sys.argv[1:] if _script_name() else [],
                                        dataset=self.dataset or _loaded_dataset())
        self.reporter = Reporter(sink, start, interval=self.interval)
        _open_fits[id(self)] = self
        _watch_notebook()
        from trainlab.autolog import report_evaluate

        report_evaluate(self.model, self.reporter)  # a later evaluate of this model reports to this run

    def on_epoch_begin(self, epoch, logs=None):
        """Open a new window of batches for the live points."""
        self._epoch, self._window_start, self._window_means = epoch, 0, {}

    def on_train_batch_end(self, batch, logs=None):
        """A live point when `interval` has passed; stop at once when a cancel was asked."""
        if self.reporter is None:
            return
        if self.reporter.cancel_asked.is_set() and not self.cancelled:
            self.cancelled = True
            self.model.stop_training = True
            say(f"run #{self.reporter.run_id} was cancelled from Train Lab: this fit stops after this batch")
        now = time.monotonic()
        if self._last_point is not None and now - self._last_point < self.interval:
            return
        with self._lock:
            if batch + 1 <= self._window_start:
                return  # an earlier batch's call that ran after a later one
            self._last_point = now
            step = self._epoch * self._steps + batch + 1
            self._send(self._window(logs or {}, batch + 1, now), step, batch + 1, now)

    def on_epoch_end(self, epoch, logs=None):
        """The last live point of the epoch and every epoch metric, validation included."""
        if self.reporter is None or self.cancelled:
            return  # a cancelled epoch's "epoch" metrics would plot an epoch that never happened
        now = time.monotonic()
        with self._lock:
            self._last_point = now
            step = (epoch + 1) * self._steps
            points = self._window(logs or {}, self._steps, now)
            values = describe.finite_metrics(logs)
            rate = describe.learning_rate(getattr(self.model, "optimizer", None))
            if "learning_rate" not in values and rate is not None:
                values["learning_rate"] = rate
            points += [_point("epoch", step, epoch + 1, now - self._t0, name, value) for name, value in values.items()]
            self._send(points, step, self._steps, now)

    def on_train_end(self, logs=None):
        """Say how `fit` ended: cancelled from the dashboard, or succeeded."""
        if self.reporter is None:
            return
        self.finish("cancelled" if self.cancelled else "succeeded",
                    "cancelled from Train Lab" if self.cancelled else None)
        if self.save_model and not self.cancelled:
            self._hand_over_model()

    def _hand_over_model(self) -> None:
        """Save the trained model beside the spool and queue it for Train Lab (a failure costs the file only)."""
        path = spool_dir() / f"{self.reporter.key}.keras"
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.model.save(path)
        except Exception as exc:  # noqa: BLE001 - a model Keras cannot save (a custom layer without get_config)
            say(f"the trained model was not sent: Keras could not save it ({type(exc).__name__}: {exc})"[:300])
            return
        self.reporter.model(str(path))

    # -- ending -------------------------------------------------------------------------------------------
    def finish(self, status: str, error: str | None = None) -> None:
        """End this fit's run with `status` (once)."""
        reporter = self.reporter
        if reporter is None or reporter.ended:
            return
        reporter.end(status, error, train_seconds=time.monotonic() - self._t0)
        _open_fits.pop(id(self), None)

    def _send(self, points: list[dict], step: int, batch: int, now: float) -> None:
        total = max(1, int(self.params.get("epochs") or 1)) * self._steps
        self.reporter.report(points, epoch=self._epoch + 1, batch=batch, progress=min(1.0, step / total),
                             eta_seconds=self._eta(step, total, now))

    def _window(self, logs: dict, batches_done: int, now: float) -> list[dict]:
        """Mean of each live metric over the batches since the last point, from two of Keras' running means."""
        start, previous = self._window_start, self._window_means
        if batches_done <= start:
            return []
        step = self._epoch * self._steps + batches_done
        points = []
        for name in LIVE_METRICS:
            if name not in logs:
                continue
            mean = float(logs[name])
            value = describe.storable(name, (batches_done * mean - start * previous.get(name, 0.0))
                                      / (batches_done - start))
            if value is not None:
                points.append(_point("batch", step, step / self._steps, now - self._t0, name, value))
            self._window_means[name] = mean
        self._window_start = batches_done
        return points

    def _eta(self, step: int, total: int, now: float) -> float | None:
        """Seconds left at the pace since the first point (the first batch also compiles: not counted)."""
        if self._rate_from is None:
            self._rate_from = (now, step)
            return None
        since, first = self._rate_from
        if step - first < max(MIN_ETA_STEPS, 0.02 * total) or now - since < MIN_ETA_SECONDS:
            return None
        return (now - since) / (step - first) * (total - step)


def _point(kind: str, step: int, epoch: float, elapsed: float, name: str, value: float) -> dict:
    return {"kind": kind, "step": int(step), "epoch": float(epoch), "elapsed": max(0.0, float(elapsed)), "name": name,
            "value": float(value)}


# -- fits that did not end by themselves ----------------------------------------------------------------------
_open_fits: dict[int, TrainLabCallback] = {}


def end_open_fits(error: BaseException | None) -> None:
    """End every fit still open: cancelled after Ctrl+C, failed after another exception (named), failed when
    the process or cell ended without Keras ending the fit."""
    for callback in list(_open_fits.values()):
        if isinstance(error, KeyboardInterrupt):
            callback.finish("cancelled", "interrupted (KeyboardInterrupt)")
        elif error is not None:
            callback.finish("failed", f"{type(error).__name__}: {error}".splitlines()[0][:500])
        else:
            callback.finish("failed", "fit did not finish (the script or cell ended while it trained)")


def _at_exit() -> None:
    end_open_fits(getattr(sys, "last_value", None))  # the exception that ended the script, if one did


_AT_EXIT.append(_at_exit)
_watching = {"notebook": False}


def _watch_notebook() -> None:
    """In IPython or Jupyter: after each cell, end the fits it left open (an interrupted or failed cell)."""
    if _watching["notebook"] or "IPython" not in sys.modules:
        return
    shell = sys.modules["IPython"].get_ipython()
    if shell is None:
        return
    shell.events.register("post_run_cell", lambda result: end_open_fits(result.error_in_exec))
    _watching["notebook"] = True


def _script_name() -> str:
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None) or ""
    return os.path.basename(path) if path.endswith(".py") else ""


def _default_name(model) -> str:
    return f"{_script_name() or 'notebook'} · {getattr(model, 'name', 'model')}"


def _loaded_dataset() -> str:
    from trainlab.autolog import loaded_dataset

    return loaded_dataset()
