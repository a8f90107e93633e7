"""The assignment's eight grading points, ticked from what a sweep's runs actually contain and reached.

The course grades the hyperparameter assignment on eight points and gives full marks for seven: a
random train/validation split; at least three models; one with Dropout; one with BatchNormalization;
at least three optimizers; at least two learning rates; and the test accuracy targets on MNIST and
Fashion-MNIST. Each point is decided from the runs' own settings, never from the sweep's name, and names
the runs that earned it. The search points judge the search the student ran (the trials): retraining
the best setting on train + validation, as the assignment asks, never costs a point.
"""
from __future__ import annotations

from dataclasses import dataclass

from core.domain.statuses import SUCCEEDED
from core.domain.sweep_spec import ASSIGNMENT_TARGETS
from core.domain.wording import counted, share

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
    run: int = 0  # the run's id, to name the runs that earned a point
    role: str = "trial"  # "trial" of the search, or "retrain" of its best setting on train + validation


@dataclass(frozen=True)
class Point:
    """One grading point: met or not, what in the runs decided it, and which runs earned it."""

    label: str
    met: bool
    detail: str
    runs: tuple[int, ...] = ()


def has_dropout(config: dict) -> bool:
    """The run's model has a Dropout layer (a custom builder's option, or a preset that fixes one)."""
    return float((config.get("arch_options") or {}).get("dropout") or 0) > 0 \
        or config.get("architecture") in PRESETS_WITH_DROPOUT


def has_batch_norm(config: dict) -> bool:
    """The run's model has BatchNormalization layers."""
    return bool((config.get("arch_options") or {}).get("batch_norm")) \
        or config.get("architecture") in PRESETS_WITH_BATCH_NORM


def _count(label: str, runs: list[GradedRun], key, need: int, noun: str) -> Point:
    """At least `need` different `key(run)` values: the first run of each earned it."""
    first: dict = {}
    for run in runs:
        first.setdefault(key(run), run.run)
    shown = ", ".join(sorted(map(str, first))[:6]) or "none"
    return Point(label, len(first) >= need, f"{counted(len(first), noun)}: {shown}", tuple(first.values()))


def _target(dataset: str, runs: list[GradedRun]) -> Point:
    goal = ASSIGNMENT_TARGETS[dataset]
    label = f"{TARGET_TITLES[dataset]} ≥ {share(goal, 1)} test accuracy"
    scored = [r for r in runs if r.config.get("dataset") == dataset and r.status == SUCCEEDED
              and r.test_accuracy is not None]
    if not scored:
        return Point(label, False, f"no finished run on {TARGET_TITLES[dataset]} yet")
    best = max(scored, key=lambda r: r.test_accuracy)
    return Point(label, best.test_accuracy >= goal, f"best test accuracy {share(best.test_accuracy)}", (best.run,))


def grade(runs: list[GradedRun]) -> list[Point]:
    """The eight points for these runs, in the course's order: the search's points from its trials (all the
    runs when none is marked a trial), the targets from every run, retrains included."""
    trials = [r for r in runs if r.role == "trial"] or runs
    random_split = bool(trials) and all(
        r.config.get("split_mode") == "random" and float(r.config.get("validation_split") or 0) > 0 for r in trials)
    dropout = [r for r in trials if has_dropout(r.config)]
    batch_norm = [r for r in trials if has_batch_norm(r.config)]
    models = lambda chosen: ", ".join(sorted({r.model for r in chosen}))  # noqa: E731
    return [
        Point("Random train/validation split", random_split,
              "every trial holds out a random, stratified validation share" if random_split
              else "a trial uses the last share (Keras' split) or no validation",
              tuple(r.run for r in trials) if random_split else ()),
        _count("At least 3 models", trials, lambda r: r.model, 3, "model"),
        Point("A model with Dropout", bool(dropout), models(dropout) or "no model has Dropout",
              tuple(r.run for r in dropout)),
        Point("A model with BatchNormalization", bool(batch_norm), models(batch_norm) or "no model has BatchNorm",
              tuple(r.run for r in batch_norm)),
        _count("At least 3 optimizers", trials, lambda r: r.optimizer, 3, "optimizer"),
        _count("At least 2 learning rates", trials, lambda r: float(r.config.get("learning_rate", 0)), 2,
               "learning rate"),
        _target("mnist", runs),
        _target("fashion_mnist", runs),
    ]


def score(points: list[Point]) -> str:
    """'7 of 8: full marks' (the course gives full marks from seven)."""
    met = sum(p.met for p in points)
    return f"{met} of {len(points)}" + (": full marks" if met >= FULL_MARKS else f" (full marks from {FULL_MARKS})")
