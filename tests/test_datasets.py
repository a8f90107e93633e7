"""Dataset catalog and loaders, on tiny files the tests write in the exact on-disk formats."""
import os

import numpy as np
import pytest

from core.data import datasets, image_folders, keras_cache
from core.settings import load_settings
from tests.conftest import (
    make_cifar10,
    make_cifar100,
    make_fashion_files,
    make_image_folder,
    make_mnist_npz,
    write_idx_gz,
)


def test_bundled_digits_are_always_available_as_uint8_images(lab):
    info = datasets.get_info("digits", lab)
    assert info.available and info.num_classes == 10 and info.source == "bundled"
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
    assert info.available and info.location == str(folder) and info.size_bytes > 0
    data = datasets.load("fashion_mnist", settings)
    assert data.x_train.shape == (30, 28, 28, 1) and data.x_test.shape == (10, 28, 28, 1)
    assert list(data.y_train[:3]) == [0, 1, 2] and data.class_names[9] == "Ankle boot"


def test_fashion_mnist_is_found_in_the_keras_cache(lab):
    make_fashion_files(lab.keras_home / "datasets" / "fashion-mnist", n_train=20, n_test=10)
    assert datasets.get_info("fashion_mnist", lab).available
    assert datasets.load("fashion_mnist", lab).x_train.shape == (20, 28, 28, 1)


def test_mnist_npz_in_the_keras_cache(lab):
    make_mnist_npz(lab.keras_home / "datasets" / "mnist.npz", n_train=12, n_test=4)
    data = datasets.load("mnist", lab)
    assert data.x_train.shape == (12, 28, 28, 1) and data.y_test.tolist() == [0, 1, 2, 3]
    assert data.y_train.dtype == np.int64


@pytest.mark.parametrize("subfolder", ["cifar-10-batches-py-target/cifar-10-batches-py", "cifar-10-batches-py"])
def test_cifar10_pickles_in_either_keras_layout(lab, subfolder):
    folder = lab.keras_home / "datasets" / subfolder
    make_cifar10(folder, per_batch=4, n_test=6)
    data = datasets.load("cifar10", lab)
    assert data.x_train.shape == (20, 32, 32, 3) and data.x_test.shape == (6, 32, 32, 3)
    assert data.y_train[:4].tolist() == [1, 2, 3, 4] and data.class_names[3] == "cat"
    # Channels-last: pixel (0, 0) of image 0 takes bytes 0 (red), 1024 (green), 2048 (blue) of its row.
    row = keras_cache._read_cifar_pickle(folder / "data_batch_1")[b"data"][0]
    assert data.x_train[0, 0, 0].tolist() == [row[0], row[1024], row[2048]]


def test_cifar100_fine_and_coarse_labels(lab):
    make_cifar100(lab.keras_home / "datasets" / "cifar-100-python-target" / "cifar-100-python")
    fine, coarse = datasets.load("cifar100", lab), datasets.load("cifar100_coarse", lab)
    assert fine.x_train.shape == (12, 32, 32, 3) and fine.y_train[:3].tolist() == [0, 7, 14]
    assert coarse.y_train[:3].tolist() == [0, 1, 2]
    assert len(fine.class_names) == 100 and coarse.class_names[1] == "coarse1"
    assert datasets.get_info("cifar100_coarse", lab).num_classes == 20


def test_missing_keras_datasets_say_where_to_put_the_files(lab):
    info = datasets.get_info("fashion_mnist", lab)
    assert not info.available and info.downloadable
    assert "apt-get install dataset-fashion-mnist" in info.hint and str(lab.keras_home) in info.hint
    assert "cifar-10-batches-py" in datasets.get_info("cifar10", lab).hint
    with pytest.raises(datasets.DatasetUnavailable, match="MNIST is not on this machine"):
        datasets.load("mnist", lab)
    with pytest.raises(datasets.DatasetUnavailable, match="unknown dataset"):
        datasets.load("nope", lab)


def test_image_folders_are_found_below_the_data_root(lab):
    make_image_folder(lab.data_root / "pets", {"cat": 5, "dog": 5})
    make_image_folder(lab.data_root / "course" / "dogs-vs-cats" / "train", {"cats": 4, "dogs": 4})
    make_image_folder(lab.data_root / "course" / "dogs-vs-cats" / "test", {"cats": 2, "dogs": 2})
    (lab.data_root / "empty").mkdir()
    found = {d.key: d for d in datasets.catalog(lab) if d.source == "folder"}
    assert set(found) == {"folder:pets", "folder:course/dogs-vs-cats"}
    assert found["folder:pets"].class_names == ("cat", "dog")
    assert (found["folder:pets"].train_size, found["folder:pets"].test_size) == (8, 2)  # 20 % held out
    assert (found["folder:course/dogs-vs-cats"].train_size, found["folder:course/dogs-vs-cats"].test_size) == (8, 4)


def test_a_folder_is_listed_once_until_a_file_is_added_or_removed(lab, monkeypatch):
    """Every page run lists the catalog: an unchanged folder (a student's upload of 30,000 images took every
    page 15-40 s) is not listed again, and a changed one is."""
    from core.data import image_folders

    make_image_folder(lab.data_root / "pets", {"cat": 3, "dog": 3})
    make_image_folder(lab.data_root / "split" / "train", {"cat": 2, "dog": 2})
    make_image_folder(lab.data_root / "split" / "test", {"cat": 1, "dog": 1})
    listed = []
    real = image_folders._images
    monkeypatch.setattr(image_folders, "_images", lambda folder, root: listed.append(folder) or real(folder, root))
    first = {f.relpath: f for f in image_folders.find_folders(lab)}
    assert listed and first["pets"].train_counts == (3, 3)
    listed.clear()
    again = {f.relpath: f for f in image_folders.find_folders(lab)}
    assert listed == [] and again == first  # nothing listed: nothing changed
    make_image_folder(lab.data_root / "pets", {"dog": 4})  # a fourth dog
    test_cats = lab.data_root / "split" / "test" / "cat"
    (test_cats / sorted(os.listdir(test_cats))[0]).unlink()
    changed = {f.relpath: f for f in image_folders.find_folders(lab)}
    assert changed["pets"].train_counts == (3, 4) and changed["split"].test_counts == (0, 1)


def test_image_folder_loads_resized_uint8_with_its_test_folder(lab):
    make_image_folder(lab.data_root / "dvc" / "train", {"cats": 3, "dogs": 3}, size=(40, 20))
    make_image_folder(lab.data_root / "dvc" / "test", {"cats": 1, "dogs": 2}, size=(40, 20), fmt="JPEG")
    data = datasets.load("folder:dvc", lab, image_size=24)
    assert data.x_train.shape == (6, 24, 24, 3) and data.x_test.shape == (3, 24, 24, 3)
    assert data.x_train.dtype == np.uint8 and data.y_test.tolist() == [0, 1, 1]
    assert data.class_names == ("cats", "dogs")


@pytest.mark.parametrize("name", ["../etc", "/etc", "pets/../../x", "", "missing"])
def test_folder_names_outside_the_data_root_are_refused(lab, name):
    make_image_folder(lab.data_root / "pets", {"cat": 2, "dog": 2})
    with pytest.raises(image_folders.FolderError, match="dataset: "):
        image_folders.resolve(name, lab)
    assert datasets.get_info(f"folder:{name}", lab) is None
    with pytest.raises(datasets.DatasetUnavailable):
        datasets.load(f"folder:{name}", lab)


def test_a_symlink_out_of_the_data_root_is_refused(lab, tmp_path):
    outside = tmp_path / "outside"
    make_image_folder(outside, {"a": 2, "b": 2})
    lab.data_root.mkdir(parents=True)
    (lab.data_root / "sneaky").symlink_to(outside)
    with pytest.raises(image_folders.FolderError, match="leads outside"):
        image_folders.resolve("sneaky", lab)
    assert "folder:sneaky" not in {d.key for d in datasets.catalog(lab)}


def test_idx_reader_round_trips(tmp_path):
    array = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    write_idx_gz(tmp_path / "a.gz", array)
    np.testing.assert_array_equal(keras_cache.read_idx_gz(tmp_path / "a.gz"), array)


def _png_header_claiming(width: int, height: int) -> bytes:
    """A PNG whose header declares width x height pixels but holds none: a decompression bomb's calling card."""
    import struct
    import zlib

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = lambda kind, data: struct.pack(">I", len(data)) + kind + data + struct.pack(  # noqa: E731
        ">I", zlib.crc32(kind + data))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b"")


@pytest.mark.parametrize("content, words", [
    (_png_header_claiming(12_000, 12_000), "12000×12000 pixels is over the 40 megapixel limit"),
    (b"not an image at all", "not a readable image"),
])
def test_an_image_folder_with_a_huge_or_broken_image_is_refused_naming_the_file(lab, content, words):
    make_image_folder(lab.data_root / "pets", {"cat": 3, "dog": 3})
    (lab.data_root / "pets" / "dog" / "bad.png").write_bytes(content)
    with pytest.raises(datasets.DatasetUnavailable) as refused:
        datasets.load("folder:pets", lab, image_size=16)
    message = str(refused.value)
    assert "dog/bad.png" in message and words in message and "\n" not in message


def test_symlinks_inside_a_dataset_that_lead_out_of_the_data_root_are_never_followed(lab, tmp_path):
    make_image_folder(lab.data_root / "pets", {"cat": 3, "dog": 3})
    outside = tmp_path / "outside"
    make_image_folder(outside, {"secrets": 4})
    (lab.data_root / "pets" / "secrets").symlink_to(outside / "secrets")  # a class folder leading out
    (lab.data_root / "pets" / "dog" / "passwd.png").symlink_to(outside / "secrets" / "0.png")  # a file leading out
    make_image_folder(lab.data_root / "shared", {"bird": 2})
    (lab.data_root / "pets" / "bird").symlink_to(lab.data_root / "shared" / "bird")  # inside the root: fine
    found = {d.key: d for d in datasets.catalog(lab) if d.source == "folder"}
    assert found["folder:pets"].class_names == ("bird", "cat", "dog")
    data = datasets.load("folder:pets", lab, image_size=8)
    assert len(data.x_train) + len(data.x_test) == 2 + 3 + 3
    folder = image_folders.describe(lab.data_root / "pets", lab.data_root)
    assert sum(len(v) for v in image_folders.thumbnails(folder, per_class=10).values()) == 8
