"""What the benchmarks share: a throw-away lab with full-size synthetic data, the worker pool,
waiting for runs, and reading a process's memory."""
from __future__ import annotations

import json
import os
import platform
import shutil
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from core.settings import Settings, load_settings

# Full-size shapes: Fashion-MNIST 60,000 + 10,000 of 28x28x1; CIFAR-10 50,000 + 10,000 of 32x32x3.
FASHION_TRAIN, FASHION_TEST = 60_000, 10_000
CIFAR_PER_BATCH, CIFAR_TEST = 10_000, 10_000


def machine() -> str:
    """One line on the machine the figures come from."""
    import tensorflow as tf

    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (f"{platform.machine()}, {os.cpu_count()} CPU cores, {memory:.0f} GiB, "
            f"Python {platform.python_version()}, TensorFlow {tf.__version__} (CPU)")


def write_rows(path: Path, started: str, rows: list[dict]) -> None:
    """A figure's rows as JSON, with when it started and the machine it ran on (bench/out/ is not committed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"date": started, "machine": machine(), "rows": rows}, indent=2))


DEBIAN_FASHION = Path("/usr/share/datasets/fashion-mnist")  # apt-get install dataset-fashion-mnist


class Lab:
    """A temporary TRAINLAB_HOME with Fashion-MNIST- and CIFAR-10-shaped data, removed at the end."""

    def __init__(self, root: Path | None = None):
        self.root = Path(root or tempfile.mkdtemp(prefix="trainlab-bench-"))
        self.data = self.root / "data"
        self._made = False

    def make_data(self) -> None:
        """Write the synthetic datasets once (about 10 s)."""
        if self._made:
            return
        from core.data.synthetic import make_cifar10, make_fashion_files

        make_fashion_files(self.data / "fashion", FASHION_TRAIN, FASHION_TEST)
        make_cifar10(self.data / "keras" / "datasets" / "cifar-10-batches-py", CIFAR_PER_BATCH, CIFAR_TEST)
        self._made = True

    @contextmanager
    def home(self, name: str, workers: int = 2) -> Iterator[Settings]:
        """Environment for one figure: its own store, queue and pool settings."""
        env = {"TRAINLAB_HOME": str(self.root / name), "TRAINLAB_WORKERS": str(workers),
               "TRAINLAB_AUTOSTART_WORKERS": "1", "TRAINLAB_FASHION_MNIST_DIR": str(self.data / "fashion"),
               "KERAS_HOME": str(self.data / "keras"), "TF_CPP_MIN_LOG_LEVEL": "2"}
        before = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        try:
            yield load_settings()
        finally:
            for key, value in before.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value

    def remove(self) -> None:
        """Delete the lab's folder and everything in it."""
        shutil.rmtree(self.root, ignore_errors=True)


def start_pool(settings: Settings, timeout: float = 60) -> None:
    """Start the worker pool and wait until its workers have imported TensorFlow."""
    from core.runtime import worker

    worker.ensure_running(settings)
    deadline = time.monotonic() + timeout
    while not worker.status(settings).running:
        if time.monotonic() > deadline:
            raise RuntimeError("the worker pool did not start")
        time.sleep(0.1)
    time.sleep(8)  # each worker imports TensorFlow after it starts: let that finish before timing


def stop_pool(settings: Settings) -> None:
    """Stop the lab's worker pool."""
    from core.runtime import worker

    worker.stop(settings)


def wait_finished(run_ids: list[int], settings: Settings, timeout: float = 3600):
    """Wait until every run has ended; returns the runs (RuntimeError if one failed)."""
    from core.services import jobs

    deadline = time.monotonic() + timeout
    while True:
        runs = [jobs.get_run(i, settings) for i in run_ids]
        if all(r.is_finished for r in runs):
            failed = [r for r in runs if r.status != "succeeded"]
            if failed:
                raise RuntimeError(f"run #{failed[0].id} {failed[0].status}: {failed[0].error}")
            return runs
        if time.monotonic() > deadline:
            raise RuntimeError(f"runs {run_ids} did not finish in {timeout:.0f} s")
        time.sleep(0.2)


def rss_mb(pid: int) -> tuple[float, float]:
    """(current RSS, peak RSS) of a process in MB, from /proc."""
    values = {}
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(rest.split()[0]) / 1024
    return values.get("VmRSS", 0.0), values.get("VmHWM", 0.0)
