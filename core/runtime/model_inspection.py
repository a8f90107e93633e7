"""A student's checked model file, loaded in a short-lived process of its own (core/training/model_loading.py):
whatever Keras or HDF5 do with the file happens there, bounded in time, and ends with it; the caller reads one
JSON line back (bounded too). Never in the Streamlit process, never in a long-lived worker."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from core.errors import Refusal
from core.settings import PROJECT_ROOT

LOAD_SECONDS = 120
MAX_ANSWER = 1024 * 1024


class LoadRefused(Refusal, ValueError):
    """Keras could not load a checked model file, or it is too big; the message says why, in one line."""


def load_in_process(path: Path, max_params: int, timeout: float = LOAD_SECONDS) -> dict:
    """The description of model file `path` loaded in a process of its own (layers, parameters, input shape,
    classes); LoadRefused in one line when it cannot be loaded, is too big, or takes longer than `timeout`."""
    env = {k: v for k, v in os.environ.items() if k.startswith(("PATH", "HOME", "LANG", "LC_", "TF_", "KERAS_"))}
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        done = subprocess.run([sys.executable, "-m", "core.training.model_loading", str(path), str(max_params)],
                              cwd=PROJECT_ROOT, env=env, capture_output=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise LoadRefused(f"model: loading it took longer than {timeout:.0f} s; it is not loaded") from None
    lines = done.stdout[-MAX_ANSWER:].decode(errors="replace").strip().splitlines()
    try:
        answer = json.loads(lines[-1])
    except (IndexError, ValueError):
        raise LoadRefused(f"model: the process loading it ended without an answer (exit code {done.returncode}: "
                          "out of memory, or killed)") from None
    if not answer.get("ok"):
        raise LoadRefused(f"model: Keras could not load it ({answer.get('error', 'no reason given')})")
    return answer
