"""Download a Keras dataset in a separate process, with progress read from the growing files.

Keras' loaders download without a progress hook, and importing them would load TensorFlow
into the UI, so `python -m core download KEY` does the work and this module watches the
Keras cache grow against the expected download size.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Callable

from core.data.keras_cache import KERAS_DATASETS, find_folder
from core.settings import PROJECT_ROOT, Settings, load_settings


@dataclass(frozen=True)
class DownloadResult:
    """How a download ended: ok, and a one-line message to show."""

    ok: bool
    message: str


def _cache_bytes(settings: Settings) -> int:
    folder = settings.keras_home / "datasets"
    if not folder.is_dir():
        return 0
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())


def run_download(key: str, on_progress: Callable[[float, float], None] | None = None,
                 settings: Settings | None = None, timeout: float = 3600) -> DownloadResult:
    """Download dataset `key` into the Keras cache; `on_progress(fraction, megabytes)` as it grows."""
    settings = settings or load_settings()
    if key not in KERAS_DATASETS:
        return DownloadResult(False, f"dataset: {key!r} is not a Keras dataset that can be downloaded")
    dataset = KERAS_DATASETS[key]
    if find_folder(key, settings):
        return DownloadResult(True, f"{dataset.title} is already on this machine")
    start_bytes = _cache_bytes(settings)
    process = subprocess.Popen(
        [sys.executable, "-m", "core", "download", key], cwd=PROJECT_ROOT,
        env={**os.environ, "KERAS_HOME": str(settings.keras_home), "TF_CPP_MIN_LOG_LEVEL": "3"},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    deadline = time.monotonic() + timeout
    while process.poll() is None and time.monotonic() < deadline:
        if on_progress:
            megabytes = max(0, _cache_bytes(settings) - start_bytes) / 2**20
            # Archives are extracted after the download, so the count can pass the size: cap it.
            on_progress(min(0.99, megabytes / dataset.download_mb), megabytes)
        time.sleep(0.5)
    if process.poll() is None:
        process.kill()
        return DownloadResult(False, f"dataset: downloading {dataset.title} took over {timeout:.0f} s; stopped")
    output = (process.stdout.read() if process.stdout else "").strip().splitlines()
    if process.returncode == 0 and find_folder(key, settings):
        return DownloadResult(True, f"{dataset.title} downloaded to {find_folder(key, settings)}")
    last = next((line for line in reversed(output) if line.startswith(("error:", "dataset:"))), "")
    return DownloadResult(False, last.removeprefix("error: ") or f"dataset: downloading {dataset.title} failed")
