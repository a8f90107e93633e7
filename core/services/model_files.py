"""A student's own Keras model file, checked before anything of it is deserialised (issue 31): the archive read
with its sizes bounded (core/data/model_archive.py), then its config against the allowlist of built-in parts
(core/domain/keras_allowlist.py). A refusal is one line naming the layer or the part and why. Loading a file
that passed happens with safe_mode in a process of its own (core/runtime/model_inspection.py)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from core.data.model_archive import read_model_archive
from core.domain.keras_allowlist import check_config
from core.runtime.model_inspection import load_in_process
from core.settings import Settings, load_settings


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


@dataclass(frozen=True)
class LoadedModel:
    """A checked model file as Keras loaded it (in a process of its own): what its page shows."""

    name: str
    params: int
    layers: list
    input_shape: list
    classes: int


def inspect_model_file(path: Path, settings: Settings | None = None) -> LoadedModel:
    """Check model file `path` (the allowlist), then load it with safe_mode in a process of its own and describe
    it; a Refusal in one line at the first problem."""
    settings = settings or load_settings()
    check_model_file(path)
    answer = load_in_process(Path(path), settings.max_params)
    return LoadedModel(answer["name"], answer["params"], answer["layers"], answer["input_shape"], answer["classes"])
