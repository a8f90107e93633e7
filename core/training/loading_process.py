"""A student's checked model file, loaded in a short-lived process of its own (core/training/model_loading.py):
whatever Keras or HDF5 do with the file happens there, bounded in time, memory and temporary files, and ends with
it; the caller reads one JSON line back (bounded too). At most LOADS_AT_ONCE such processes run at once in a
server process. Never in the Streamlit process; a worker loads a file to train it only after it passed here."""
from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import numpy as np

from core.errors import Refusal
from core.settings import PROJECT_ROOT
from core.training.inspection import LayerMaps

LOAD_SECONDS = 120
MAX_ANSWER = 1024 * 1024
BASE_MEMORY = 2 * 2**30  # TensorFlow and Keras loaded, a small model: measured to fit in 2 GB of address space
BYTES_PER_PARAMETER = 12  # a float32 weight, its initial value and the file's copy of it
LOADS_AT_ONCE = 2
WAIT_SECONDS = 30
_loads = threading.BoundedSemaphore(LOADS_AT_ONCE)


class LoadRefused(Refusal, ValueError):
    """Keras could not load a checked model file, or it is too big; the message says why, in one line."""


class LoadersBusy(LoadRefused):
    """Every loading process is taken for longer than a caller waits: nothing is wrong with the file; later."""


def _limits(max_params: int):
    """Run in the child before it starts: its address space bounded, so a file asking for more memory than a model
    of `max_params` parameters needs fails with MemoryError there instead of swapping the server."""
    limit = BASE_MEMORY + BYTES_PER_PARAMETER * max_params

    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    return apply


def _said(error: str) -> str:
    """The child's one-line reason as a student reads it: no advice to turn Keras' safe mode off."""
    if "safe_mode" in error or "unsafe" in error:
        return "it asks for something Keras only loads with its safe mode off, which Train Lab never does"
    if error.startswith(("MemoryError", "ResourceExhaustedError")) or " OOM " in error:
        return "it needs more memory than a model within this lab's parameter limit"
    return error


def load_in_process(path: Path, max_params: int, timeout: float = LOAD_SECONDS, extra: tuple = ()) -> dict:
    """The description of model file `path` loaded in a process of its own (layers, parameters, input shape,
    classes); LoadRefused in one line when it cannot be loaded, is too big, or takes longer than `timeout`.
    `extra` arguments ask the process for something else of the loaded model (its feature maps)."""
    if not _loads.acquire(timeout=WAIT_SECONDS):
        raise LoadersBusy(f"model: {LOADS_AT_ONCE} model files are being checked right now; try again in a minute")
    scratch = tempfile.mkdtemp(prefix="trainlab-model-")  # the child's temporary files: removed here even if killed
    try:
        env = {k: v for k, v in os.environ.items() if k.startswith(("PATH", "HOME", "LANG", "LC_", "TF_", "KERAS_"))}
        # oneDNN's allocator retries a failed allocation for seconds; TensorFlow's own fails at once (a file asking
        # for gigabytes is refused in 4 s instead of 14), and describing a model needs no fast kernels.
        env.update(TMPDIR=scratch, TF_CPP_MIN_LOG_LEVEL=env.get("TF_CPP_MIN_LOG_LEVEL", "3"), TF_ENABLE_ONEDNN_OPTS="0")
        done = subprocess.run([sys.executable, "-m", "core.training.model_loading", str(path), str(max_params),
                               *map(str, extra)],
                              cwd=PROJECT_ROOT, env=env, capture_output=True, timeout=timeout,
                              stdin=subprocess.DEVNULL, preexec_fn=_limits(max_params))
    except subprocess.TimeoutExpired:
        raise LoadRefused(f"model: loading it took longer than {timeout:.0f} s; it is not loaded") from None
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        _loads.release()
    lines = done.stdout[-MAX_ANSWER:].decode(errors="replace").strip().splitlines()
    try:
        answer = json.loads(lines[-1])
    except (IndexError, ValueError):
        raise LoadRefused(f"model: the process loading it ended without an answer (exit code {done.returncode}: "
                          "out of memory, or killed)") from None
    if not answer.get("ok"):
        raise LoadRefused(f"model: Keras could not load it ({_said(str(answer.get('error', 'no reason given')))})")
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
