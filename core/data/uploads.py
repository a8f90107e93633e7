"""A user's own data: an `.npz` of arrays or a `.zip` of class folders, checked before it is kept.

Nothing uploaded is trusted: `.npz` files are read without pickle and checked for keys, shapes,
dtypes and label range; `.zip` files are checked member by member for paths that would escape
the target folder (zip-slip), links, sizes (zip bombs) and files that are not images.
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shutil
import stat
import tempfile
import warnings
import zipfile
import zlib
from pathlib import Path, PurePosixPath

import numpy as np

from core.data.images import MAX_PIXELS
from core.data.images import SUFFIXES as IMAGE_SUFFIXES
from core.errors import Refusal
from core.settings import Settings

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$")
NPZ_KEYS = ("x_train", "y_train", "x_test", "y_test")
MAX_CLASSES = 1000
MAX_ZIP_FILES = 50_000
MAX_IMAGE_MB = 20  # one image file in a .zip: a photo is a few MB; more is something else riding along
# Unpacked over packed, past which a file (above 1 MB unpacked) is a zip bomb rather than images or arrays:
# images are compressed already (about 1:1), image arrays deflate a few times; zeros deflate a thousandfold.
MAX_RATIO = 100
UNPACK_FACTOR = 4  # images and uint8 arrays barely compress: an archive that unpacks to more is a bomb


class UploadError(Refusal, ValueError):
    """An upload that was refused; the message names the problem and the fix."""


def check_name(name: str) -> str:
    """A dataset name safe as a file name: letters, digits, '-' and '_', up to 40."""
    name = (name or "").strip()
    if not NAME_PATTERN.match(name):
        raise UploadError("name: use 1 to 40 letters, digits, '-' or '_', starting with a letter or digit")
    return name


def _check_unpacked(total: int, settings: Settings, what: str) -> None:
    """Refuse an archive whose members, as declared in its directory, unpack to more than UNPACK_FACTOR x the limit."""
    if total > UNPACK_FACTOR * settings.max_upload_mb * 2**20:
        raise UploadError(f"{what}: unpacks to {total / 2**20:,.0f} MB, over {UNPACK_FACTOR} × the "
                          f"{settings.max_upload_mb} MB upload limit (TRAINLAB_MAX_UPLOAD_MB); upload a smaller subset")


def _check_size(data: bytes | Path, settings: Settings, what: str) -> None:
    _check_bytes(data.stat().st_size if isinstance(data, Path) else len(data), settings, what)


def _check_bytes(size: int, settings: Settings, what: str) -> None:
    if size > settings.max_upload_mb * 1024 * 1024:
        raise UploadError(f"{what}: {size / 2**20:.1f} MB is over the {settings.max_upload_mb} MB limit "
                          "(TRAINLAB_MAX_UPLOAD_MB); upload a smaller subset")


def _readable(data: bytes | Path):
    """What zipfile and numpy open: the file on disk, or the bytes in memory."""
    return data if isinstance(data, Path) else io.BytesIO(data)


def _head(data: bytes | Path, count: int) -> bytes:
    if isinstance(data, Path):
        with open(data, "rb") as fh:
            return fh.read(count)
    return data[:count]


@contextlib.contextmanager
def spooled(source, what: str, settings: Settings):
    """Copy an upload (a readable file object) to a temporary file on disk in 1 MiB pieces, refusing it once
    it passes the size limit, so it is checked from disk and never held whole in memory a second time;
    the file is removed afterwards."""
    settings.uploads_dir.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=".incoming-", dir=settings.uploads_dir)
    path = Path(name)
    try:
        with os.fdopen(handle, "wb") as out:
            copied = 0
            while chunk := source.read(1 << 20):
                copied += len(chunk)
                _check_bytes(copied, settings, what)
                out.write(chunk)
        yield path
    finally:
        path.unlink(missing_ok=True)


# -- .npz -----------------------------------------------------------------------------------
def _as_images(x: np.ndarray, key: str) -> np.ndarray:
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4 or x.shape[-1] not in (1, 3) or min(x.shape[1:3]) < 2 or len(x) == 0:
        raise UploadError(f"npz: {key} must be images shaped (N, H, W) or (N, H, W, 1 or 3); got {x.shape}")
    if x.dtype == np.uint8:
        return x
    if not np.issubdtype(x.dtype, np.number) or np.issubdtype(x.dtype, np.complexfloating):
        raise UploadError(f"npz: {key} must hold numbers (uint8 0..255 or floats 0..1); got dtype {x.dtype}")
    low, high = float(np.min(x)), float(np.max(x))
    if not np.isfinite([low, high]).all() or low < 0 or high > 255:
        raise UploadError(f"npz: {key} values must lie in 0..255 (or 0..1); got {low:g}..{high:g}")
    scale = 255.0 if high <= 1.0 else 1.0  # floats in [0, 1] are scaled like the built-in datasets
    return np.round(x * scale).astype(np.uint8)


def _as_labels(y: np.ndarray, key: str, n: int) -> np.ndarray:
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1 or len(y) != n:
        raise UploadError(f"npz: {key} must be {n} integer labels, one per image; got shape {y.shape}")
    if not np.issubdtype(y.dtype, np.number) or not np.all(np.equal(np.mod(y, 1), 0)):
        raise UploadError(f"npz: {key} must be whole-number class ids 0..K-1; got dtype {y.dtype}")
    return y.astype(np.int64)


def _check_ratio(info: zipfile.ZipInfo, what: str) -> None:
    if info.file_size > 2**20 and info.file_size > MAX_RATIO * max(1, info.compress_size):
        raise UploadError(f"{what}: {info.filename!r} unpacks {info.file_size // max(1, info.compress_size):,} times "
                          f"its packed size (a zip bomb, not data); at most {MAX_RATIO} times is accepted")


def _npz_directory(data: bytes | Path) -> list[zipfile.ZipInfo]:
    """The .npz's members as its archive's directory lists them (nothing is decompressed)."""
    try:
        with zipfile.ZipFile(_readable(data)) as archive:
            return archive.infolist()
    except zipfile.BadZipFile as exc:
        raise UploadError("npz: not a readable .npz file; save the arrays with numpy.savez") from exc


def validate_npz(data: bytes | Path, settings: Settings | None = None) -> dict[str, np.ndarray]:
    """The four arrays of an uploaded .npz, normalised to uint8 images and int64 labels.

    With `settings`, arrays that would unpack past the limit are refused before any is read."""
    if not _head(data, 2) == b"PK":  # an .npz is a zip archive; anything else numpy would try to unpickle
        raise UploadError("npz: not a readable .npz file; save the arrays with numpy.savez")
    if settings is not None:
        members = _npz_directory(data)
        _check_unpacked(sum(i.file_size for i in members), settings, "npz")
        for info in members:
            _check_ratio(info, "npz")
    try:
        with np.load(_readable(data), allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files if key in NPZ_KEYS}
    except ValueError as exc:  # object arrays need pickle: refused
        raise UploadError(f"npz: arrays must be plain numbers, not Python objects ({exc})") from exc
    except Exception as exc:
        raise UploadError(f"npz: not a readable .npz file ({exc.__class__.__name__}); "
                          "save it with numpy.savez") from exc
    missing = [k for k in NPZ_KEYS if k not in arrays]
    if missing:
        raise UploadError(f"npz: missing {', '.join(missing)}; it needs x_train, y_train, x_test, y_test")
    x_train, x_test = _as_images(arrays["x_train"], "x_train"), _as_images(arrays["x_test"], "x_test")
    if x_train.shape[1:] != x_test.shape[1:]:
        raise UploadError(f"npz: x_train and x_test images differ in shape: {x_train.shape[1:]} vs {x_test.shape[1:]}")
    y_train = _as_labels(arrays["y_train"], "y_train", len(x_train))
    y_test = _as_labels(arrays["y_test"], "y_test", len(x_test))
    labels = np.concatenate([y_train, y_test])
    classes = int(labels.max()) + 1
    if labels.min() < 0 or classes > MAX_CLASSES:
        raise UploadError(f"npz: labels must be class ids 0..{MAX_CLASSES - 1}; got {labels.min()}..{labels.max()}")
    if len(np.unique(y_train)) < 2:
        raise UploadError("npz: y_train needs at least two classes")
    return {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}


OWNER_FILE = ".trainlab-owner"  # in an unpacked .zip's folder: who uploaded it


def folder_owner(path: Path) -> str:
    """Who uploaded the image folder at `path` (an unpacked .zip, or a folder inside one), or ""."""
    for folder in (path, *path.parents)[:5]:  # an unpacked .zip nests its images at most four folders deep
        marker = folder / OWNER_FILE
        if marker.is_file():
            return marker.read_text().strip()[:64]
        if folder.name == "uploads":
            break
    return ""


def save_npz(name: str, data: bytes | Path, settings: Settings, owner: str = "") -> Path:
    """Check and keep an uploaded .npz as dataset `upload:<name>`; returns its file."""
    name = check_name(name)
    _check_size(data, settings, "npz")
    arrays = validate_npz(data, settings)
    settings.uploads_dir.mkdir(parents=True, exist_ok=True)
    target = settings.uploads_dir / f"{name}.npz"
    if target.exists():
        raise UploadError(f"name: a dataset called {name!r} exists already; choose another name")
    tmp = target.with_suffix(".tmp.npz")
    np.savez(tmp, **arrays)
    tmp.replace(target)  # atomic: a half-written upload never shows in the catalog
    meta = {"classes": int(max(arrays["y_train"].max(), arrays["y_test"].max())) + 1,
            "shape": list(arrays["x_train"].shape[1:]), "train": len(arrays["x_train"]), "test": len(arrays["x_test"]),
            "owner": owner}
    target.with_suffix(".json").write_text(json.dumps(meta))
    return target


def uploaded_npz(settings: Settings) -> dict[str, dict]:
    """Uploaded .npz datasets: name -> their recorded shapes and sizes."""
    if not settings.uploads_dir.is_dir():
        return {}
    found = {}
    for meta in sorted(settings.uploads_dir.glob("*.json")):
        npz = meta.with_suffix(".npz")
        if npz.is_file():
            found[meta.stem] = json.loads(meta.read_text()) | {"path": str(npz), "bytes": npz.stat().st_size}
    return found


def load_npz(name: str, settings: Settings):
    """(x_train, y_train, x_test, y_test, class_names) of an uploaded .npz."""
    path = settings.uploads_dir / f"{check_name(name)}.npz"
    with np.load(path, allow_pickle=False) as f:
        arrays = [f[k] for k in NPZ_KEYS]
    classes = int(max(arrays[1].max(), arrays[3].max())) + 1
    return (*arrays, tuple(str(i) for i in range(classes)))


# -- .zip of class folders ----------------------------------------------------------------
def _member_parts(info: zipfile.ZipInfo) -> tuple[str, ...]:
    name = info.filename.replace("\\", "/")
    pure = PurePosixPath(name)
    if name.startswith("/") or ".." in pure.parts or (pure.parts and re.match(r"[A-Za-z]:", pure.parts[0])):
        raise UploadError(f"zip: {info.filename!r} points outside the archive (zip-slip); refused")
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        raise UploadError(f"zip: {info.filename!r} is a symbolic link; only plain image files are accepted")
    return pure.parts


def _read_member(archive: zipfile.ZipFile, filename: str) -> bytes:
    """One member's bytes; a damaged member (bad deflate stream, wrong CRC, cut short) is refused by name."""
    try:
        return archive.read(filename)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError) as exc:
        raise UploadError(f"zip: {filename!r} is damaged inside the archive ({exc.__class__.__name__}); "
                          "make the .zip again") from exc


def _check_image(filename: str, data: bytes) -> None:
    """A readable image whose declared size is within MAX_PIXELS, checked from its header before decoding."""
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # the limit below is ours, and lower
            img = Image.open(io.BytesIO(data))
        with img:
            if img.width * img.height > MAX_PIXELS:
                raise UploadError(f"zip: {filename!r} is {img.width}×{img.height} pixels, over the "
                                  f"{MAX_PIXELS // 1_000_000} megapixel limit per image; shrink it")
            img.verify()
        with Image.open(io.BytesIO(data)) as img:  # verify() reads chunks and checksums, not the pixels:
            img.load()  # an image whose pixels cannot be decoded would fail every run trained on it
    except UploadError:
        raise
    except Image.DecompressionBombError as exc:  # Pillow's own guard, at twice its 89-megapixel warning
        raise UploadError(f"zip: {filename!r} declares far more than the {MAX_PIXELS // 1_000_000} megapixel "
                          "limit per image; shrink it") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise UploadError(f"zip: {filename!r} is not a readable image") from exc


def save_zip(name: str, data: bytes | Path, settings: Settings, owner: str = "") -> Path:
    """Check and unpack a .zip of class folders into `data_root/uploads/<name>`; returns that folder."""
    name = check_name(name)
    _check_size(data, settings, "zip")
    try:
        archive = zipfile.ZipFile(_readable(data))
    except zipfile.BadZipFile as exc:
        raise UploadError("zip: not a readable .zip file") from exc
    files = [i for i in archive.infolist() if not i.is_dir()]
    if len(files) > MAX_ZIP_FILES:
        raise UploadError(f"zip: {len(files)} files is over the {MAX_ZIP_FILES} limit")
    _check_unpacked(sum(i.file_size for i in files), settings, "zip")
    for info in files:
        if info.file_size > MAX_IMAGE_MB * 2**20:
            raise UploadError(f"zip: {info.filename!r} is {info.file_size / 2**20:.0f} MB unpacked; an image may "
                              f"be at most {MAX_IMAGE_MB} MB")
        _check_ratio(info, "zip")
    parts = {i.filename: _member_parts(i) for i in files}
    parts = {k: p for k, p in parts.items() if not p[-1].startswith(".") and "__MACOSX" not in p}
    # Accept "class/img.jpg" or one wrapping folder "name/class/img.jpg" (or with train/ and test/).
    depth = {len(p) for p in parts.values()}
    if not parts or not depth <= {2, 3, 4}:
        raise UploadError("zip: expected class folders of images, e.g. cats/1.jpg and dogs/1.jpg")
    classes = sorted({p[-2] for p in parts.values()})
    if len(classes) < 2:  # as for an .npz: a classifier needs at least two classes to tell apart
        raise UploadError(f"zip: it has one class folder ({classes[0]!r}); a classifier needs at least two, "
                          "e.g. cats/ and dogs/")
    for filename, p in parts.items():
        if Path(p[-1]).suffix.lower() not in IMAGE_SUFFIXES:
            raise UploadError(f"zip: {filename!r} is not an image (.jpg, .png, .bmp, .gif, .webp)")
        _check_image(filename, _read_member(archive, filename))
    target = settings.data_root / "uploads" / name
    if target.exists():
        raise UploadError(f"name: a dataset called {name!r} exists already; choose another name")
    staging = target.with_name(f".{name}.partial")
    shutil.rmtree(staging, ignore_errors=True)
    try:
        for filename, p in parts.items():
            out = staging.joinpath(*p)
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(_read_member(archive, filename))
        (staging / OWNER_FILE).write_text(owner)
        staging.rename(target)  # appears whole or not at all
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target
