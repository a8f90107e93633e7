"""Subsets and splits of labelled data: stratified, reproducible from a seed.

The course trains on subsets (CIFAR-10: 7,500 train / 500 test images) and grades the
randomness of the train/validation split, so every function here is seeded and returns
indices into the original arrays, never copies of the images.
"""
from __future__ import annotations

import numpy as np


def stratified_subset(labels: np.ndarray, size: int | None, seed: int) -> np.ndarray:
    """Indices of `size` samples drawn so every class keeps its share (and at least one sample
    while size allows); None or size >= len(labels) returns every index, shuffled."""
    rng = np.random.default_rng(seed)
    n = len(labels)
    if size is None or size >= n:
        return rng.permutation(n)
    classes, counts = np.unique(labels, return_counts=True)
    # 1. Proportional quotas, rounded down; every class gets one sample first when size allows.
    quotas = np.floor(counts * size / n).astype(int)
    if size >= len(classes):
        quotas = np.maximum(quotas, 1)
    quotas = np.minimum(quotas, counts)
    # 2. Hand out what rounding left over (or take back any excess) by the largest remainders.
    remainders = counts * size / n - quotas
    order = np.argsort(-remainders, kind="stable")
    i = 0
    while quotas.sum() < size:
        c = order[i % len(order)]
        if quotas[c] < counts[c]:
            quotas[c] += 1
        i += 1
    for c in order[::-1]:
        while quotas.sum() > size and quotas[c] > 1:
            quotas[c] -= 1
    # 3. Draw each class's quota at random.
    chosen = [rng.choice(np.flatnonzero(labels == c), q, replace=False) for c, q in zip(classes, quotas) if q]
    return rng.permutation(np.concatenate(chosen))


def train_validation_split(labels: np.ndarray, fraction: float, seed: int, mode: str = "random"
                           ) -> tuple[np.ndarray, np.ndarray]:
    """(train, validation) positions into `labels`.

    mode "random": a seeded, stratified random split (what the course asks for).
    mode "keras": the last `fraction` of the samples, in order, as Keras' `validation_split` does.
    """
    n = len(labels)
    n_val = int(round(n * fraction))
    if n_val == 0:
        return np.arange(n), np.arange(0)
    if mode == "keras":
        return np.arange(n - n_val), np.arange(n - n_val, n)
    if mode != "random":
        raise ValueError(f"split mode must be 'random' or 'keras'; got {mode!r}")
    val = stratified_subset(labels, n_val, seed + 1)  # another stream than the subset's
    mask = np.ones(n, dtype=bool)
    mask[val] = False
    return np.random.default_rng(seed + 2).permutation(np.flatnonzero(mask)), val
