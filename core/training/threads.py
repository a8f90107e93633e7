"""TensorFlow's process-wide setup for one worker: loading it early, its CPU threads, GPU memory growth."""
from __future__ import annotations

import contextlib
import os
import sys


def import_keras():
    """Keras, imported without the scikit-learn its `keras.wrappers` load at import (about 0.6 s of CPU, a sixth
    of the import, in every process that trains or loads a model; Train Lab never uses those wrappers).
    scikit-learn is only hidden while Keras imports: it stays importable afterwards (the digits dataset, sweeps),
    and Keras' own wrappers would say it is missing if anything called them. Call it before starting threads: for
    those seconds another thread's `import sklearn` would fail."""
    if "keras" not in sys.modules and "sklearn" not in sys.modules:
        sys.modules["sklearn"] = None  # `import sklearn` raises ImportError: Keras' wrappers define stand-ins
        try:
            import keras  # noqa: F401
        finally:
            sys.modules.pop("sklearn", None)
    import keras

    return keras


def import_tensorflow() -> None:
    """Import TensorFlow, Keras and the training code without starting TensorFlow (no operation, no device
    listed, so no thread pool or GPU context exists yet): a process forked after this has them loaded. The pool
    does it once before forking its workers, so a worker is warm in a fraction of a second instead of after
    seconds of import CPU each (and shares those pages with its siblings until it writes them)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import_keras()
    import tensorflow  # noqa: F401

    import core.training.fit  # noqa: F401


def yield_cpu(niceness: int) -> None:
    """Lower this training process's priority to `niceness` (never raise it: an unprivileged process cannot take
    it back), so that when the cores are busy the pages and the dispatcher answer first."""
    with contextlib.suppress(OSError):
        os.nice(max(0, niceness - os.nice(0)))


def load_tensorflow() -> None:
    """Import TensorFlow and Keras now, so the first run starts at once, and let GPUs grow their memory.

    The CPU threads are left open: they are fixed by `use_threads` when the worker takes its first run,
    from how many runs share the machine at that moment (TensorFlow fixes them at its first operation)."""
    import_tensorflow()
    import tensorflow as tf

    for gpu in tf.config.list_physical_devices("GPU"):
        # Let several workers share one GPU instead of the first grabbing all its memory.
        with contextlib.suppress(RuntimeError):
            tf.config.experimental.set_memory_growth(gpu, True)


def use_threads(threads: int) -> int:
    """Give TensorFlow `threads` CPU threads if this process has not run an operation yet; returns the
    threads it trains with (the earlier choice once TensorFlow has started)."""
    import tensorflow as tf

    with contextlib.suppress(RuntimeError):  # already initialised: keep the earlier choice
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        # As before this change and as TensorFlow does on two cores; one when the worker has one core.
        tf.config.threading.set_inter_op_parallelism_threads(min(2, threads))
    return tf.config.threading.get_intra_op_parallelism_threads() or (os.cpu_count() or 1)
