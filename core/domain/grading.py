"""The assignment's eight grading points, ticked from what a sweep's runs actually contain and reached.

The course grades the hyperparameter assignment on eight points and gives full marks for seven: a
random train/validation split; at least three models; one with Dropout; one with BatchNormalization;
at least three optimizers; at least two learning rates; and the test accuracy targets on MNIST and
Fashion-MNIST. Each point is decided from the runs' own settings, never from the sweep's name.
"""
from __future__ import annotations

from dataclasses import dataclass

from core.domain.sweep_spec import ASSIGNMENT_TARGETS

FULL_MARKS = 7
# Presets whose fixed layers include Dropout or BatchNormalization (custom builders say it in their options).
PRESETS_WITH_DROPOUT = frozenset({"basic_cnn_regularised"})
PRESETS_WITH_BATCH_NORM = frozenset({"mlp_bn", "basic_cnn_regularised"})
TARGET_TITLES = {"mnist": "MNIST", "fashion_mnist": "Fashion-MNIST"}


@dataclass(frozen=True)
class GradedRun:
    """What grading needs of one run of the sweep."""

    model: str  # the sweep's label of the architecture variant (e.g. "cnn 32x1p-64x1p bn dropout=0.3")
    optimizer: str  # the sweep's optimizer choice (sgd_momentum, adam, ...)
    config: dict  # the run's TrainConfig as stored
    status: str
    test_accuracy: float | None


@dataclass(frozen=True)
class Point:
    """One grading point: met or not, and what in the runs decided it."""

    label: str
    met: bool
    detail: str


def has_dropout(config: dict) -> bool:
    """The run's model has a Dropout layer (a custom builder's option, or a preset that fixes one)."""
    return float((config.get("arch_options") or {}).get("dropout") or 0) > 0 \
        or config.get("architecture") in PRESETS_WITH_DROPOUT


def has_batch_norm(config: dict) -> bool:
    """The run's model has BatchNormalization layers."""
    return bool((config.get("arch_options") or {}).get("batch_norm")) \
        or config.get("architecture") in PRESETS_WITH_BATCH_NORM


def _count(label: str, values: set, need: int, noun: str) -> Point:
    shown = ", ".join(sorted(map(str, values))[:6]) or "none"
    return Point(label, len(values) >= need, f"{len(values)} {noun}: {shown}")


def _target(dataset: str, runs: list[GradedRun]) -> Point:
    goal = ASSIGNMENT_TARGETS[dataset]
    label = f"{TARGET_TITLES[dataset]} ≥ {goal:.1%} test accuracy"
    scores = [r.test_accuracy for r in runs if r.config.get("dataset") == dataset and r.status == "succeeded"
              and r.test_accuracy is not None]
    if not scores:
        return Point(label, False, f"no finished run on {TARGET_TITLES[dataset]} yet")
    best = max(scores)
    return Point(label, best >= goal, f"best test accuracy {best:.2%}")


def grade(runs: list[GradedRun]) -> list[Point]:
    """The eight points for these runs, in the course's order."""
    configs = [r.config for r in runs]
    random_split = bool(configs) and all(c.get("split_mode") == "random" and float(c.get("validation_split") or 0) > 0
                                         for c in configs)
    trials_with = lambda test: sorted({r.model for r in runs if test(r.config)})  # noqa: E731
    dropout, batch_norm = trials_with(has_dropout), trials_with(has_batch_norm)
    return [
        Point("Random train/validation split", random_split,
              "every run holds out a random, stratified validation share" if random_split
              else "a run uses the last share (Keras' split) or no validation"),
        _count("At least 3 models", {r.model for r in runs}, 3, "models"),
        Point("A model with Dropout", bool(dropout), ", ".join(dropout) or "no model has Dropout"),
        Point("A model with BatchNormalization", bool(batch_norm), ", ".join(batch_norm) or "no model has BatchNorm"),
        _count("At least 3 optimizers", {r.optimizer for r in runs}, 3, "optimizers"),
        _count("At least 2 learning rates", {float(c.get("learning_rate", 0)) for c in configs}, 2, "learning rates"),
        _target("mnist", runs),
        _target("fashion_mnist", runs),
    ]


def score(points: list[Point]) -> str:
    """'7 of 8: full marks' (the course gives full marks from seven)."""
    met = sum(p.met for p in points)
    return f"{met} of {len(points)}" + (": full marks" if met >= FULL_MARKS else f" (full marks from {FULL_MARKS})")
