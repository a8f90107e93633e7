"""TensorFlow's process-wide setup for one worker: its CPU threads and GPU memory growth."""
from __future__ import annotations

import contextlib
import os


def configure_tensorflow(threads: int) -> None:
    """Import TensorFlow and Keras now (so the first run starts at once) and give TensorFlow `threads` CPU threads."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    # Several workers share the CPU: give each its share so they do not thrash.
    with contextlib.suppress(RuntimeError):  # already initialised: keep TensorFlow's choice
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(min(2, threads))
    for gpu in tf.config.list_physical_devices("GPU"):
        # Let several workers share one GPU instead of the first grabbing all its memory.
        with contextlib.suppress(RuntimeError):
            tf.config.experimental.set_memory_growth(gpu, True)
    import keras  # noqa: F401
