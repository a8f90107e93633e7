"""The limits a teacher sets for students, and exam mode: what they are and how a submission meets them.

Each limit is a whole number or unset (no limit beyond the server's own settings). Teachers and the
operator are never limited. A refused submission names the limit and its value in one line.
"""
from __future__ import annotations

from dataclasses import dataclass, fields, replace

from core.errors import Refusal

# The CLI's names for the limits (python -m core limits set queued=5 ...), and what each one bounds.
LIMITS = {
    "queued": ("max_queued", "runs waiting in the queue at once"),
    "at-once": ("max_running", "runs training at the same time"),
    "epochs": ("max_epochs", "epochs per run"),
    "params": ("max_params", "parameters per model"),
    "sweep-runs": ("max_sweep_runs", "runs per sweep"),
}
SWITCHES = {"hide-others": ("hide_others_runs", "students see only their own runs (an exam)")}


class LimitError(Refusal, ValueError):
    """A submission over a class limit, or a limit that cannot be set; the message names it."""


@dataclass(frozen=True)
class ClassRules:
    """The teacher's limits for each student (None: no limit) and whether students see others' runs."""

    max_queued: int | None = None
    max_running: int | None = None
    max_epochs: int | None = None
    max_params: int | None = None
    max_sweep_runs: int | None = None
    hide_others_runs: bool = False

    def to_dict(self) -> dict:
        """Every field and its value, as the store keeps them."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_dict(cls, values: dict) -> ClassRules:
        """The rules from stored values (fields this version does not know are left out)."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})

    def with_setting(self, key: str, value: str) -> ClassRules:
        """These rules with `key=value` from the CLI or the teacher's page (value "none" clears a limit)."""
        if key in SWITCHES:
            field, _ = SWITCHES[key]
            flag = value.strip().lower()
            if flag not in ("on", "off", "1", "0", "true", "false", "yes", "no"):
                raise LimitError(f"{key}: use on or off; got {value!r}")
            return replace(self, **{field: flag in ("on", "1", "true", "yes")})
        if key not in LIMITS:
            raise LimitError(f"{key}: not a limit; use one of {', '.join([*LIMITS, *SWITCHES])}")
        field, _ = LIMITS[key]
        text = value.strip().lower().replace(",", "").replace("_", "")
        if text in ("none", "off", ""):
            return replace(self, **{field: None})
        if not text.isdigit() or int(text) < 1:
            raise LimitError(f"{key}: must be a whole number from 1 up, or none; got {value!r}")
        return replace(self, **{field: int(text)})

    def describe(self) -> list[tuple[str, str, str]]:
        """(name, value, meaning) of every limit and switch, for the CLI and the teacher's page."""
        rows = [(key, "none" if getattr(self, field) is None else f"{getattr(self, field):,}", meaning)
                for key, (field, meaning) in LIMITS.items()]
        rows += [(key, "on" if getattr(self, field) else "off", meaning) for key, (field, meaning) in SWITCHES.items()]
        return rows


def check_runs(rules: ClassRules, epochs: list[int], params: list[int], queued_now: int, in_one_sweep: bool) -> None:
    """Refuse (LimitError) a student's submission of runs with these `epochs` and `params`, given the
    `queued_now` runs they already have waiting."""
    new = len(epochs)
    if in_one_sweep and rules.max_sweep_runs is not None and new > rules.max_sweep_runs:
        raise LimitError(f"limit: this sweep has {new} runs, over the class limit of {rules.max_sweep_runs} runs per "
                         "sweep; choose fewer values or turn on early stopping")
    if rules.max_epochs is not None and max(epochs, default=0) > rules.max_epochs:
        raise LimitError(f"limit: {max(epochs)} epochs is over the class limit of {rules.max_epochs} epochs per run")
    if rules.max_params is not None and max(params, default=0) > rules.max_params:
        raise LimitError(f"limit: the model has {max(params):,} parameters, over the class limit of "
                         f"{rules.max_params:,}; use fewer or narrower layers")
    check_queue(rules.max_queued, queued_now, new)


def check_tracked_run(rules: ClassRules, epochs: int, params: int) -> None:
    """Refuse (LimitError) a student's own script's run over the class's limits on epochs and parameters (their
    runs at once are counted by the store, in the transaction that starts the run: core/store/tracked.py)."""
    check_runs(ClassRules(max_epochs=rules.max_epochs, max_params=rules.max_params), [epochs], [params], 0, False)


def check_queue(max_queued: int | None, queued_now: int, new: int) -> None:
    """Refuse (LimitError) `new` more queued runs of a student who has `queued_now` waiting, over `max_queued`.
    The store asks this again inside the transaction that adds them, so parallel submissions cannot overshoot."""
    if max_queued is not None and queued_now + new > max_queued:
        raise LimitError(f"limit: you have {queued_now} runs queued and this adds {new}, over the class limit of "
                         f"{max_queued} queued runs; wait for some to start, or cancel some")
