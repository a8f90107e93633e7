"""The datasets pages offer: what this machine has, loading one, saving an upload, downloading one.

A thin door over core.data so pages never reach the data layer themselves (an import contract),
and a later catalog (a shared data root, per-user uploads) changes here, not in every page.
"""
from __future__ import annotations

from dataclasses import replace
from typing import BinaryIO, Callable

from core.data import datasets, downloads, uploads
from core.data.datasets import DEFAULT_IMAGE_SIZE, ArrayDataset, DatasetInfo, DatasetUnavailable
from core.data.uploads import UploadError
from core.domain.people import STUDENT, Actor
from core.services.classroom import may_see
from core.services.permissions import PermissionDenied, acting, owner_of
from core.settings import Settings

__all__ = ["DEFAULT_IMAGE_SIZE", "ArrayDataset", "DatasetInfo", "DatasetUnavailable", "UploadError",
           "entries", "load", "save_upload", "download"]


def entries(settings: Settings, actor: Actor | None = None) -> list[DatasetInfo]:
    """Every dataset the catalog knows, available on this machine or not (in exam mode, a student sees no
    other student's uploads). A student of a class is told where a dataset lives and how to get a missing one in
    their terms: the server's folders and install commands are the teacher's business."""
    found = [d for d in datasets.catalog(settings) if not d.owner or may_see(actor, d.owner, settings)]
    if not (settings.classroom and actor is not None and actor.role == STUDENT):
        return found
    return [replace(d, location="on the class's server",
                    hint="" if d.available else "ask your teacher to add it to the class's server")
            for d in found]


def check_visible(keys: list[str], actor: Actor | None, settings: Settings) -> None:
    """PermissionDenied for a dataset another student uploaded, in exam mode (as if it were not there)."""
    for key in set(keys):
        if key.startswith((datasets.UPLOAD_PREFIX, datasets.FOLDER_PREFIX)):
            info = datasets.get_info(key, settings)
            if info is not None and info.owner and not may_see(actor, info.owner, settings):
                raise PermissionDenied(f"dataset: there is no dataset {key!r} for you; pick one on the Data page")


def load(key: str, settings: Settings, image_size: int = DEFAULT_IMAGE_SIZE) -> ArrayDataset:
    """A dataset in memory; DatasetUnavailable with the fix when it cannot be loaded."""
    return datasets.load(key, settings, image_size=image_size)


def save_upload(filename: str, name: str, source: BinaryIO | bytes, settings: Settings,
                actor: Actor | None = None) -> str:
    """Check and store an uploaded `.npz` or `.zip` (a file object, copied to disk first, or bytes) under
    `name`, as `actor`'s; returns its dataset key, or UploadError in one line."""
    owner = owner_of(acting(actor, settings))
    is_npz = filename.lower().endswith(".npz")
    saver = uploads.save_npz if is_npz else uploads.save_zip
    if isinstance(source, bytes):
        saver(name, source, settings, owner)
    else:
        with uploads.spooled(source, "npz" if is_npz else "zip", settings) as path:
            saver(name, path, settings, owner)
    name = uploads.check_name(name)
    return f"{datasets.UPLOAD_PREFIX}{name}" if is_npz else f"{datasets.FOLDER_PREFIX}uploads/{name}"


def download(key: str, progress: Callable[[float, float], None], settings: Settings) -> downloads.DownloadResult:
    """Download a Keras dataset into the Keras cache, reporting (fraction, MB) as it goes."""
    return downloads.run_download(key, progress, settings)
