"""The Models page's work: an architecture's report (layers, parameters, memory, diagram, code) and
several architectures side by side. Builds Keras models in the page's process, on first use."""
from __future__ import annotations

import pandas as pd

from core.training import summary
from core.training.summary import ModelReport

__all__ = ["ModelReport", "report", "compare", "training_memory_mb"]


def report(key: str, input_shape: tuple[int, ...], num_classes: int, options: dict | None = None) -> ModelReport:
    """Build architecture `key` for this input and describe it; ValueError (one line) for bad options."""
    return summary.report(key, input_shape, num_classes, options)


def compare(keys: list[str], input_shape: tuple[int, ...], num_classes: int) -> pd.DataFrame:
    """Parameter counts and depth of several architectures on one input."""
    return summary.compare(keys, input_shape, num_classes)


def training_memory_mb(report_: ModelReport, batch_size: int) -> float:
    """A rough peak of memory for training this model with Adam at this batch size."""
    return summary.training_memory_mb(report_, batch_size)
