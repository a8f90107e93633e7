"""A student's own Keras model file, checked before anything of it is deserialised (issue 31): the archive read
with its sizes bounded (core/data/model_archive.py), then its config against the allowlist of built-in parts
(core/domain/keras_allowlist.py). A refusal is one line naming the layer or the part and why. Loading a file
that passed, with safe_mode and in a worker process, comes next."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from core.data.model_archive import read_model_archive
from core.domain.keras_allowlist import check_config


@dataclass(frozen=True)
class CheckedModel:
    """A model file that passed: its config (plain JSON), its layer count and its weights' size."""

    config: dict
    layers: int
    weights_bytes: int


def check_model_file(path: Path) -> CheckedModel:
    """Refuse (a Refusal, one line) a file that is not a `.keras` archive of built-in Keras parts only."""
    contents = read_model_archive(Path(path))
    layers = check_config(contents.config)
    return CheckedModel(contents.config, layers, contents.weights_bytes)
