"""`autolog()`: after it, every `model.fit` becomes a run on Train Lab's dashboard with no other change to the
code (the way MLflow's `mlflow.keras.autolog()` patches `fit`): the wrapper adds a `TrainLabCallback` to the
call and ends the run itself when `fit` raises (Ctrl+C: cancelled; another exception: failed, named), which
Keras does not tell callbacks. A `model.evaluate` after a tracked `fit` becomes that run's test figures, and a
Keras dataset loaded with `keras.datasets.<name>.load_data()` names the runs' dataset.
"""
from __future__ import annotations

import functools
import inspect
import threading
import weakref

from trainlab import describe

KERAS_DATASETS = ("mnist", "fashion_mnist", "cifar10", "cifar100")
_state = {"on": False, "dataset": "", "name": "", "loaded": "", "save_model": False}
_lock = threading.Lock()
_last_reporter: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # model -> reporter of its last fit
_evaluate_watched = {"done": False}


def autolog(dataset: str = "", name: str = "", save_model: bool = False) -> None:
    """Track every `model.fit` from now on. `dataset` names the data as Train Lab knows it ("fashion_mnist")
    when it is not loaded with keras.datasets; `name` names the runs (default: the script and the model);
    `save_model` also hands each trained model over (see TrainLabCallback)."""
    import keras

    with _lock:
        _state.update(dataset=dataset, name=name, save_model=save_model)
        if _state["on"]:
            return
        _wrap_fit(keras.Model)
        _watch_evaluate(keras.Model)
        _watch_datasets(keras)
        _state["on"] = True


def loaded_dataset() -> str:
    """The dataset the runs train on: the one given to `autolog`, else the last Keras dataset loaded."""
    return _state["dataset"] or _state["loaded"]


def report_evaluate(model, reporter) -> None:
    """Send the next `evaluate` results of `model` to `reporter`'s run (as its test figures)."""
    import keras

    with _lock:
        _watch_evaluate(keras.Model)
    _last_reporter[model] = reporter


def _wrap_fit(model_class) -> None:
    original = model_class.fit
    signature = inspect.signature(original)

    @functools.wraps(original)
    def fit(self, *args, **kwargs):
        from trainlab.callback import TrainLabCallback

        bound = signature.bind_partial(self, *args, **kwargs)
        callbacks = bound.arguments.get("callbacks")
        listed = list(callbacks) if isinstance(callbacks, (list, tuple)) else None
        if listed is None and callbacks is not None or any(isinstance(c, TrainLabCallback) for c in listed or []):
            return original(self, *args, **kwargs)  # the user's own CallbackList, or already tracked
        tracker = TrainLabCallback(name=_state["name"], dataset=_state["dataset"], save_model=_state["save_model"])
        bound.arguments["callbacks"] = [*(listed or []), tracker]
        try:
            return original(*bound.args, **bound.kwargs)
        except KeyboardInterrupt:
            tracker.finish("cancelled", "interrupted (KeyboardInterrupt)")
            raise
        except BaseException as exc:
            tracker.finish("failed", f"{type(exc).__name__}: {exc}".splitlines()[0][:500])
            raise

    model_class.fit = fit


def _watch_evaluate(model_class) -> None:
    if _evaluate_watched["done"]:
        return
    original = model_class.evaluate

    @functools.wraps(original)
    def evaluate(self, *args, **kwargs):
        result = original(self, *args, **kwargs)
        reporter = _last_reporter.get(self)
        if reporter is not None and reporter.ended:
            try:
                metrics = describe.finite_metrics(self.get_metrics_result())
            except Exception:  # noqa: BLE001 - a model of the user's own making: its figures are not needed
                metrics = {}
            if metrics:
                reporter.test(metrics)
        return result

    model_class.evaluate = evaluate
    _evaluate_watched["done"] = True


def _watch_datasets(keras) -> None:
    for name in KERAS_DATASETS:
        module = getattr(keras.datasets, name, None)
        if module is None or getattr(module.load_data, "_trainlab", False):
            continue

        def load_data(*args, _original=module.load_data, _name=name, **kwargs):
            result = _original(*args, **kwargs)
            _state["loaded"] = _name
            return result

        load_data._trainlab = True
        module.load_data = load_data
