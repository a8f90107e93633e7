"""A finished run's trained model, looked into: classify a photo, Grad-CAM heat maps, first-layer filters
and feature maps.

Models are loaded once into a small cache shared by every browser session of the process (thirty
students looking at one run share one copy), keyed by the model file and its modification time, and used
under one lock: Keras models are not meant to be called from several threads at once. Every image is
preprocessed as the run's training batches were: resized to the run's input (image folders were resized
to a square), converted to its channels, and scaled to [0, 1].
"""
from __future__ import annotations

import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.data.datasets import get_info, load
from core.data.images import to_model_input
from core.domain.config import TrainConfig
from core.domain.model_files import is_model_file
from core.domain.people import Actor
from core.domain.statuses import SUCCEEDED, TRACKED
from core.errors import Refusal
from core.services import jobs, tracked_models, tracking
from core.settings import Settings, load_settings
from core.training import inspection
from core.training.inspection import LayerMaps

CACHED_MODELS = 4  # at most this many models in memory (a deep MLP is 200 MB)
_cache: OrderedDict[tuple[str, float], object] = OrderedDict()
_lock = threading.Lock()


class NoModel(Refusal, ValueError):
    """The run has no model to look into; the message says why."""


@dataclass(frozen=True)
class ModelInput:
    """What the run's model takes, and how an image is made into it."""

    shape: tuple[int, int, int]
    class_names: tuple[str, ...]
    how: str  # one sentence for the page
    dataset: str  # the run's dataset key


@dataclass(frozen=True)
class Classification:
    """A model's answer for one image: every class's probability, most likely first, and the input it saw."""

    classes: tuple[str, ...]
    probabilities: tuple[float, ...]
    seen: np.ndarray  # uint8: the preprocessed image as the model saw it


def _model_path(run_id: int, settings: Settings, actor: Actor | None) -> Path:
    run = jobs.get_run(run_id, settings, actor)  # None for another's run in exam mode
    path = settings.runs_dir / str(run_id) / "model.keras"
    if run is None or run.status != SUCCEEDED or not path.is_file():
        raise NoModel(f"run: #{run_id} has no trained model; only a succeeded run keeps one")
    if is_model_file(run.config_dict.get("architecture", "")):  # its layers are a student's: workers load them
        raise NoModel(f"run: #{run_id} trained a model file handed in by a student, and the dashboard does not load "
                      "those in its own process; its scores, curves and mistakes are on this page")
    _refuse_a_sent_model(run_id, settings)
    return path


def _refuse_a_sent_model(run_id: int, settings: Settings) -> None:
    """A tracked run's model sent over the class's API is a student's file: looked at on the Models page, never
    here."""
    if (kept := tracked_models.linked_model_file(run_id, settings)) is not None:
        raise NoModel(f"run: #{run_id}'s model was sent by its script over the class's API, and the dashboard does "
                      f"not load those in its own process; it is model file #{kept} on the Models page (its layers, "
                      "feature maps and score)")


def _model(run_id: int, settings: Settings, actor: Actor | None):
    """The run's model from the shared cache (loaded on first use; the oldest dropped past CACHED_MODELS)."""
    path = _model_path(run_id, settings, actor)
    key = (str(path), path.stat().st_mtime)
    if key not in _cache:
        _cache[key] = inspection.load(path)
        while len(_cache) > CACHED_MODELS:
            _cache.popitem(last=False)
    _cache.move_to_end(key)
    return _cache[key]


def cached_models() -> int:
    """How many models the process holds now (for the memory benchmark)."""
    return len(_cache)


def _config(run_id: int, settings: Settings, actor: Actor | None) -> TrainConfig:
    run = jobs.get_run(run_id, settings, actor)
    if run is None:
        raise NoModel(f"run: there is no run #{run_id}")
    if run.kind == TRACKED:
        _refuse_a_sent_model(run_id, settings)
        return _tracked_input(run, settings)
    return TrainConfig.from_json(run.config)


def _tracked_input(run, settings: Settings) -> TrainConfig:
    """A run from the user's own code, as far as looking inside needs: its dataset (which must be one of this
    lab's, at its own size, for photos and test images to be prepared as in training)."""
    config = run.config_dict
    info = get_info(config.get("dataset") or "", settings)
    if info is None:
        raise NoModel(f"run: #{run.id} names no dataset of this lab; say which with TrainLabCallback(dataset=...) "
                      "or track --dataset to look inside its model")
    shape = list(config.get("input_shape") or [])
    if shape and shape != list(info.input_shape):
        raise NoModel(f"run: #{run.id}'s model takes {'×'.join(map(str, shape))} inputs, and {info.title} images are "
                      f"{'×'.join(map(str, info.input_shape))}: Train Lab cannot prepare images for it")
    layers = tracking.layer_table(run.id, settings)
    answers = re.findall(r"\d+", layers[-1]["output"]) if layers else []
    if answers and int(answers[-1]) != info.num_classes:
        raise NoModel(f"run: #{run.id}'s model answers {answers[-1]} classes, and {info.title} has "
                      f"{info.num_classes}: its answers could not be named")
    return TrainConfig(dataset=info.key)


def model_input(run_id: int, settings: Settings | None = None, actor: Actor | None = None) -> ModelInput:
    """The run's input shape and class names, and how an image is prepared for it."""
    settings = settings or load_settings()
    config = _config(run_id, settings, actor)
    info = get_info(config.dataset, settings)
    if info is None:
        raise NoModel(f"run: #{run_id}'s dataset {config.dataset!r} is no longer on this machine")
    info = info.with_image_size(config.image_size)
    h, w, c = info.input_shape
    names = info.class_names or tuple(str(i) for i in range(info.num_classes))
    how = (f"Resized to {h}×{w}" + (" (squeezed to a square, as the image folder was)" if info.resizable else "")
           + f", {'grey (luma)' if c == 1 else 'RGB'}, pixel values scaled to 0..1, as in training.")
    return ModelInput((h, w, c), tuple(names), how, config.dataset)


def _seen(pixels: np.ndarray) -> np.ndarray:
    return np.round(pixels * 255).astype(np.uint8).squeeze()


def classify(run_id: int, image: np.ndarray, settings: Settings | None = None, invert: bool = False,
             actor: Actor | None = None) -> Classification:
    """The run's model on `image` (uint8, any size; `invert` for a dark-on-light digit against MNIST's
    light-on-dark), every class with its probability, most likely first."""
    settings = settings or load_settings()
    spec = model_input(run_id, settings, actor)
    pixels = to_model_input(image, spec.shape)
    pixels = 1.0 - pixels if invert else pixels
    with _lock:
        probabilities = inspection.predict(_model(run_id, settings, actor), pixels)
    order = np.argsort(probabilities)[::-1]
    return Classification(tuple(spec.class_names[i] for i in order), tuple(float(probabilities[i]) for i in order),
                          _seen(pixels))


def grad_cams(run_id: int, images: list[np.ndarray], settings: Settings | None = None,
              actor: Actor | None = None) -> list[tuple[np.ndarray, int]]:
    """Grad-CAM of the predicted class for each image (uint8 test images of the run's dataset): the heat map
    at the input's size (0..1) and the class it explains."""
    settings = settings or load_settings()
    spec = model_input(run_id, settings, actor)
    with _lock:
        model = _model(run_id, settings, actor)
        try:
            return [inspection.grad_cam(model, to_model_input(image, spec.shape)) for image in images]
        except ValueError as exc:
            raise NoModel(f"run: #{run_id}: {exc}") from None


def filters(run_id: int, settings: Settings | None = None, actor: Actor | None = None) -> tuple[str, list[np.ndarray]]:
    """The first conv layer's name and kernels as pictures ("", [] for a model without one)."""
    settings = settings or load_settings()
    with _lock:
        return inspection.first_filters(_model(run_id, settings, actor))


def feature_maps(run_id: int, image: np.ndarray, settings: Settings | None = None, limit: int = 16,
                 actor: Actor | None = None) -> list[LayerMaps]:
    """Each top-level conv/pool layer's output for `image`, through the trained model."""
    settings = settings or load_settings()
    spec = model_input(run_id, settings, actor)
    with _lock:
        return inspection.feature_maps(_model(run_id, settings, actor), to_model_input(image, spec.shape), limit)


def test_images(run_id: int, start: int, count: int, settings: Settings | None = None,
                actor: Actor | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Test images `start`..`start + count` of the run's dataset (uint8, at the run's image size) and their
    labels; DatasetUnavailable (one line) when the dataset is no longer on this machine."""
    settings = settings or load_settings()
    config = _config(run_id, settings, actor)
    data = load(config.dataset, settings, config.image_size)
    return data.x_test[start:start + count], data.y_test[start:start + count]
