"""What a tracked `fit` is, read from Keras itself so the user types nothing: the model's layer table, parameter
count and input shape, the optimizer and its settings, and `fit`'s own arguments (batch size, epochs, how much
training and validation data) read from its frame when the callback starts."""
from __future__ import annotations

import math
import os
import re
import socket
import sys
import uuid

METRIC_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_./-]{0,63}$")  # what Train Lab stores (core/domain/tracked_runs.py)
MAX_VALUE = 1e12  # a value past this (a diverging loss) is left out, as Train Lab would refuse it


def is_share(name: str) -> bool:
    """Whether metric `name` is a share between 0 and 1 (an accuracy), as Train Lab checks it."""
    lowered = name.lower()
    return "acc" in lowered or lowered == "compile_metrics"


def storable(name: str, value: float) -> float | None:
    """`value` as Train Lab takes it: None when it is not finite or past MAX_VALUE; a share kept within 0..1
    (a mean of batch means may come out a hair above 1)."""
    if not math.isfinite(value) or abs(value) > MAX_VALUE:
        return None
    return min(1.0, max(0.0, value)) if is_share(name) else value
_SETTING_KEYS = 40


def fit_arguments() -> dict:
    """The local variables of the Keras `fit` call now running on this thread (its batch size, epochs, data
    after any validation split), or {} when none is found (a callback called some other way)."""
    frame = sys._getframe(1)
    while frame is not None:
        code = frame.f_code
        if code.co_name == "fit" and "keras" in code.co_filename.replace("\\", "/"):
            return dict(frame.f_locals)
        frame = frame.f_back
    return {}


def count_samples(data) -> int | None:
    """How many samples `data` (an array, a tuple or dict of arrays, or a list of them) holds; None when it
    cannot be told without reading it (a generator, a tf.data pipeline)."""
    if data is None:
        return None
    if isinstance(data, dict):
        data = next(iter(data.values()), None)
    if isinstance(data, (list, tuple)) and data and not hasattr(data, "shape"):
        data = data[0]
    shape = getattr(data, "shape", None)
    try:
        return int(shape[0]) if shape is not None and len(shape) and shape[0] is not None else None
    except (TypeError, ValueError):
        return None


def _scalar(value):
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, str):
        return value[:64]
    return None


def optimizer_settings(optimizer) -> tuple[str, float | None, dict]:
    """(name, learning rate now, its other plain settings) of a Keras optimizer."""
    if optimizer is None:
        return "", None, {}
    try:
        config = optimizer.get_config()
    except Exception:  # noqa: BLE001 - an optimizer of the user's own making: its settings are not needed
        config = {}
    settings = {}
    for key, value in config.items():
        if key not in ("name", "learning_rate") and _scalar(value) is not None:
            settings[str(key)[:64]] = _scalar(value)  # unset ones and nested ones (a schedule's config) left out
    return type(optimizer).__name__.lower(), learning_rate(optimizer), dict(list(settings.items())[:_SETTING_KEYS])


def learning_rate(optimizer) -> float | None:
    """The optimizer's learning rate at this step (a schedule's current value), or None."""
    try:
        import keras

        value = float(keras.ops.convert_to_numpy(optimizer.learning_rate))
    except Exception:  # noqa: BLE001 - none, or of a kind Keras cannot convert
        return None
    return float(f"{value:.7g}") if math.isfinite(value) else None  # a float32's 0.003, not 0.0030000000261


def layer_table(model) -> list[dict]:
    """One row per layer: name, type, output shape and parameters, as model.summary() shows them."""
    rows = []
    for layer in getattr(model, "layers", [])[:1000]:
        try:
            output = str(tuple(layer.output.shape))
        except Exception:  # noqa: BLE001 - a layer used twice, or not called yet, has no single output
            output = ""
        try:
            params = int(layer.count_params())
        except Exception:  # noqa: BLE001 - not built
            params = 0
        rows.append({"name": str(layer.name)[:200], "type": type(layer).__name__[:64], "output": output[:200],
                     "params": params})
    return rows


def input_shape(model) -> list:
    """The model's input shape without the batch axis (the first input's, for a model of several)."""
    try:
        shape = model.inputs[0].shape
    except Exception:  # noqa: BLE001 - a subclassed model not called yet
        return []
    return [None if d is None else int(d) for d in tuple(shape)[1:]][:8]


def describe_start(model, params: dict, fit: dict, *, name: str, script: str, args: list[str], dataset: str) -> dict:
    """The `start` request of a tracked run (core/domain/tracked_runs.RunStart's fields)."""
    optimizer, rate, settings = optimizer_settings(getattr(model, "optimizer", None))
    try:
        param_count = int(model.count_params())
    except Exception:  # noqa: BLE001 - not built
        param_count = 0
    validation = fit.get("val_x") if fit.get("val_x") is not None else fit.get("validation_data")
    batch_size, train_samples = fit.get("batch_size"), count_samples(fit.get("x"))
    if batch_size is None and train_samples is not None:
        batch_size = 32  # what Keras' fit uses for arrays when the script gives none (a dataset batches itself)
    import keras

    return {
        "key": uuid.uuid4().hex, "name": name[:120] or "fit", "script": script[:200],
        "args": [a[:200] for a in args][:50],
        "dataset": dataset[:64], "model_name": str(getattr(model, "name", ""))[:64],
        "epochs": max(1, int(params.get("epochs") or fit.get("epochs") or 1)),
        "steps": max(0, int(params.get("steps") or 0)),
        "batch_size": int(batch_size) if isinstance(batch_size, int) and batch_size > 0 else None,
        "optimizer": optimizer, "learning_rate": rate, "optimizer_settings": settings,
        "train_samples": train_samples, "validation_samples": count_samples(validation),
        "input_shape": input_shape(model), "param_count": param_count, "layers": layer_table(model),
        "pid": os.getpid(), "host": socket.gethostname()[:100], "keras_version": keras.__version__[:32],
    }


def finite_metrics(logs: dict | None) -> dict[str, float]:
    """The numbers of a Keras `logs` dict Train Lab can store: finite, under names it accepts."""
    out = {}
    for key, value in (logs or {}).items():
        try:
            number = float(value)
        except (TypeError, ValueError):
            continue
        number = storable(str(key), number)
        if number is not None and METRIC_NAME.match(str(key)):
            out[str(key)] = number
    return out
