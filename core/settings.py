"""Settings read from environment variables, in one place, with sane defaults.

Every knob a teacher or a test may want to turn lives here, so nothing else in the
project reads `os.environ` for configuration.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent  # the checkout: app.py, core/, assets/


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"{name} must be a whole number; got {raw!r}") from None


def _float(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError:
        raise ValueError(f"{name} must be a number; got {raw!r}") from None


def _bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name, "").strip().lower()
    if not raw:
        return default
    return raw not in ("0", "false", "no", "off")


@dataclass(frozen=True)
class Settings:
    """Resolved configuration for one process."""

    home: Path  # data folder: the run store, the queue, run folders, logs
    workers: int  # how many runs train at the same time
    max_epochs: int  # cap on epochs per run, so nobody queues a week-long job by accident
    max_sweep_runs: int  # cap on the runs one sweep may queue
    worker_max_mb: int  # a worker holding more memory than this after a run is replaced by a fresh one
    heartbeat_interval: float  # seconds between a worker's "still alive" writes
    heartbeat_timeout: float  # a running run silent this long is marked failed
    report_interval: float  # seconds between live metric points within an epoch
    poll_interval: float  # the longest a waiting worker sleeps before it looks for work
    autostart_workers: bool  # start the worker pool on demand from the app or the CLI
    keras_home: Path  # the Keras cache (`$KERAS_HOME`, else ~/.keras)
    fashion_mnist_dir: Path  # Debian's dataset-fashion-mnist files
    data_root: Path  # image-folder datasets live below this; the browser can name nothing outside it
    max_upload_mb: int  # largest .npz / .zip a user may upload
    max_params: int  # largest model (all parameters) a run or the Models page may build
    samples_dir: Path | None  # a user's own photos, offered on the Augment page beside the shipped dog and cat

    @property
    def db_path(self) -> Path:
        """The SQLite run store."""
        return self.home / "trainlab.db"

    @property
    def queue_path(self) -> Path:
        """Huey's SQLite queue."""
        return self.home / "queue.db"

    @property
    def uploads_dir(self) -> Path:
        """Uploaded .npz datasets (zips are unpacked below `data_root/uploads`)."""
        return self.home / "uploads"

    @property
    def runs_dir(self) -> Path:
        """Folder holding one sub-folder per run (model file, logs)."""
        return self.home / "runs"

    @property
    def logs_dir(self) -> Path:
        """Folder for the worker pool's log file."""
        return self.home / "logs"

    @property
    def threads_per_worker(self) -> int:
        """CPU threads one worker's TensorFlow may use, so workers do not oversubscribe."""
        return max(1, (os.cpu_count() or 1) // max(1, self.workers))


def load_settings() -> Settings:
    """Read the settings from the environment (cheap; call it where needed)."""
    home = Path(os.environ.get("TRAINLAB_HOME") or Path.home() / ".trainlab").expanduser()
    keras_home = Path(os.environ.get("KERAS_HOME") or Path.home() / ".keras").expanduser()
    return Settings(
        home=home,
        workers=max(1, _int("TRAINLAB_WORKERS", 2)),
        max_epochs=max(1, _int("TRAINLAB_MAX_EPOCHS", 200)),
        max_sweep_runs=max(1, _int("TRAINLAB_MAX_SWEEP_RUNS", 200)),
        worker_max_mb=max(256, _int("TRAINLAB_WORKER_MAX_MB", 1536)),
        heartbeat_interval=_float("TRAINLAB_HEARTBEAT_INTERVAL", 2.0),
        heartbeat_timeout=_float("TRAINLAB_HEARTBEAT_TIMEOUT", 30.0),
        report_interval=_float("TRAINLAB_REPORT_INTERVAL", 0.5),
        poll_interval=_float("TRAINLAB_POLL_INTERVAL", 0.25),
        autostart_workers=_bool("TRAINLAB_AUTOSTART_WORKERS", True),
        keras_home=keras_home,
        fashion_mnist_dir=Path(
            os.environ.get("TRAINLAB_FASHION_MNIST_DIR") or "/usr/share/datasets/fashion-mnist"
        ),
        data_root=Path(os.environ.get("TRAINLAB_DATA_ROOT") or home / "datasets").expanduser(),
        max_upload_mb=max(1, _int("TRAINLAB_MAX_UPLOAD_MB", 200)),
        # 200 M float32 parameters are 800 MB, about 3.2 GB while training with Adam's two moments.
        max_params=max(1, _int("TRAINLAB_MAX_PARAMS", 200_000_000)),
        samples_dir=_samples_dir(),
    )


def _samples_dir() -> Path | None:
    """$TRAINLAB_SAMPLES_DIR, if set: the course's photos ship in assets/ and need no setting."""
    value = os.environ.get("TRAINLAB_SAMPLES_DIR")
    return Path(value).expanduser() if value else None
