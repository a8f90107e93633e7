"""Architecture presets: a registry of builders that adapt to a dataset's input shape and classes.

Builders import Keras lazily, so listing the presets costs nothing.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class Architecture:
    """A named model builder with a one-line explanation for the pages."""

    key: str
    title: str
    description: str
    build: Callable[[tuple[int, ...], int], object]  # (input_shape, num_classes) -> keras.Model


def _course_mlp(input_shape: tuple[int, ...], num_classes: int, batch_norm: bool = False):
    import keras
    from keras import layers

    inputs = keras.Input(shape=input_shape, name="image")
    x = layers.Flatten(name="flatten")(inputs)
    for i, units in enumerate((1024, 256), start=1):
        if batch_norm:
            # The lesson's twin: normalise the pre-activations, then apply ReLU.
            x = layers.Dense(units, name=f"dense_{i}")(x)
            x = layers.BatchNormalization(name=f"batch_norm_{i}")(x)
            x = layers.Activation("relu", name=f"relu_{i}")(x)
        else:
            x = layers.Dense(units, activation="relu", name=f"dense_{i}")(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="classes")(x)
    return keras.Model(inputs, outputs, name="mlp_bn" if batch_norm else "mlp")


ARCHITECTURES: dict[str, Architecture] = {
    a.key: a
    for a in (
        Architecture(
            key="mlp",
            title="MLP 1024-256 (course)",
            description="Flatten → Dense 1024 ReLU → Dense 256 ReLU → Dense softmax.",
            build=lambda shape, n: _course_mlp(shape, n, batch_norm=False),
        ),
        Architecture(
            key="mlp_bn",
            title="MLP 1024-256 + BatchNorm (course)",
            description="The same MLP with BatchNormalization before each ReLU.",
            build=lambda shape, n: _course_mlp(shape, n, batch_norm=True),
        ),
    )
}


def build_model(key: str, input_shape: tuple[int, ...], num_classes: int):
    """Build a fresh Keras model for `key` on the given input shape and class count."""
    if key not in ARCHITECTURES:
        raise KeyError(f"architecture: unknown {key!r}; choose one of {', '.join(ARCHITECTURES)}")
    return ARCHITECTURES[key].build(tuple(input_shape), int(num_classes))
