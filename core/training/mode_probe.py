"""`training_mode = auto`, measured (the rule: core/domain/training_modes.py): three copies of the run's freshly
built model, with its very weights, each compiled one way (Keras' default, `spe`, `xla_spe`; not `xla_spe` for a
model with a convolution on a CPU-only machine, see XLA_MODES) and fitted on the
same first batches of the run's own training images; the calls after the first (which traces, or compiles) are
timed in rounds, alternating, and the fastest round of each counts. The run's own model is not touched: it starts
from its seed's weights whatever was measured. A measurement is kept per model shape and machine
(core/store/training_modes.py)."""
from __future__ import annotations

import json
import logging
import socket
import time
from dataclasses import replace

import numpy as np

from core.domain.config import TrainConfig
from core.domain.training_modes import (
    CANDIDATES,
    KERAS,
    ROUNDS,
    TIMED_STEPS,
    WARM_STEPS,
    XLA,
    XLA_SPE,
    ModeChoice,
    Timings,
    choose,
    fixed_choice,
    same_result,
    shape_key,
    too_short,
)
from core.store.runs import RunStore
from core.store.sweeps import sibling_configs
from core.store.training_modes import keep_measurement, measured_choice, record_run_mode
from core.training.batches import without_autotuning
from core.training.inspection import all_layers

log = logging.getLogger(__name__)
PROBE_SEED = 0


def training_mode(store: RunStore, run_id: int, config: TrainConfig, model, compile_for, probe_batches,
                  total_steps: int, measuring: bool = True) -> ModeChoice:
    """The mode run `run_id` trains with, noted on the run: forced by its config, taken from an earlier run of the
    same shape, or measured now on `model` (built, with its initial weights). `compile_for(model, jit)` compiles a
    model as the run compiles its own; `probe_batches()` gives the (images, labels) batches to measure on;
    `measuring`: TRAINLAB_MEASURE_TRAINING_MODES."""
    choice = fixed_choice(config.training_mode, bool(config.augmentation), measuring)
    if choice is None:
        run = store.get(run_id)
        key = shape_key(config.architecture, config.arch_options, model.input_shape[1:], model.output_shape[-1],
                        config.batch_size, run.threads or 0, socket.gethostname())
        # An earlier measurement serves a run of any length; measuring needs a long run, or a sweep of this shape.
        choice = measured_choice(store, key, total_steps) or \
            too_short(total_steps, total_steps * _runs_of_this_shape(store, run_id, config))
        if choice is None:
            choice, timings = measure(model, compile_for, probe_batches(), total_steps)
            keep_measurement(store, key, timings, run_id)
    record_run_mode(store, run_id, choice)
    return choice


def _runs_of_this_shape(store: RunStore, run_id: int, config: TrainConfig) -> int:
    """How many runs of run `run_id`'s sweep train the same model on the same input and batch (1 outside one)."""
    def shape(other: TrainConfig) -> tuple:
        return (other.dataset, other.image_size, other.architecture, json.dumps(other.arch_options, sort_keys=True),
                other.batch_size)

    return max(1, sum(shape(TrainConfig.from_json(c)) == shape(config) for c in sibling_configs(store, run_id)))


def measure(model, compile_for, batches: list, total_steps: int):
    """(the choice for a run of `total_steps`, the Timings) for `model` on `batches`: each candidate mode's copy
    fits the first WARM_STEPS batches once (tracing, for XLA compiling), then the next TIMED_STEPS in ROUNDS rounds,
    the modes alternating; a mode's step is its fastest round's seconds over TIMED_STEPS, its start what its first
    call took beyond its steps, its loss the last round's. Timed through `fit`, as the run trains: `spe` only
    changes how `fit` calls the step."""
    import tensorflow as tf

    began = time.perf_counter()
    refused = {mode: NOT_FOR_CONVOLUTIONS for mode in CANDIDATES if mode in XLA_MODES and _xla_loses_here(model)}
    copies = _copies(model, compile_for, (KERAS, *(mode for mode in CANDIDATES if mode not in refused)))
    data = without_autotuning(tf.data.Dataset.from_tensor_slices((tf.stack([x for x, _ in batches]),
                                                                  tf.stack([y for _, y in batches]))))
    parts = [data.take(WARM_STEPS)] + [data.skip(WARM_STEPS)] * ROUNDS
    seconds, losses = {mode: [] for mode in copies}, {}
    for part in parts:
        for mode, copy in copies.items():
            if mode in refused:
                continue
            try:
                started = time.perf_counter()
                history = copy.fit(part, epochs=1, shuffle=False, verbose=0)
                seconds[mode].append(time.perf_counter() - started)
                losses[mode] = float(history.history["loss"][-1])
            except Exception as exc:  # noqa: BLE001 - an op XLA cannot compile here: Keras' default trains the run
                if mode == KERAS:
                    raise
                refused[mode] = f"failed here ({(str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]})"

    def step_and_start(mode: str) -> tuple[float, float]:
        step = min(seconds[mode][1:]) / TIMED_STEPS
        return step, max(0.0, seconds[mode][0] - WARM_STEPS * step)  # the start: tracing, beyond the steps

    for mode in copies:
        if mode not in (KERAS, *refused) and not same_result(losses[mode], losses[KERAS]):
            refused[mode] = f"reached another loss ({losses[mode]:.4g} against {losses[KERAS]:.4g})"
    timings = Timings(*step_and_start(KERAS), {mode: step_and_start(mode) for mode in CANDIDATES
                                               if mode not in refused})
    choice = replace(choose(timings, total_steps, refused), probe_seconds=round(time.perf_counter() - began, 2))
    log.info("training mode: %s (%s)", choice, timings)
    return choice, timings


def _copies(model, compile_for, modes) -> dict:
    """For each of `modes`, a clone of `model` with its weights, compiled that way. A clone's Dropout draws its seed
    from the global generator: reseeded before each clone, every copy draws the same masks, so a mode's loss differs
    from Keras' default's only by the mode (unseeded, the assignment's CNN with Dropout reached 0.704 against 0.741
    in `spe`, which trains the very same steps, and was refused for it)."""
    import keras

    weights, copies = model.get_weights(), {}
    for mode in modes:
        keras.utils.set_random_seed(PROBE_SEED)
        copy = keras.models.clone_model(model)
        copy.set_weights(weights)
        compile_for(copy, mode)
        copies[mode] = copy
    return copies


# XLA on a CPU runs convolutions slower than the oneDNN kernels Keras' default calls: 0.3–0.8 × a step for every
# course CNN (bench figures 16 and 18; 0.53–0.69 × in their probes, 2026-12-07), and its compile and slow steps were
# half a CNN's probe (the four course CNNs: 7.7–20.3 s with the XLA mode, 3.4–11.9 s without). A model with a
# convolution is therefore measured without the XLA modes on a CPU-only machine; `xla`/`xla_spe` can still be forced.
XLA_MODES = (XLA, XLA_SPE)
NOT_FOR_CONVOLUTIONS = "not measured: XLA runs a convolution slower than Keras' default on a CPU"


def _xla_loses_here(model) -> bool:
    """Whether `model` has a convolution (at any depth: a model file may nest a base model) and no GPU is here."""
    import tensorflow as tf

    convolutional = any("Conv" in type(layer).__name__ for layer in all_layers(model))
    return convolutional and not tf.config.list_logical_devices("GPU")


def probe_batches(x: np.ndarray, y: np.ndarray, indices: np.ndarray, batch_size: int, make_batches) -> list:
    """The first WARM_STEPS + TIMED_STEPS batches of the run's training images, in order, as tensors (a pipeline of
    their own: iterating the run's shuffled one would move its epochs' order)."""
    wanted = indices[: batch_size * (WARM_STEPS + TIMED_STEPS)]
    batches = list(make_batches(x[wanted], y[wanted], batch_size))
    while len(batches) < WARM_STEPS + TIMED_STEPS:  # fewer images than that: go round them again
        batches += batches[: WARM_STEPS + TIMED_STEPS - len(batches)]
    return batches
