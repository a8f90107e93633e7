"""The datasets Train Lab can train on: what they are, whether this machine has them, loading.

Four sources, one catalog: the bundled digits (scikit-learn, always offline), the Keras
datasets (MNIST, Fashion-MNIST, CIFAR-10/100, from the Keras cache or Debian's folder),
image folders below the data root (`folder:<path>`), and uploaded `.npz` files (`upload:<name>`).
Describing a dataset never imports TensorFlow; `load` returns uint8 images (N, H, W, C) and
int64 labels, so memory stays small until batches are scaled.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from core.data import image_folders, keras_cache, uploads
from core.errors import Refusal
from core.settings import Settings, load_settings

DEFAULT_IMAGE_SIZE = 64  # image folders are resized to a square of this side unless chosen otherwise
FOLDER_PREFIX, UPLOAD_PREFIX = "folder:", "upload:"


@dataclass(frozen=True)
class DatasetInfo:
    """What a page needs to know about a dataset without loading it."""

    key: str
    title: str
    source: str  # "bundled", "keras", "folder" or "upload"
    input_shape: tuple[int, int, int]
    num_classes: int
    class_names: tuple[str, ...]  # may be empty until the data is loaded (CIFAR-100 reads them from its files)
    train_size: int
    test_size: int
    available: bool
    downloadable: bool  # Keras can fetch it (needs network)
    location: str  # where the files are, or where to put them
    size_bytes: int | None
    hint: str  # how to make a missing dataset available; empty when available
    owner: str = ""  # the account that uploaded it ("" for the lab's own datasets and the operator's uploads)

    @property
    def resizable(self) -> bool:
        """Image folders are resized to the size the user picks."""
        return self.source == "folder"

    def with_image_size(self, size: int) -> "DatasetInfo":
        """The dataset as seen at a chosen square image size (image folders only)."""
        return replace(self, input_shape=(size, size, 3)) if self.resizable else self


@dataclass(frozen=True)
class ArrayDataset:
    """A loaded dataset: uint8 images (N, H, W, C) and int64 labels."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: tuple[str, ...]


class DatasetUnavailable(Refusal):
    """The dataset cannot be used on this machine; the message says why and what to do."""


def _digits_info() -> DatasetInfo:
    return DatasetInfo(
        key="digits", title="Digits 8×8 (bundled)", source="bundled", input_shape=(8, 8, 1),
        num_classes=10, class_names=keras_cache.DIGIT_NAMES, train_size=1437, test_size=360,
        available=True, downloadable=False, location="bundled with scikit-learn", size_bytes=None, hint="",
    )


def _keras_info(dataset: keras_cache.KerasDataset, settings: Settings) -> DatasetInfo:
    folder = keras_cache.find_folder(dataset.key, settings)
    names = {"mnist": keras_cache.DIGIT_NAMES, "fashion_mnist": keras_cache.FASHION_NAMES,
             "cifar10": keras_cache.CIFAR10_NAMES}.get(dataset.key, ())
    return DatasetInfo(
        key=dataset.key, title=dataset.title, source="keras", input_shape=dataset.input_shape,
        num_classes=dataset.num_classes, class_names=names, train_size=dataset.train_size,
        test_size=dataset.test_size, available=folder is not None, downloadable=True,
        location=str(folder or keras_cache.candidate_folders(dataset.key, settings)[0]),
        size_bytes=keras_cache.files_size(dataset.key, folder) if folder else None,
        hint="" if folder else keras_cache.missing_hint(dataset.key, settings),
    )


def _folder_info(folder: image_folders.ImageFolder) -> DatasetInfo:
    train, test = image_folders.split_counts(folder)
    return DatasetInfo(
        key=FOLDER_PREFIX + folder.relpath, title=f"{folder.relpath} (image folder)", source="folder",
        input_shape=(DEFAULT_IMAGE_SIZE, DEFAULT_IMAGE_SIZE, 3), num_classes=len(folder.class_names),
        class_names=folder.class_names, train_size=train, test_size=test, available=True,
        downloadable=False, location=str(folder.path), size_bytes=folder.size_bytes, hint="",
        owner=uploads.folder_owner(folder.path),
    )


def _upload_info(name: str, meta: dict) -> DatasetInfo:
    return DatasetInfo(
        key=UPLOAD_PREFIX + name, title=f"{name} (uploaded .npz)", source="upload",
        input_shape=tuple(meta["shape"]), num_classes=meta["classes"],
        class_names=tuple(str(i) for i in range(meta["classes"])), train_size=meta["train"],
        test_size=meta["test"], available=True, downloadable=False, location=meta["path"],
        size_bytes=meta["bytes"], hint="", owner=meta.get("owner", ""),
    )


def catalog(settings: Settings | None = None) -> list[DatasetInfo]:
    """Every dataset Train Lab knows on this machine, with its availability."""
    settings = settings or load_settings()
    return (
        [_digits_info()]
        + [_keras_info(d, settings) for d in keras_cache.KERAS_DATASETS.values()]
        + [_folder_info(f) for f in image_folders.find_folders(settings)]
        + [_upload_info(name, meta) for name, meta in uploads.uploaded_npz(settings).items()]
    )


def get_info(key: str, settings: Settings | None = None) -> DatasetInfo | None:
    """The catalog entry for `key`, or None if there is no such dataset."""
    settings = settings or load_settings()
    if key.startswith(FOLDER_PREFIX):
        # Resolve just this folder: no walk of the whole data root, and unsafe names are refused.
        try:
            path = image_folders.resolve(key[len(FOLDER_PREFIX):], settings)
        except image_folders.FolderError:
            return None
        folder = image_folders.describe(path, settings.data_root.resolve())
        return _folder_info(folder) if folder else None
    return next((d for d in catalog(settings) if d.key == key), None)


def load(key: str, settings: Settings | None = None, image_size: int = DEFAULT_IMAGE_SIZE) -> ArrayDataset:
    """Load a dataset into memory; raises DatasetUnavailable with the fix when it cannot."""
    settings = settings or load_settings()
    try:
        if key == "digits":
            arrays = _load_digits()
        elif key in keras_cache.KERAS_DATASETS:
            folder = keras_cache.find_folder(key, settings)
            if folder is None:
                title = keras_cache.KERAS_DATASETS[key].title
                raise DatasetUnavailable(f"dataset: {title} is not on this machine; "
                                         f"{keras_cache.missing_hint(key, settings)}")
            arrays = keras_cache.load_arrays(key, folder)
        elif key.startswith(FOLDER_PREFIX):
            arrays = image_folders.load(key[len(FOLDER_PREFIX):], image_size, settings)
        elif key.startswith(UPLOAD_PREFIX):
            arrays = uploads.load_npz(key[len(UPLOAD_PREFIX):], settings)
        else:
            raise DatasetUnavailable(f"dataset: unknown dataset {key!r}")
    except (image_folders.FolderError, uploads.UploadError, FileNotFoundError) as exc:
        raise DatasetUnavailable(str(exc)) from exc
    return ArrayDataset(*arrays)


def _load_digits():
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    # Pixel values are 0..16; stretch them to 0..255 so every dataset scales the same way.
    images = np.round(digits.images * (255.0 / 16.0)).astype(np.uint8)[..., None]
    labels = digits.target.astype(np.int64)
    # A fixed, stratified 80/20 split so test accuracy means the same thing for every run.
    x_train, x_test, y_train, y_test = train_test_split(
        images, labels, test_size=360, stratify=labels, random_state=0
    )
    return x_train, y_train, x_test, y_test, keras_cache.DIGIT_NAMES
