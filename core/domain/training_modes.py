"""How a run's training step is compiled (TrainConfig.training_mode), and the rule `auto` chooses by.

Keras turns XLA off on a CPU-only machine, which is right for conv nets and wrong for dense ones (bench figure 16:
the course MLP trains ~1.4 × faster with XLA here, a small CNN ~0.5 ×), and calls its step once per batch, which
costs the small-step models most (figure 18: 16 steps a call, 1.2–2.8 × faster for five course models). A
student's script cannot know which; Train Lab measures it: `auto` times calls of the run's own model on its own
batches in each mode, from the same weights, and trains in the fastest mode only when it is clearly faster over the
whole run, its starts counted, *and* reached the same loss (a mode whose result differs is never chosen). The
measurement is kept per model shape and machine, so later runs of that shape skip it, each deciding for its own
length."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

KERAS, XLA, AUTO, SPE, XLA_SPE = "keras", "xla", "auto", "spe", "xla_spe"
# `spe`: Keras' default compiled with steps_per_execution: the same steps in the same order, so the very same result,
# with Keras' Python loop and the callbacks' batch hooks run once per STEPS_PER_CALL steps (bench figure 18).
# `xla_spe`: both; for the dense course models ~2 × Keras' default here, more than either alone.
STEPS_PER_CALL = 16
FORCED = {KERAS: "Keras' default", XLA: "XLA", SPE: f"Keras' default with {STEPS_PER_CALL} steps a call",
          XLA_SPE: f"XLA with {STEPS_PER_CALL} steps a call"}
LABELS = {XLA: "XLA", SPE: f"{STEPS_PER_CALL} steps a call", XLA_SPE: f"XLA with {STEPS_PER_CALL} steps a call"}
CANDIDATES = (SPE, XLA_SPE)  # what `auto` measures against Keras' default (XLA alone is slower than with `spe`)
EXACT = (SPE,)  # modes that train the very same model as Keras' default (the others: within LOSS_TOLERANCE)
MIN_GAIN = 1.10  # a mode is chosen only this much faster over the run: below it, the measurement's noise would decide
COMPILES = 2  # starts a run pays: its train step, and its test step (validation, evaluate; predict is small)
LOSS_TOLERANCE = 0.02  # the probe's last loss may differ this much (relative) and still be the same result
# A run shorter than this trains as Keras' default: the probe's 3 × 80 steps and compiles would cost more than it wins.
MIN_STEPS_TO_MEASURE = 1_000
# Per mode: one call of `spe`'s steps traces (XLA: compiles) the step; then ROUNDS timed calls of as many steps, the
# modes alternating. Many short rounds, the fastest counting: this VM halves a step's speed for seconds at a time.
WARM_STEPS, TIMED_STEPS, ROUNDS = STEPS_PER_CALL, STEPS_PER_CALL, 4


@dataclass(frozen=True)
class ModeChoice:
    """What a run trains with and why: `mode`; `versus`'s measured speed a step over Keras' default's (`speedup`)
    and its expected gain over the whole run, its compiles included (`run_gain`), where `versus` is the chosen mode,
    or the best candidate when Keras' default was kept (None: a choice kept before there were candidates other than
    XLA, about XLA); every candidate's speed a step (`speedups`); how it was decided: measured, earlier (a run of the
    same shape measured it), forced (the run asked for a mode), or why nothing was measured."""

    mode: str
    speedup: float | None
    how: str
    probe_seconds: float | None = None  # what measuring cost this run, when it measured
    measured_by: int | None = None  # the run whose measurement an `earlier` choice took
    run_gain: float | None = None  # Keras' default's expected time for the run's steps over `versus`'s
    steps: int | None = None  # the run's training steps the gain was reckoned for
    versus: str | None = None
    speedups: dict | None = None  # mode -> its measured speed a step over Keras' default's

    def to_dict(self) -> dict:
        """As stored."""
        return {"mode": self.mode, "speedup": self.speedup, "how": self.how, "probe_seconds": self.probe_seconds,
                "measured_by": self.measured_by, "run_gain": self.run_gain, "steps": self.steps,
                "versus": self.versus, "speedups": self.speedups}


@dataclass(frozen=True)
class Timings:
    """A measurement: Keras' default's seconds a step and its start (tracing) beyond its steps, and the same
    (step, start) of each candidate mode that trained to the same result (one that failed or differed is absent)."""

    keras_step: float
    keras_start: float
    modes: dict = field(default_factory=dict)  # mode -> (seconds a step, start; for XLA its compile)

    def of(self, mode: str) -> tuple[float | None, float | None]:
        """(seconds a step, start) of `mode`; (None, None) when it is not a candidate here."""
        return (self.keras_step, self.keras_start) if mode == KERAS else tuple(self.modes.get(mode, (None, None)))


def shape_key(architecture: str, arch_options: dict, input_shape, classes: int, batch_size: int, threads: int,
              machine: str) -> str:
    """What a measurement holds for: the same model, input and batch on the same machine with the same CPU threads
    (a cluster's nodes differ, and so does a lone run from one sharing the cores). Not the optimizer: its update is
    a small part of a step beside the model's, so a sweep over optimizers measures each model once."""
    what = [architecture, arch_options, list(input_shape), classes, batch_size, threads, machine]
    return hashlib.sha256(json.dumps(what, sort_keys=True, default=str).encode()).hexdigest()[:32]


def fixed_choice(config_mode: str, augmented: bool, measuring: bool = True) -> ModeChoice | None:
    """The choice when nothing is measured nor looked up: a forced mode, measuring off, augmentation; else None."""
    if config_mode != AUTO:
        return ModeChoice(config_mode, None, "forced")
    if not measuring:
        return ModeChoice(KERAS, None, "measuring is off here (TRAINLAB_MEASURE_TRAINING_MODES=0)")
    if augmented:
        return ModeChoice(KERAS, None, "augmentation: XLA does not compile its image operations here")
    return None


def too_short(total_steps: int, planned_steps: int | None = None) -> ModeChoice | None:
    """Keras' default for a run too short to pay for measuring, unless the lab plans `planned_steps` of this
    shape in all (a sweep's trials of one model: one measurement serves them all); else None."""
    if max(total_steps, planned_steps or 0) < MIN_STEPS_TO_MEASURE:
        return ModeChoice(KERAS, None, f"a run of {total_steps:,} steps: measuring pays from "
                                       f"{MIN_STEPS_TO_MEASURE:,} steps on")
    return None


def _gain(timings: Timings, mode: str, total_steps: int) -> float:
    """Keras' default's expected seconds for a run of `total_steps` over `mode`'s, each with its starts: the train,
    test and predict functions are each traced (XLA: compiled) once, so a start counts COMPILES times."""
    def expected(step: float, start: float) -> float:
        return COMPILES * start + total_steps * step

    return expected(timings.keras_step, timings.keras_start) / expected(*timings.of(mode))


def same_result(loss: float | None, keras_loss: float) -> bool:
    """A mode's loss after the probe's steps, from the same weights, matches Keras' default's."""
    return loss is not None and abs(loss - keras_loss) <= LOSS_TOLERANCE * max(abs(keras_loss), 1e-6)


def choose(timings: Timings, total_steps: int, refused: dict | None = None) -> ModeChoice:
    """The rule: among the candidates measured whose loss after the same steps from the same weights matched Keras'
    default's (`timings.modes`), the one expected fastest over the run's `total_steps` with its starts counted, when
    that is MIN_GAIN faster than Keras' default; else Keras' default, saying why a candidate was not one
    (`refused`: mode -> "failed here (…)" or "reached another loss (…)")."""
    choice = again(timings, total_steps, "measured")
    reasons = [f"{LABELS[mode]} {why}" for mode, why in (refused or {}).items()]
    if choice.mode != KERAS or not reasons or choice.versus is not None:
        return choice
    return ModeChoice(KERAS, None, "measured: " + "; ".join(reasons), steps=total_steps)


def again(timings: Timings, total_steps: int, how: str = "earlier", measured_by: int | None = None) -> ModeChoice:
    """The choice for a run of `total_steps` from a measurement (this run's or an earlier's) among its candidates.
    A mode that only matches Keras' default's result within LOSS_TOLERANCE (XLA) must be MIN_GAIN faster than the
    fastest mode that trains the very same model (EXACT: Keras' default itself, `spe`); the fastest exact mode
    otherwise, when MIN_GAIN faster than Keras' default."""
    gains = {mode: _gain(timings, mode, total_steps) for mode in timings.modes}
    exact = max((mode for mode in gains if mode in EXACT), key=gains.get, default=None)
    inexact = max((mode for mode in gains if mode not in EXACT), key=gains.get, default=None)
    bar = max(1.0, gains[exact]) if exact is not None else 1.0
    if inexact is not None and gains[inexact] >= MIN_GAIN * bar:
        best = inexact
    else:  # the exact mode, chosen when fast enough (else named on the page as the one closest to it)
        best = exact or inexact
    if best is None:
        return ModeChoice(KERAS, None, how, measured_by=measured_by, steps=total_steps)
    speedups = {mode: round(timings.keras_step / timings.of(mode)[0], 3) for mode in gains}
    return ModeChoice(best if gains[best] >= MIN_GAIN else KERAS, timings.keras_step / timings.of(best)[0], how,
                      measured_by=measured_by, run_gain=round(gains[best], 3), steps=total_steps, versus=best,
                      speedups=speedups)


def describe(choice: ModeChoice | None) -> str | None:
    """The run page's line: "XLA: 1.52 × faster a step than Keras' default here, about 1.41 × over this run with its
    compiles (measured in 2.3 s at the start of this run)"."""
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
    versus = choice.versus or XLA
    start = "its start" if versus in EXACT else "its compiles"
    if choice.mode in (XLA, XLA_SPE):
        return (f"{LABELS[choice.mode]}: {choice.speedup:.2f} × faster a step than Keras' default here, about "
                f"{choice.run_gain:.2f} × over this run with its compiles ({source}).")
    if choice.mode == SPE:
        return (f"{STEPS_PER_CALL} steps a call: {choice.speedup:.2f} × faster a step than Keras' default here, about "
                f"{choice.run_gain:.2f} × over this run, training the very same model ({source}).")
    if choice.speedup is not None and choice.speedup >= MIN_GAIN and choice.run_gain is not None:
        return (f"Keras' default: {LABELS[versus]} was {choice.speedup:.2f} × faster a step here, but over this "
                f"run's {choice.steps:,} steps {start} would cost about what it saves ({source}).")
    if choice.speedup is not None:
        measured = choice.speedups or {versus: choice.speedup}
        ran = ", and ".join(f"{LABELS[mode]} ran at {speedup:.2f} ×" for mode, speedup in measured.items())
        return f"Keras' default: {ran} its speed a step here ({source})."
    return f"Keras' default ({source})."
