"""A student's checked model file, loaded in a short-lived process of its own (core/training/model_loading.py):
whatever Keras or HDF5 do with the file happens there, bounded in time, and ends with it; the caller reads one
JSON line back (bounded too). Never in the Streamlit process, never in a long-lived worker."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from core.errors import Refusal
from core.settings import PROJECT_ROOT
from core.training.inspection import LayerMaps

LOAD_SECONDS = 120
MAX_ANSWER = 1024 * 1024


class LoadRefused(Refusal, ValueError):
    """Keras could not load a checked model file, or it is too big; the message says why, in one line."""


def load_in_process(path: Path, max_params: int, timeout: float = LOAD_SECONDS, extra: tuple = ()) -> dict:
    """The description of model file `path` loaded in a process of its own (layers, parameters, input shape,
    classes); LoadRefused in one line when it cannot be loaded, is too big, or takes longer than `timeout`.
    `extra` arguments ask the process for something else of the loaded model (its feature maps)."""
    env = {k: v for k, v in os.environ.items() if k.startswith(("PATH", "HOME", "LANG", "LC_", "TF_", "KERAS_"))}
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        done = subprocess.run([sys.executable, "-m", "core.training.model_loading", str(path), str(max_params),
                               *map(str, extra)],
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


MAX_MAPS_BYTES = 64 * 1024 * 1024


def maps_in_process(path: Path, max_params: int, image: np.ndarray, limit: int) -> list[LayerMaps]:
    """Model file `path`'s feature maps for `image` (float32, its input), made in a process of its own with the
    file's own weights; read back as plain uint8 arrays (no pickles) and bounded in size."""
    with tempfile.TemporaryDirectory(prefix="trainlab-maps-") as folder:
        image_path, out = Path(folder) / "image.npy", Path(folder) / "maps.npz"
        np.save(image_path, np.asarray(image, dtype=np.float32), allow_pickle=False)
        answer = load_in_process(path, max_params, extra=(image_path, out, limit))
        if not out.is_file() or out.stat().st_size > MAX_MAPS_BYTES:
            raise LoadRefused("model: its feature maps were not made, or are larger than a page shows")
        with np.load(out, allow_pickle=False) as arrays:
            return [LayerMaps(str(m["name"]), str(m["kind"]), tuple(int(d) for d in m["shape"]),
                              tuple(arrays[f"layer{i}"].astype(np.uint8)))
                    for i, m in enumerate(answer.get("maps", []))]
