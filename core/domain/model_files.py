"""A student's own model file as an architecture (issue 31): its key in a run's settings ("file:7"), its title on
the pages ("tess / my-cnn"), its one option (fresh weights or the file's own) and the check that it fits a
dataset before anything is queued. What the file holds was checked and described when it was added
(core/services/model_files.py); this module only reads that description."""
from __future__ import annotations

from dataclasses import dataclass

from core.domain.architectures import ArchitectureError

PREFIX = "file:"
WEIGHTS = {"fresh": "fresh weights (its layers initialised anew from the run's seed)",
           "file": "the file's own weights (fine-tune them)"}


@dataclass(frozen=True)
class ModelFile:
    """One added model file, as its page shows it."""

    id: int
    owner: str
    name: str
    created_at: float
    params: int
    input_shape: list
    classes: int
    layers: list
    shared: bool = False  # a teacher shared it with the class: every student may train and score it

    @property
    def key(self) -> str:
        """The architecture key a run's settings name it by."""
        return f"{PREFIX}{self.id}"

    @property
    def title(self) -> str:
        """How the pages name it: its owner and its name."""
        return f"{self.owner or 'operator'} / {self.name}"


def is_model_file(key: str) -> bool:
    """Whether an architecture key names a model file rather than one of the course's architectures."""
    return isinstance(key, str) and key.startswith(PREFIX)


def file_id(key: str) -> int | None:
    """The model file's id in `key` ("file:7" -> 7), or None when it is not one."""
    digits = key[len(PREFIX):] if is_model_file(key) else ""
    return int(digits) if digits.isdigit() and len(digits) < 12 else None


def check_file_options(options: dict) -> dict:
    """A model file's options with the default filled in: only `weights`, "fresh" or "file"."""
    unknown = sorted(set(options) - {"weights"})
    if unknown:
        raise ArchitectureError(f"architecture: a model file has no option {unknown[0]!r}; its only option is weights")
    weights = options.get("weights", "fresh")
    if weights not in WEIGHTS:
        raise ArchitectureError(f"architecture: option weights must be 'fresh' or 'file'; got {weights!r}")
    return {"weights": weights}


def check_fits(model: ModelFile, input_shape: tuple[int, ...], num_classes: int, max_params: int) -> None:
    """Refuse, in one line with the fix, a model file that cannot take these images or give these classes. Nothing
    is adapted: a new head or a resized input would be another model than the one the student handed in."""
    expected = tuple(model.input_shape)
    given = tuple(int(d) for d in input_shape)
    if len(expected) != len(given) or any(e is not None and e != g for e, g in zip(expected, given)):
        raise ArchitectureError(
            f"architecture: {model.title} takes inputs of {_shape(expected)}, but this dataset's images are "
            f"{_shape(given)}; choose a dataset of that size, or save your model with keras.Input(shape={given})")
    if model.classes != num_classes:
        raise ArchitectureError(
            f"architecture: {model.title} ends in {model.classes} outputs, but this dataset has {num_classes} "
            f"classes; choose a dataset of {model.classes} classes, or save your model ending in "
            f"Dense({num_classes}, activation='softmax')")
    if model.params > max_params:
        raise ArchitectureError(f"architecture: {model.title} has {model.params:,} parameters, more than this lab's "
                                f"limit of {max_params:,} (TRAINLAB_MAX_PARAMS)")


def _shape(shape: tuple) -> str:
    return "×".join("any" if d is None else str(d) for d in shape)
