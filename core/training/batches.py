"""The tf.data pipelines a run trains, validates and is tested on: its images in memory, batched."""
from __future__ import annotations

import numpy as np

SCALED_IN_MEMORY_BYTES = 400 * 2**20  # images whose float32 copy is at most this are scaled once, up front
PIPELINE_THREADS, PREFETCH_BATCHES = 2, 2  # fixed, not tuned: see without_autotuning


def make_batches(x: np.ndarray, y: np.ndarray, batch_size: int, shuffle: bool, seed: int,
                 one_hot_classes: int | None = None):
    """A tf.data pipeline of images scaled to [0, 1] (and labels one-hot encoded, when asked). Images whose float32
    copy fits SCALED_IN_MEMORY_BYTES (Fashion-MNIST's 60,000: 188 MB) are scaled once, as a plain script does;
    larger sets stay uint8 until each batch is scaled, which holds a quarter of the memory but costs the loop
    ~15 % of a small model's speed on two cores (tf.data's per-batch work competes with training for them)."""
    import tensorflow as tf

    scaled = x.size * 4 <= SCALED_IN_MEMORY_BYTES
    ds = tf.data.Dataset.from_tensor_slices((x.astype(np.float32) / np.float32(255.0) if scaled else x, y))
    if shuffle:
        ds = ds.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size)
    if not scaled or one_hot_classes:
        def scale(images, labels):
            if not scaled:
                images = tf.cast(images, tf.float32) / 255.0
            if one_hot_classes:
                labels = tf.one_hot(labels, one_hot_classes)
            return images, labels

        ds = ds.map(scale, num_parallel_calls=PIPELINE_THREADS)
    return without_autotuning(ds.prefetch(PREFETCH_BATCHES))


def without_autotuning(ds):
    """`ds` with tf.data's autotuning off. Slicing arrays in memory has nothing to tune, and its optimizing thread
    made Keras wait 10-40 s at random epoch ends here (freeing an epoch's iterator waited on it, the process idle):
    a CNN's 3-epoch fit on 60,000 images took 59-124 s from run to run, and 59-67 s without it (bench/RESULTS.md,
    figure 19)."""
    import tensorflow as tf

    options = tf.data.Options()
    options.autotune.enabled = False
    return ds.with_options(options)
