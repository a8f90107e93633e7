"""A student's checked model file, loaded in a short-lived process of its own (core/training/model_loading.py):
whatever Keras or HDF5 do with the file happens there, bounded in time, memory and temporary files, and ends with
it; the caller reads one JSON line back (bounded too). That process is forked from this server process's warm
loader (core/training/loading_server.py: Keras imported once), or started for the file where there is none. At
most LOADS_AT_ONCE run at once in a server process. Never in the Streamlit process; a worker loads a file to train
it only after it passed here."""
from __future__ import annotations

import atexit
import contextlib
import json
import logging
import os
import resource
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
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
log = logging.getLogger(__name__)


class LoadRefused(Refusal, ValueError):
    """Keras could not load a checked model file, or it is too big; the message says why, in one line."""


class LoadersBusy(LoadRefused):
    """Every loading process is taken for longer than a caller waits: nothing is wrong with the file; later."""


def _limits(max_params: int):
    """Run in the child before it starts: its address space bounded, so a file asking for more memory than a model
    of `max_params` parameters needs fails with MemoryError there instead of swapping the server (the warm loader's
    children bound themselves the same way)."""
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


def _child_env(scratch: str | None = None) -> dict:
    """A loading process's environment: none of the server's secrets (a database URL, a key), quiet TensorFlow."""
    env = {k: v for k, v in os.environ.items() if k.startswith(("PATH", "HOME", "LANG", "LC_", "TF_", "KERAS_"))}
    # oneDNN's allocator retries a failed allocation for seconds; TensorFlow's own fails at once (a file asking
    # for gigabytes is refused in 4 s instead of 14), and describing a model needs no fast kernels.
    env.update(TF_CPP_MIN_LOG_LEVEL=env.get("TF_CPP_MIN_LOG_LEVEL", "3"), TF_ENABLE_ONEDNN_OPTS="0")
    if scratch:
        env["TMPDIR"] = scratch
    return env


def _took_too_long(timeout: float) -> LoadRefused:
    return LoadRefused(f"model: loading it took longer than {timeout:.0f} s; it is not loaded")


class _WarmLoader:
    """The warm loader of this server process (core/training/loading_server.py), started at its first use and again
    if it died; stopped when this process exits (and it ends by itself, with its children, when this process's end
    closes its stdin). Linux only: forking after TensorFlow's import is not safe on macOS."""

    START_SECONDS = 120

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._process: subprocess.Popen | None = None
        self._owner, self._folder, self._broken, self._registered = 0, "", False, False

    def load(self, argv: list[str], scratch: str, memory: int, timeout: float) -> bytes | None:
        """What a forked child printed loading `argv`; None when there is no warm loader to ask here (or it ended
        before answering): the caller then starts a process for the file itself."""
        path = self._socket()
        if path is None:
            return None
        deadline, received, sent = time.monotonic() + timeout, bytearray(), False
        request = {"argv": argv, "scratch": scratch, "memory": memory, "seconds": timeout}
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            try:
                conn.settimeout(timeout)
                conn.connect(path)
                conn.sendall(json.dumps(request).encode() + b"\n")
                sent = True
                while chunk := conn.recv(65536):
                    received += chunk
                    del received[:-MAX_ANSWER]
                    conn.settimeout(max(0.01, deadline - time.monotonic()))
            except TimeoutError:  # the loader kills the child at the same deadline
                raise _took_too_long(timeout) from None
            except OSError as exc:
                if sent and self._alive():  # the child's connection broke as it died: the file's doing
                    return bytes(received)
                log.warning("warm model loader unreachable (%s); loading in a process of its own", exc)
                return None
        if not received and not self._alive():  # the loader itself ended (not the child): no fault of the file
            return None
        return bytes(received)

    def _alive(self) -> bool:
        return self._process is not None and self._owner == os.getpid() and self._process.poll() is None

    def _socket(self) -> str | None:
        with self._lock:
            if self._alive():
                return os.path.join(self._folder, "socket")
            if self._broken or not sys.platform.startswith("linux"):
                return None
            try:
                return self._start()
            except OSError as exc:
                log.warning("warm model loader did not start (%s); each model file loads in a process of its own",
                            exc)
                self._broken = True
                return None

    def _start(self) -> str | None:
        self.stop()  # a loader that died: its folder goes too
        self._folder = tempfile.mkdtemp(prefix="trainlab-loader-")  # only this user may enter it
        if len(self._folder) > 90:  # a Unix socket's path holds ~100 bytes
            shutil.rmtree(self._folder, ignore_errors=True)
            self._folder = tempfile.mkdtemp(prefix="trainlab-loader-", dir="/tmp")
        path = os.path.join(self._folder, "socket")
        self._process = subprocess.Popen([sys.executable, "-m", "core.training.loading_server", path],
                                         cwd=PROJECT_ROOT, env=_child_env(), stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self._owner = os.getpid()
        if not self._registered:
            atexit.register(self.stop)
            self._registered = True
        deadline = time.monotonic() + self.START_SECONDS
        while select.select([self._process.stdout], [], [], max(0.0, deadline - time.monotonic()))[0]:
            line = self._process.stdout.readline()
            if line.strip() == b"ready":
                return path
            if not line:  # it ended
                break
        log.warning("warm model loader did not start; each model file loads in a process of its own")
        self.stop()
        self._broken = True
        return None

    def stop(self) -> None:
        """End the loader (it kills its children in flight) and remove its socket's folder."""
        process, self._process = self._process, None
        if process is not None and self._owner == os.getpid():
            with contextlib.suppress(OSError):
                process.stdin.close()
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._folder and self._owner == os.getpid():
            shutil.rmtree(self._folder, ignore_errors=True)
            self._folder = ""


_warm = _WarmLoader()


def _load_cold(argv: list[str], scratch: str, max_params: int, timeout: float) -> tuple[bytes, int]:
    """What a process started for this one file printed, and its exit code (no warm loader here)."""
    try:
        done = subprocess.run([sys.executable, "-m", "core.training.model_loading", *argv], cwd=PROJECT_ROOT,
                              env=_child_env(scratch), capture_output=True, timeout=timeout,
                              stdin=subprocess.DEVNULL, preexec_fn=_limits(max_params))
    except subprocess.TimeoutExpired:
        raise _took_too_long(timeout) from None
    return done.stdout[-MAX_ANSWER:], done.returncode


def load_in_process(path: Path, max_params: int, timeout: float = LOAD_SECONDS, extra: tuple = ()) -> dict:
    """The description of model file `path` loaded in a process of its own (layers, parameters, input shape,
    classes); LoadRefused in one line when it cannot be loaded, is too big, or takes longer than `timeout`.
    `extra` arguments ask the process for something else of the loaded model (its feature maps)."""
    if not _loads.acquire(timeout=WAIT_SECONDS):
        raise LoadersBusy(f"model: {LOADS_AT_ONCE} model files are being checked right now; try again in a minute")
    scratch = tempfile.mkdtemp(prefix="trainlab-model-")  # the child's temporary files: removed here even if killed
    argv = [str(path), str(max_params), *map(str, extra)]
    try:
        output = _warm.load(argv, scratch, BASE_MEMORY + BYTES_PER_PARAMETER * max_params, timeout)
        ended = "out of memory, or killed"
        if output is None:
            output, code = _load_cold(argv, scratch, max_params, timeout)
            ended = f"exit code {code}: {ended}"
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        _loads.release()
    lines = output.decode(errors="replace").strip().splitlines()
    try:
        answer = json.loads(lines[-1])
    except (IndexError, ValueError):
        raise LoadRefused(f"model: the process loading it ended without an answer ({ended})") from None
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
