"""The Models page's work: an architecture's report (layers, parameters, memory, diagram, code),
several architectures side by side, and what its conv layers make of a photo (feature maps). Builds Keras
models in the page's process, on first use."""
from __future__ import annotations

import numpy as np
import pandas as pd

from core.data.datasets import DatasetInfo, get_info
from core.data.images import to_model_input
from core.domain.architectures import ARCHITECTURES, ArchitectureError, check_input
from core.training import inspection, summary
from core.training.inspection import LayerMaps
from core.training.summary import ModelReport

__all__ = ["LayerMaps", "ModelReport", "report", "compare", "training_memory_mb", "feature_maps", "input_for",
           "typed_input", "why_no_dataset"]


TYPED_LIMITS = {"height": (1, 1024), "width": (1, 1024), "channels": (1, 16), "classes": (2, 1000)}


def typed_input(height, width, channels, classes) -> tuple[tuple[int, int, int], int]:
    """A shape and class count as typed on the Models page, checked: ArchitectureError names the field and its
    range (a value out of range was kept as the last good one, with the old model still on screen)."""
    values = {"height": height, "width": width, "channels": channels, "classes": classes}
    for name, value in values.items():
        low, high = TYPED_LIMITS[name]
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            shown = "the field is empty" if value is None else f"got {value!r}"
            raise ArchitectureError(f"{name}: must be a whole number from {low} to {high}; {shown}")
    return (height, width, channels), classes


def input_for(key: str, datasets: list[DatasetInfo], preferred: str | None) -> str | None:
    """The dataset to open architecture `key` on: `preferred` if it can take its images, else the first one
    that can; None when none can (the page then offers a typed shape, which defaults to 32×32×3)."""
    fitting = [d.key for d in datasets if _takes(key, d.input_shape)]
    return preferred if preferred in fitting else (fitting[0] if fitting else None)


def typed_shape_for(key: str) -> dict[str, int]:
    """The typed input an architecture opens on when no dataset here takes its images: its lesson's
    dataset's shape and classes (LeNet-5: 28×28×1, 10, as its text counts it), else 32×32×3 and 10."""
    dataset = ARCHITECTURES[key].recipe.dataset
    try:
        info = get_info(dataset) if dataset else None
    except KeyError:
        info = None
    if info is None:
        return {"height": 32, "width": 32, "channels": 3, "classes": 10}
    height, width, channels = info.input_shape
    return {"height": height, "width": width, "channels": channels, "classes": info.num_classes}


def why_no_dataset(key: str, datasets: list[DatasetInfo]) -> str:
    """Why architecture `key` opens on a typed shape: what the first dataset here lacks, in one sentence."""
    for info in datasets[:1]:
        try:
            check_input(key, info.input_shape)
        except ArchitectureError as exc:
            reason = str(exc).removeprefix("architecture: ").split(";")[0]
            return f"No dataset here fits ({info.title}: {reason}), so it opens on a shape you can type."
    return "No dataset here fits it, so it opens on a shape you can type."


def _takes(key: str, input_shape: tuple[int, ...]) -> bool:
    try:
        check_input(key, input_shape)
    except ArchitectureError:
        return False
    return True


def report(key: str, input_shape: tuple[int, ...], num_classes: int, options: dict | None = None) -> ModelReport:
    """Build architecture `key` for this input and describe it; ValueError (one line) for bad options."""
    return summary.report(key, input_shape, num_classes, options)


def compare(keys: list[str], input_shape: tuple[int, ...], num_classes: int) -> pd.DataFrame:
    """Parameter counts and depth of several architectures on one input."""
    return summary.compare(keys, input_shape, num_classes)


def training_memory_mb(report_: ModelReport, batch_size: int) -> float:
    """A rough peak of memory for training this model with Adam at this batch size."""
    return summary.training_memory_mb(report_, batch_size)


def feature_maps(key: str, input_shape: tuple[int, ...], num_classes: int, options: dict | None,
                 image: np.ndarray, seed: int = 0, limit: int = 32) -> list[LayerMaps]:
    """`image` (uint8, any size) preprocessed as in training and passed through a fresh model of `key`
    (weights drawn from `seed`): each conv/pool layer's output shape and channels."""
    summary.check_buildable(key, input_shape, num_classes, options)
    return inspection.untrained_feature_maps(key, input_shape, num_classes, options, to_model_input(image, input_shape),
                                             seed, limit)
