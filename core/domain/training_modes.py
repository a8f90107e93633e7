"""How a run's training step is compiled (TrainConfig.training_mode), and the rule `auto` chooses by.

Keras turns XLA off on a CPU-only machine, which is right for conv nets and wrong for dense ones (bench figure 16:
the course MLP trains ~1.4 × faster with XLA here, a small CNN ~0.5 ×). A student's script cannot know which;
Train Lab measures it: `auto` times a few steps of the run's own model on its own batches in each mode, from the
same weights, and trains with XLA only when it is clearly faster over the whole run, its compiles counted, *and*
reached the same loss (a mode whose result differs is never chosen). The measurement is kept per model shape and
machine, so later runs of that shape skip it, each deciding for its own length."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

KERAS, XLA, AUTO, SPE = "keras", "xla", "auto", "spe"
# `spe`: Keras' default compiled with steps_per_execution: the same steps in the same order, so the very same result,
# with Keras' Python loop and the callbacks' batch hooks run once per STEPS_PER_CALL steps (bench figure 18).
STEPS_PER_CALL = 16
FORCED = {KERAS: "Keras' default", XLA: "XLA", SPE: f"Keras' default with {STEPS_PER_CALL} steps a call"}
MIN_GAIN = 1.10  # XLA is chosen only this much faster over the run: below it, the measurement's noise would decide
COMPILES = 2  # starts a run pays: its train step, and its test step (validation, evaluate; predict is small)
LOSS_TOLERANCE = 0.02  # the probe's last loss may differ this much (relative) and still be the same result
MIN_STEPS_TO_MEASURE = 300  # a run shorter than this trains as Keras' default: measuring would cost more than it wins
WARM_STEPS, TIMED_STEPS = 3, 20  # per mode: the first steps trace (and compile) the step; the next ones are timed


@dataclass(frozen=True)
class ModeChoice:
    """What a run trains with and why: `mode` (keras or xla); XLA's measured speed a step over Keras' default's and
    its expected gain over the whole run, its compile included (None when not measured); how it was decided:
    measured, earlier (a run of the same shape measured it), forced (the run asked for a mode), or the reason
    nothing was measured."""

    mode: str
    speedup: float | None
    how: str
    probe_seconds: float | None = None  # what measuring cost this run, when it measured
    measured_by: int | None = None  # the run whose measurement an `earlier` choice took
    run_gain: float | None = None  # Keras' default's expected time for the run's steps over XLA's, compiles included
    steps: int | None = None  # the run's training steps the gain was reckoned for

    def to_dict(self) -> dict:
        """As stored."""
        return {"mode": self.mode, "speedup": self.speedup, "how": self.how, "probe_seconds": self.probe_seconds,
                "measured_by": self.measured_by, "run_gain": self.run_gain, "steps": self.steps}


@dataclass(frozen=True)
class Timings:
    """A measurement: each mode's seconds a step, and its start (tracing, for XLA compiling) beyond its steps;
    XLA's are None when it failed."""

    keras_step: float
    keras_start: float
    xla_step: float | None = None
    xla_start: float | None = None


def shape_key(architecture: str, arch_options: dict, input_shape, classes: int, batch_size: int, threads: int,
              machine: str) -> str:
    """What a measurement holds for: the same model, input and batch on the same machine with the same CPU threads
    (a cluster's nodes differ, and so does a lone run from one sharing the cores). Not the optimizer: its update is
    a small part of a step beside the model's, so a sweep over optimizers measures each model once."""
    what = [architecture, arch_options, list(input_shape), classes, batch_size, threads, machine]
    return hashlib.sha256(json.dumps(what, sort_keys=True, default=str).encode()).hexdigest()[:32]


def not_measured(config_mode: str, augmented: bool, total_steps: int, measuring: bool = True) -> ModeChoice | None:
    """The choice made without measuring, or None when `auto` should measure (or look up a measurement).
    `measuring`: the lab's TRAINLAB_MEASURE_TRAINING_MODES."""
    if config_mode != AUTO:
        return ModeChoice(config_mode, None, "forced")
    if not measuring:
        return ModeChoice(KERAS, None, "measuring is off here (TRAINLAB_MEASURE_TRAINING_MODES=0)")
    if augmented:
        return ModeChoice(KERAS, None, "augmentation: XLA does not compile its image operations here")
    if total_steps < MIN_STEPS_TO_MEASURE:
        return ModeChoice(KERAS, None, f"a run of {total_steps} steps: measuring pays from "
                                       f"{MIN_STEPS_TO_MEASURE} steps on")
    return None


def _gain(timings: Timings, total_steps: int) -> float:
    """Keras' default's expected seconds for a run of `total_steps` over XLA's, each with its starts: the train,
    test and predict functions are each traced (XLA: compiled) once, so a start counts COMPILES times."""
    def expected(step: float, start: float) -> float:
        return COMPILES * start + total_steps * step

    return expected(timings.keras_step, timings.keras_start) / expected(timings.xla_step, timings.xla_start)


def choose(timings: Timings, keras_loss: float, xla_loss: float | None, total_steps: int,
           xla_error: str | None = None) -> ModeChoice:
    """The rule: XLA when, over the run's `total_steps` with its compiles counted, it is expected MIN_GAIN faster,
    and its loss after the same steps from the same weights matched Keras' default's within LOSS_TOLERANCE; else
    Keras' default."""
    if xla_error is not None or timings.xla_step is None or xla_loss is None:
        return ModeChoice(KERAS, None, f"measured: XLA failed here ({xla_error or 'no result'})")
    if abs(xla_loss - keras_loss) > LOSS_TOLERANCE * max(abs(keras_loss), 1e-6):
        return ModeChoice(KERAS, timings.keras_step / timings.xla_step, f"measured: XLA's loss differed "
                          f"({xla_loss:.4g} against {keras_loss:.4g})")
    return again(timings, total_steps, "measured")


def again(timings: Timings, total_steps: int, how: str = "earlier", measured_by: int | None = None) -> ModeChoice:
    """The choice for a run of `total_steps` from a measurement whose losses matched (this run's or an earlier's)."""
    gain = _gain(timings, total_steps)
    return ModeChoice(XLA if gain >= MIN_GAIN else KERAS, timings.keras_step / timings.xla_step, how,
                      measured_by=measured_by, run_gain=round(gain, 3), steps=total_steps)


def describe(choice: ModeChoice | None) -> str | None:
    """The run page's line: "XLA: 1.52 × faster than Keras' default here (measured at the start of this run)"."""
    if choice is None:
        return None
    took = f" in {choice.probe_seconds:.1f} s" if choice.probe_seconds else ""
    source = {"measured": f"measured{took} at the start of this run",
              "earlier": f"measured by {f'run #{choice.measured_by}' if choice.measured_by else 'an earlier run'} "
                         "of this model and batch on this machine"}.get(choice.how)
    if choice.how == "forced":
        return FORCED.get(choice.mode, choice.mode) + ", as the run asked."
    if source is None:
        return f"Keras' default ({choice.how.removeprefix('measured: ')})."
    if choice.mode == XLA:
        return (f"XLA: {choice.speedup:.2f} × faster a step than Keras' default here, about {choice.run_gain:.2f} × "
                f"over this run with its compiles ({source}).")
    if choice.speedup is not None and choice.speedup >= MIN_GAIN and choice.run_gain is not None:
        return (f"Keras' default: XLA was {choice.speedup:.2f} × faster a step here, but over this run's "
                f"{choice.steps:,} steps its compiles would cost about what it saves ({source}).")
    if choice.speedup is not None:
        return f"Keras' default: XLA ran at {choice.speedup:.2f} × its speed a step here ({source})."
    return f"Keras' default ({source})."
