"""How a run from the user's own code (a tracked run: core/domain/statuses.py) shows on the pages: where it
came from, its layer table as its script's model had it, and why Train Lab cannot train it again."""
from __future__ import annotations

import shlex

import pandas as pd

from core.domain.statuses import TRACKED
from core.domain.tracked_runs import offline_note

NOT_AGAIN = ("It runs in your own code, not in Train Lab, so Train Lab cannot train it again or copy its settings "
             "into a form: run your script or notebook cell again to make a new run.")


NO_MODEL = ("Its model stays with your script. To hand it over, report with TrainLabCallback(save_model=True), "
            "autolog(save_model=True) or track --save-model: on this machine's lab its page then looks inside it; "
            "sent to the class's server it is checked and kept as your model file on the Models page.")


def is_tracked(run) -> bool:
    """Whether `run` trained outside Train Lab and reported in."""
    return run.kind == TRACKED


def source_text(run) -> str | None:
    """'From your own code: ex1.py --epochs 3 · model tiny_mlp · process 4242 on lab-pc-3', or None."""
    if not is_tracked(run):
        return None
    config = run.config_dict
    command = " ".join([config.get("script") or "a notebook", *map(shlex.quote, config.get("script_args") or [])])
    model = str(config.get("architecture", "")).removesuffix(" (own code)")
    where = f"process {run.worker_pid} on {run.worker_host}" if run.worker_pid else (run.worker_host or "")
    return " · ".join(part for part in (f"From your own code: {command}", model and f"model {model}", where) if part)


def offline_text(seconds: float) -> str | None:
    """What the page says of a reporter that could not reach Train Lab for a while."""
    note = offline_note(seconds)
    return note[:1].upper() + note[1:] + "." if note else None


def layer_frame(layers: list[dict]) -> pd.DataFrame:
    """The model's layers as its script reported them: name, type, output shape and parameters."""
    frame = pd.DataFrame(layers, columns=["name", "type", "output", "params"])
    return frame.rename(columns={"output": "output shape", "params": "parameters"})
