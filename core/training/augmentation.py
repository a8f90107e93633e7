"""Augmentation pipelines as Keras layers: building them, augmented samples of a photo, and a model
wrapped with its pipeline. The specs and their checks are in core/domain/augment.py."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.domain.augment import (
    MAX_SAMPLES,
    AugmentError,
    check,
    layer_kwargs,
    output_side,
    training_layers,
    value_ranges,
)


def layer_summary(layer: str) -> str:
    """The first line of the Keras layer's docstring, to show beside it."""
    import keras

    return ((getattr(keras.layers, layer).__doc__ or "").strip().splitlines() or [""])[0]


def build(spec: list[dict], height: int, width: int, seed: int = 0,
          input_range: tuple[float, float] = (0.0, 255.0)):
    """A `keras.Sequential` of the pipeline; every random layer gets its own seed from `seed`."""
    import keras

    check(spec, height, width)
    layers = []
    for i, (step, value_range) in enumerate(zip(spec, value_ranges(spec, input_range))):
        cls = getattr(keras.layers, step["layer"])
        kwargs = layer_kwargs(step, value_range)
        if step["layer"].startswith("Random"):
            kwargs["seed"] = seed + i
        layers.append(cls(**kwargs))
    # An empty pipeline (cleared, or only a Rescaling when training) passes images through.
    return keras.Sequential(layers or [keras.layers.Identity()], name="augmentation")


@dataclass(frozen=True)
class Samples:
    """Augmented copies of one image, ready to show."""

    images: list[np.ndarray]  # uint8 (H, W, 3) for display
    output_shape: tuple[int, ...]
    value_range: tuple[float, float]  # of the pipeline's raw output


def augment(image: np.ndarray, spec: list[dict], count: int, seed: int = 0) -> Samples:
    """`count` augmented copies of a uint8 (H, W, C) image, reproducible from `seed`."""
    if not 1 <= count <= MAX_SAMPLES:
        raise AugmentError(f"samples: choose from 1 to {MAX_SAMPLES}; got {count}")
    pipeline = build(spec, image.shape[0], image.shape[1], seed)
    # One call per copy, not one batch of copies: Keras draws some transforms once per batch
    # (RandomCrop's offset, RandomGaussianBlur's strength), which would make every copy alike.
    # Each call advances the layers' seed generators, so the copies differ and the set is
    # reproducible from `seed`.
    one = image[None].astype("float32")
    out = np.concatenate([np.asarray(pipeline(one, training=True)) for _ in range(count)])
    low, high = float(out.min()), float(out.max())
    # Show what the pipeline made, stretched back to 0..255 if it rescaled.
    ranges = value_ranges(spec + [{"layer": "end", "params": {}}])[-1]
    scale = 255.0 / (ranges[1] - ranges[0]) if ranges[1] != ranges[0] else 1.0
    shown = np.clip((out - ranges[0]) * scale, 0, 255).astype(np.uint8)
    if shown.shape[-1] == 1:
        shown = np.repeat(shown, 3, axis=-1)
    return Samples(images=list(shown), output_shape=tuple(out.shape[1:]), value_range=(low, high))


def wrap_model(base_builder, spec: list[dict], input_shape: tuple[int, ...], seed: int):
    """A model whose first layers are the augmentation pipeline, then the architecture built for the
    pipeline's output. Keras' random layers only act while fitting; resizes and crops always apply."""
    import keras

    steps = training_layers(spec)
    h, w = output_side(steps, input_shape[0], input_shape[1])
    base = base_builder((h, w, input_shape[2]))
    inputs = keras.Input(shape=input_shape, name="image")
    x = build(steps, input_shape[0], input_shape[1], seed, input_range=(0.0, 1.0))(inputs)
    return keras.Model(inputs, base(x), name=f"{base.name}_augmented")
