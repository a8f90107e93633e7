"""Dataset catalog and loaders, on files the tests write themselves."""
import numpy as np
import pytest

from core import datasets
from core.settings import load_settings
from tests.conftest import make_fashion_files, write_idx_gz


def test_bundled_digits_are_always_available_as_uint8_images(lab):
    info = datasets.get_info("digits", lab)
    assert info.available and info.num_classes == 10
    data = datasets.load("digits", lab)
    assert data.x_train.shape == (info.train_size, 8, 8, 1) and data.x_test.shape == (info.test_size, 8, 8, 1)
    assert data.x_train.dtype == np.uint8 and data.x_train.max() == 255
    assert set(np.unique(data.y_test)) == set(range(10))  # stratified test split holds every class


def test_fashion_mnist_is_found_in_the_debian_folder(lab, tmp_path, monkeypatch):
    folder = tmp_path / "debian-fashion"
    make_fashion_files(folder, n_train=30, n_test=10)
    monkeypatch.setenv("TRAINLAB_FASHION_MNIST_DIR", str(folder))
    settings = load_settings()
    info = datasets.get_info("fashion_mnist", settings)
    assert info.available and info.location == str(folder)
    data = datasets.load("fashion_mnist", settings)
    assert data.x_train.shape == (30, 28, 28, 1) and data.x_test.shape == (10, 28, 28, 1)
    assert list(data.y_train[:3]) == [0, 1, 2] and data.class_names[9] == "Ankle boot"


def test_fashion_mnist_is_found_in_the_keras_cache(lab):
    make_fashion_files(lab.keras_home / "datasets" / "fashion-mnist", n_train=20, n_test=10)
    assert datasets.get_info("fashion_mnist", lab).available
    assert datasets.load("fashion_mnist", lab).x_train.shape == (20, 28, 28, 1)


def test_missing_datasets_say_where_to_put_the_files(lab):
    info = datasets.get_info("fashion_mnist", lab)
    assert not info.available
    assert "apt-get install dataset-fashion-mnist" in info.hint and str(lab.keras_home) in info.hint
    with pytest.raises(datasets.DatasetUnavailable, match="not on this machine"):
        datasets.load("mnist", lab)
    with pytest.raises(datasets.DatasetUnavailable, match="unknown dataset"):
        datasets.load("nope", lab)


def test_mnist_npz_in_the_keras_cache(lab):
    path = lab.keras_home / "datasets" / "mnist.npz"
    path.parent.mkdir(parents=True)
    rng = np.random.default_rng(0)
    np.savez(path, x_train=rng.integers(0, 255, (12, 28, 28), dtype=np.uint8), y_train=np.arange(12) % 10,
             x_test=rng.integers(0, 255, (4, 28, 28), dtype=np.uint8), y_test=np.arange(4))
    data = datasets.load("mnist", lab)
    assert data.x_train.shape == (12, 28, 28, 1) and data.y_test.tolist() == [0, 1, 2, 3]


def test_idx_reader_round_trips(tmp_path):
    array = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    write_idx_gz(tmp_path / "a.gz", array)
    np.testing.assert_array_equal(datasets.read_idx_gz(tmp_path / "a.gz"), array)
