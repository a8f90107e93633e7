"""A `.keras` file handed in by a student, opened as what it is, a zip archive, with every size bounded, and its
`config.json` read as plain JSON for the allowlist (core/domain/keras_allowlist.py, which the model-files
service applies) — nothing of it is deserialised here, and nothing here runs Keras. Loading a file that passed
(with safe_mode, in a worker process, never the Streamlit process) is the next step's."""
from __future__ import annotations

import json
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from core.errors import Refusal

MEMBERS = {"config.json", "metadata.json", "model.weights.h5"}  # what Keras 3 writes for built-in layers only
MAX_CONFIG_BYTES = 4 * 1024 * 1024
MAX_METADATA_BYTES = 64 * 1024
MAX_WEIGHTS_BYTES = 2 * 1024**3
MAX_RATIO = 50  # unpacked / packed: weights barely compress; a zip bomb's ratio is in the thousands
HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
ZIP_SIGNATURE = b"PK\x03\x04"  # a zip archive's first local file header, where Keras' .keras files start


class ArchiveRefused(Refusal, ValueError):
    """A file that is not a `.keras` archive Train Lab opens; the message says why, in one line."""


@dataclass(frozen=True)
class ArchiveContents:
    """What a `.keras` archive holds, read without deserialising: its config as plain JSON, its weights' size."""

    config: object
    weights_bytes: int


def read_model_archive(path: Path) -> ArchiveContents:
    """Refuse (ArchiveRefused, one line) a file that is not a bounded `.keras` archive; its config, unchecked."""
    with open(path, "rb") as file:
        head = file.read(8)
    if head.startswith(HDF5_SIGNATURE):
        raise ArchiveRefused("file: an HDF5 (.h5) model, whose loading ignores Keras' safe mode; save it with "
                           "model.save('mine.keras') instead")
    if not zipfile.is_zipfile(path):
        raise ArchiveRefused("file: not a .keras file (a .keras file is a zip archive); save it with "
                           "model.save('mine.keras')")
    if not head.startswith(ZIP_SIGNATURE):  # zipfile reads past anything put in front: a page, a program
        raise ArchiveRefused("file: has data in front of its zip archive; save the model again with "
                             "model.save('mine.keras')")
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
            members = {info.filename: info for info in infos}
            if len(members) != len(infos):  # only the last of a name would be checked, every copy kept
                twice = next(info.filename for info in infos if [i.filename for i in infos].count(info.filename) > 1)
                raise ArchiveRefused(f"file: holds {twice[:80]!r} more than once; save the model again with "
                                     "model.save('mine.keras')")
            _check_members(members)
            config = _json(archive, members["config.json"], MAX_CONFIG_BYTES)
            _json(archive, members["metadata.json"], MAX_METADATA_BYTES) if "metadata.json" in members else None
            damaged = archive.testzip()  # every member read once: a damaged or tampered one is refused here
            if damaged:
                raise zipfile.BadZipFile(damaged)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, RuntimeError, NotImplementedError, zlib.error, EOFError,
            OSError, ValueError) as exc:
        if isinstance(exc, ArchiveRefused):
            raise
        raise ArchiveRefused(f"file: a damaged or unusual zip archive ({type(exc).__name__}); save it again with "
                             "model.save('mine.keras')") from None
    weights = members.get("model.weights.h5")
    return ArchiveContents(config, weights.file_size if weights else 0)


def _check_members(members: dict) -> None:
    for name, info in members.items():
        if name.startswith(("/", "\\")) or ".." in name.replace("\\", "/").split("/") or ":" in name:
            raise ArchiveRefused(f"file: a member named {name[:80]!r} points outside the archive")
        if name not in MEMBERS:
            raise ArchiveRefused(f"file: holds {name[:80]!r}, which a model of built-in layers does not have "
                               "(assets of lookup layers, or files of another program)")
        if info.file_size > MAX_WEIGHTS_BYTES or (info.compress_size and info.file_size / info.compress_size >
                                                   MAX_RATIO and info.file_size > 1024 * 1024):
            raise ArchiveRefused(f"file: {name} unpacks to {info.file_size:,} bytes from {info.compress_size:,} "
                               "(a zip bomb, or a model far too big)")
    if "config.json" not in members:
        raise ArchiveRefused("file: no config.json in the archive; save the model with model.save('mine.keras')")


def _json(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> object:
    if info.file_size > limit:
        raise ArchiveRefused(f"file: {info.filename} is {info.file_size:,} bytes, more than {limit:,}")
    with archive.open(info) as member:
        data = member.read(limit + 1)  # the header's size is the sender's word: read no more than the limit
    if len(data) > limit:
        raise ArchiveRefused(f"file: {info.filename} is more than {limit:,} bytes")
    try:
        return json.loads(data)
    except (ValueError, RecursionError):
        raise ArchiveRefused(f"file: {info.filename} is not JSON") from None


def write_clean_copy(source: Path, target: Path) -> None:
    """Copy a checked archive's members, and nothing else, into a new archive at `target`: what is kept and handed
    out is what was checked (no bytes in front of, between or after the members, no zip comment)."""
    with zipfile.ZipFile(source) as archive, zipfile.ZipFile(target, "w") as clean:
        for name in sorted(MEMBERS & set(archive.namelist())):
            with archive.open(name) as piece, clean.open(name, "w", force_zip64=True) as copy:
                while chunk := piece.read(1 << 20):
                    copy.write(chunk)
