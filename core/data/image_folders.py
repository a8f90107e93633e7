"""Image-folder datasets (one sub-folder per class, e.g. dogs vs cats) below the data root.

A folder is named by its path relative to `settings.data_root`; anything that would leave
the root (`..`, an absolute path, a symlink pointing out) is refused, so the browser can never
make the app read arbitrary files. A folder with `train/` and `test/` (or `validation/`)
sub-folders keeps that split; otherwise a fixed, stratified 20 % is held out as the test split.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np

from core.data.images import SUFFIXES, ImageError, read_square
from core.errors import Refusal
from core.settings import Settings

TEST_FOLDERS = ("test", "validation", "val")
TEST_SHARE = 0.2


class FolderError(Refusal, ValueError):
    """A folder name the user gave cannot be used; the message says why."""


@dataclass(frozen=True)
class ImageFolder:
    """An image-folder dataset found below the data root."""

    relpath: str  # relative to the data root, with '/' separators
    path: Path
    root: Path  # the data root, resolved: nothing outside it is read
    class_names: tuple[str, ...]
    train_counts: tuple[int, ...]  # images per class in the training part
    test_counts: tuple[int, ...]  # images per class in the test part (0s when split at load time)
    has_test_folder: bool
    size_bytes: int


def resolve(relpath: str, settings: Settings) -> Path:
    """The folder `relpath` below the data root; FolderError for anything outside it."""
    text = (relpath or "").strip()
    pure = PurePosixPath(text.replace("\\", "/"))
    if not text or pure.is_absolute() or ".." in pure.parts:
        raise FolderError(f"dataset: folder {relpath!r} must be a path inside {settings.data_root}, "
                          "without '..' or a leading '/'")
    root = settings.data_root.resolve()
    path = (root / pure).resolve()
    if not path.is_relative_to(root):  # a symlink pointing out of the root
        raise FolderError(f"dataset: folder {relpath!r} leads outside {settings.data_root}")
    if not path.is_dir():
        raise FolderError(f"dataset: there is no folder {relpath!r} in {settings.data_root}")
    return path


def _images(folder: Path, root: Path) -> list[Path]:
    """The image files of a class folder; a symlink leading out of the (resolved) data root is never followed.
    Only symlinks are resolved: the folder itself was checked, and 30,000 resolves took seconds per page."""
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in SUFFIXES and p.is_file()
                  and (not p.is_symlink() or p.resolve().is_relative_to(root)))


def _class_dirs(folder: Path, root: Path) -> list[Path]:
    return sorted(d for d in folder.iterdir() if d.is_dir() and not d.name.startswith(".")
                  and d.resolve().is_relative_to(root) and _images(d, root))


def _split_dirs(path: Path) -> tuple[Path, Path | None]:
    test = next((path / t for t in TEST_FOLDERS if (path / t).is_dir()), None)
    if (path / "train").is_dir() and test is not None:
        return path / "train", test
    return path, None


def _inside(folder: Path, root: Path) -> bool:
    return folder.is_dir() and folder.resolve().is_relative_to(root)


# describe()'s answers by folder and the modification times of its folders: a folder's time changes when a file is
# added, removed or renamed in it, so an unchanged folder of 30,000 images is not listed again at every page run.
_DESCRIBED: dict[tuple, ImageFolder | None] = {}
MAX_DESCRIBED = 256
_DESCRIBED_LOCK = threading.Lock()


def _signature(path: Path) -> tuple:
    """The modification times of `path`, its sub-folders, and a split's train/ and test/ class folders."""
    dirs = [path, *(d for d in path.iterdir() if d.is_dir())]
    for split in ("train", *TEST_FOLDERS):
        if (path / split).is_dir():
            dirs += [d for d in (path / split).iterdir() if d.is_dir()]
    return tuple((str(d), d.stat().st_mtime_ns) for d in dirs)


def describe(path: Path, root: Path) -> ImageFolder | None:
    """The dataset in `path`, or None if it does not hold at least two class folders of images (remembered
    while none of its folders changes)."""
    key = (str(path), str(root), _signature(path))
    with _DESCRIBED_LOCK:
        if key in _DESCRIBED:
            return _DESCRIBED[key]
    described = _describe(path, root)
    with _DESCRIBED_LOCK:  # pages run on several threads
        if len(_DESCRIBED) >= MAX_DESCRIBED:
            _DESCRIBED.pop(next(iter(_DESCRIBED)))
        _DESCRIBED[key] = described
    return described


def _describe(path: Path, root: Path) -> ImageFolder | None:
    relpath, root = path.relative_to(root).as_posix(), root.resolve()
    train_dir, test_dir = _split_dirs(path)
    classes = _class_dirs(train_dir, root)
    if len(classes) < 2:
        return None
    names = tuple(c.name for c in classes)
    train_counts = tuple(len(_images(c, root)) for c in classes)
    test_counts = tuple(len(_images(test_dir / n, root)) if _inside(test_dir / n, root) else 0 for n in names) \
        if test_dir else (0,) * len(names)
    files = [f for d in (train_dir, test_dir) if d for c in names if _inside(d / c, root) for f in _images(d / c, root)]
    return ImageFolder(
        relpath=relpath, path=path, root=root, class_names=names,
        train_counts=train_counts, test_counts=test_counts, has_test_folder=test_dir is not None,
        size_bytes=sum(f.stat().st_size for f in files),
    )


def find_folders(settings: Settings, max_depth: int = 3) -> list[ImageFolder]:
    """Every image-folder dataset below the data root (up to `max_depth` levels down)."""
    root = settings.data_root
    if not root.is_dir():
        return []
    real_root = root.resolve()
    found, frontier = [], [root]
    for _ in range(max_depth):
        next_frontier = []
        for folder in frontier:
            subs = (d for d in folder.iterdir() if d.is_dir() and not d.name.startswith("."))
            for sub in sorted(d for d in subs if d.resolve().is_relative_to(real_root)):
                dataset = describe(sub, root)
                if dataset:
                    found.append(dataset)
                else:
                    next_frontier.append(sub)
        frontier = next_frontier
    return found


def held_out(class_count: int) -> int:
    """Test images held out of one class of a folder without a test/ folder."""
    return int(round(class_count * TEST_SHARE))


def split_counts(dataset: ImageFolder) -> tuple[int, int]:
    """(train, test) image counts as training will see them."""
    total_train = sum(dataset.train_counts)
    if dataset.has_test_folder:
        return total_train, sum(dataset.test_counts)
    test = sum(held_out(c) for c in dataset.train_counts)
    return total_train - test, test


def _read_folder(dataset: ImageFolder, folder: Path, image_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Decode and resize every image of the class sub-folders (in a worker), in sorted order."""
    files = [(path, label) for label, name in enumerate(dataset.class_names) if _inside(folder / name, dataset.root)
             for path in _images(folder / name, dataset.root)]
    x = np.empty((len(files), image_size, image_size, 3), dtype=np.uint8)
    for i, (path, _) in enumerate(files):
        try:
            x[i] = read_square(path, image_size, what=str(path.relative_to(folder.parent)))
        except ImageError as exc:
            raise FolderError(f"dataset: {exc}") from None
    return x, np.array([label for _, label in files], dtype=np.int64)


def load(relpath: str, image_size: int, settings: Settings):
    """(x_train, y_train, x_test, y_test, class_names) of the folder, images resized to a square."""
    from core.data.sampling import stratified_subset

    path = resolve(relpath, settings)
    dataset = describe(path, settings.data_root.resolve())
    if dataset is None:
        raise FolderError(f"dataset: {relpath!r} needs at least two class sub-folders of images")
    train_dir, test_dir = _split_dirs(path)
    x, y = _read_folder(dataset, train_dir, image_size)
    if test_dir is not None:
        x_test, y_test = _read_folder(dataset, test_dir, image_size)
        return x, y, x_test, y_test, dataset.class_names
    # A fixed seed: the held-out test images are the same for every run on this folder.
    test_idx = stratified_subset(y, split_counts(dataset)[1], seed=0)
    mask = np.ones(len(y), dtype=bool)
    mask[test_idx] = False
    return x[mask], y[mask], x[test_idx], y[test_idx], dataset.class_names


def thumbnails(dataset: ImageFolder, per_class: int, size: int = 96) -> dict[str, list[np.ndarray]]:
    """A few images per class as small RGB arrays, read with Pillow (no TensorFlow in the UI)."""
    from PIL import Image, ImageOps

    train_dir, _ = _split_dirs(dataset.path)
    result = {}
    for name in dataset.class_names:
        images = []
        for file in _images(train_dir / name, dataset.root)[:per_class]:
            try:
                with Image.open(file) as img:
                    img = ImageOps.exif_transpose(img).convert("RGB")
                    images.append(np.asarray(ImageOps.fit(img, (size, size))))
            except OSError:
                continue  # an unreadable file is skipped in a preview; training reports it
        result[name] = images
    return result
