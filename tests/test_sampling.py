"""Stratified subsets and splits: right sizes, every class present, reproducible, disjoint."""
import numpy as np
import pytest

from core.data.sampling import stratified_subset, train_validation_split

LABELS = np.repeat(np.arange(10), [100, 100, 100, 100, 100, 50, 50, 50, 25, 25])  # 700, imbalanced


@pytest.mark.parametrize("size", [10, 37, 70, 350, 699])
def test_subset_has_the_size_and_every_class(size):
    idx = stratified_subset(LABELS, size, seed=3)
    assert len(idx) == size and len(set(idx)) == size
    assert set(LABELS[idx]) == set(range(10))


def test_subset_keeps_class_shares():
    counts = np.bincount(LABELS[stratified_subset(LABELS, 140, seed=0)], minlength=10)
    assert counts.tolist() == [20, 20, 20, 20, 20, 10, 10, 10, 5, 5]  # 140/700 = 1/5 of each


def test_subset_is_reproducible_and_seed_dependent():
    a, b = stratified_subset(LABELS, 50, 7), stratified_subset(LABELS, 50, 7)
    np.testing.assert_array_equal(a, b)
    assert set(stratified_subset(LABELS, 50, 8)) != set(a)
    assert len(stratified_subset(LABELS, None, 1)) == 700


def test_random_split_is_stratified_disjoint_and_reproducible():
    train, val = train_validation_split(LABELS, 0.2, seed=5)
    assert len(val) == 140 and len(train) == 560 and not set(train) & set(val)
    assert np.bincount(LABELS[val], minlength=10).tolist() == [20, 20, 20, 20, 20, 10, 10, 10, 5, 5]
    train2, val2 = train_validation_split(LABELS, 0.2, seed=5)
    np.testing.assert_array_equal(val, val2)
    assert set(train_validation_split(LABELS, 0.2, seed=6)[1]) != set(val)


def test_keras_split_takes_the_last_samples_in_order():
    train, val = train_validation_split(LABELS, 0.1, seed=0, mode="keras")
    assert train.tolist() == list(range(630)) and val.tolist() == list(range(630, 700))
    assert len(train_validation_split(LABELS, 0.0, seed=0)[1]) == 0
