"""`training_mode = auto`, measured (the rule: core/domain/training_modes.py): two copies of the run's freshly built
model, with its very weights, each compiled one way (Keras' default, XLA) and trained on the same first batches of
the run's own training images; the steps after the first few (which trace and compile) are timed in two rounds,
alternating, and the faster round of each counts. The run's own model is not touched: it starts from its seed's
weights whatever was measured. A measurement is kept per model shape and machine (core/store/training_modes.py)."""
from __future__ import annotations

import logging
import socket
import time
from dataclasses import replace

import numpy as np

from core.domain.config import TrainConfig
from core.domain.training_modes import (
    KERAS,
    TIMED_STEPS,
    WARM_STEPS,
    XLA,
    ModeChoice,
    Timings,
    choose,
    not_measured,
    shape_key,
)
from core.store.runs import RunStore
from core.store.training_modes import keep_measurement, measured_choice, record_run_mode

log = logging.getLogger(__name__)


def training_mode(store: RunStore, run_id: int, config: TrainConfig, model, compile_for, probe_batches,
                  total_steps: int, measuring: bool = True) -> ModeChoice:
    """The mode run `run_id` trains with, noted on the run: forced by its config, taken from an earlier run of the
    same shape, or measured now on `model` (built, with its initial weights). `compile_for(model, jit)` compiles a
    model as the run compiles its own; `probe_batches()` gives the (images, labels) batches to measure on;
    `measuring`: TRAINLAB_MEASURE_TRAINING_MODES."""
    choice = not_measured(config.training_mode, bool(config.augmentation), total_steps, measuring)
    if choice is None:
        run = store.get(run_id)
        key = shape_key(config.architecture, config.arch_options, model.input_shape[1:], model.output_shape[-1],
                        config.batch_size, run.threads or 0, socket.gethostname())
        choice = measured_choice(store, key, total_steps)
        if choice is None:
            choice, timings = measure(model, compile_for, probe_batches(), total_steps)
            keep_measurement(store, key, timings, choice.how == "measured", run_id)
    record_run_mode(store, run_id, choice)
    return choice


def measure(model, compile_for, batches: list, total_steps: int):
    """(the choice for a run of `total_steps`, the Timings) for `model` on `batches`."""
    import keras

    began = time.perf_counter()
    weights = model.get_weights()
    copies = {}
    for jit in (False, True):
        copy = keras.models.clone_model(model)
        copy.set_weights(weights)
        compile_for(copy, jit)
        copies[XLA if jit else KERAS] = copy
    seconds = {KERAS: [], XLA: []}
    losses, failed = {}, None
    half = WARM_STEPS + TIMED_STEPS // 2
    for part in (batches[:WARM_STEPS], batches[WARM_STEPS:half], batches[half:]):
        for mode, copy in copies.items():
            if mode == XLA and failed is not None:
                continue
            try:
                started = time.perf_counter()
                for x, y in part:
                    losses[mode] = float(copy.train_on_batch(x, y, return_dict=True)["loss"])
                seconds[mode].append((time.perf_counter() - started) / max(1, len(part)))
            except Exception as exc:  # noqa: BLE001 - an op XLA cannot compile here: Keras' default trains the run
                if mode == KERAS:
                    raise
                failed = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
    def step_and_start(mode: str) -> tuple[float, float]:
        step = min(seconds[mode][1:])
        return step, max(0.0, WARM_STEPS * (seconds[mode][0] - step))  # the start: tracing, beyond the steps

    timings = Timings(*step_and_start(KERAS), *(step_and_start(XLA) if failed is None else ()))
    choice = replace(choose(timings, losses[KERAS], losses.get(XLA), total_steps, failed),
                     probe_seconds=round(time.perf_counter() - began, 2))
    log.info("training mode: %s (%s)", choice, timings)
    return choice, timings


def probe_batches(x: np.ndarray, y: np.ndarray, indices: np.ndarray, batch_size: int, make_batches) -> list:
    """The first WARM_STEPS + TIMED_STEPS batches of the run's training images, in order, as tensors (a pipeline of
    their own: iterating the run's shuffled one would move its epochs' order)."""
    wanted = indices[: batch_size * (WARM_STEPS + TIMED_STEPS)]
    batches = list(make_batches(x[wanted], y[wanted], batch_size))
    while len(batches) < WARM_STEPS + TIMED_STEPS:  # fewer images than that: go round them again
        batches += batches[: WARM_STEPS + TIMED_STEPS - len(batches)]
    return batches
