"""An architecture declared as a plain stack of layers: one declaration from which the training layer
builds the Keras model (core/training/builders.py `build_stack`) and this module infers, without
TensorFlow, each layer's output shape, the parameter count, the smallest input side it can take and its
largest Dense layer. A softmax Dense layer over the dataset's classes always ends the stack."""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Conv:
    """Conv2D with bias."""

    filters: int
    kernel: int = 3
    stride: int = 1
    padding: str = "valid"  # or "same"
    activation: str | None = "relu"


@dataclass(frozen=True)
class Pool:
    """Max or average pooling over size×size windows, with a stride of `size` (Keras' default)."""

    size: int = 2
    kind: str = "max"  # or "average"


@dataclass(frozen=True)
class Dense:
    """Dense with bias."""

    units: int
    activation: str | None = "relu"
    name: str = ""  # Keras' layer name; by default numbered by kind (dense_1, dense_2, ...)


@dataclass(frozen=True)
class Flatten:
    """Flatten the feature maps."""


@dataclass(frozen=True)
class GlobalAveragePool:
    """Average each channel over the image."""


@dataclass(frozen=True)
class BatchNorm:
    """BatchNormalization: scale, shift and two running statistics per channel."""


@dataclass(frozen=True)
class Dropout:
    """Dropout of `rate` while training."""

    rate: float
    name: str = ""


@dataclass(frozen=True)
class Activation:
    """An activation on its own (after a BatchNorm that sits between a layer and its activation)."""

    kind: str = "relu"


Layer = Conv | Pool | Dense | Flatten | GlobalAveragePool | BatchNorm | Dropout | Activation


def keras_layers(stack: tuple[Layer, ...]) -> list[tuple[str, dict]]:
    """Each layer as Keras' own (its class in keras.layers and its arguments), numbered by kind as the other
    builders name theirs: what the model is built from, and what the Models page's code writes out."""
    made, counts = [], {}
    for spec in stack:
        n = counts[type(spec)] = counts.get(type(spec), 0) + 1
        if isinstance(spec, Conv):
            made.append(("Conv2D", dict(filters=spec.filters, kernel_size=spec.kernel, strides=spec.stride,
                                        padding=spec.padding, activation=spec.activation, name=f"conv_{n}")))
        elif isinstance(spec, Pool):
            kind = "MaxPooling2D" if spec.kind == "max" else "AveragePooling2D"
            made.append((kind, dict(pool_size=spec.size, name=f"pool_{n}")))
        elif isinstance(spec, Dense):
            made.append(("Dense", dict(units=spec.units, activation=spec.activation, name=spec.name or f"dense_{n}")))
        elif isinstance(spec, Dropout):
            made.append(("Dropout", dict(rate=spec.rate, name=spec.name or f"dropout_{n}")))
        elif isinstance(spec, Activation):
            made.append(("Activation", dict(activation=spec.kind, name=f"{spec.kind}_{n}")))
        else:
            name = {Flatten: "flatten", GlobalAveragePool: "gap", BatchNorm: f"batch_norm_{n}"}[type(spec)]
            kind = {Flatten: "Flatten", GlobalAveragePool: "GlobalAveragePooling2D", BatchNorm: "BatchNormalization"}
            made.append((kind[type(spec)], dict(name=name)))
    return made


@dataclass(frozen=True)
class StackSize:
    """What a stack comes to on one input: its parameters, its largest Dense layer's weights, and whether
    every feature map keeps at least one pixel."""

    params: int
    largest_dense: int
    fits: bool


def _side(n: int, layer: Conv | Pool) -> int:
    if isinstance(layer, Pool):
        return n // layer.size
    if layer.padding == "same":
        return math.ceil(n / layer.stride)
    return (n - layer.kernel) // layer.stride + 1


def size(stack: tuple[Layer, ...], input_shape: tuple[int, ...], num_classes: int) -> StackSize:
    """The stack's size on `input_shape` (height, width, channels) with `num_classes` outputs."""
    h, w, channels = input_shape[0], input_shape[1], input_shape[-1]
    flat = None  # the features once flattened (None while they are still maps)
    params = largest = 0
    fits = True
    for layer in (*stack, Dense(num_classes, "softmax")):
        if isinstance(layer, (Conv, Pool)):
            h, w = _side(h, layer), _side(w, layer)
            fits = fits and h >= 1 and w >= 1
            if isinstance(layer, Conv):
                params += layer.kernel * layer.kernel * channels * layer.filters + layer.filters
                channels = layer.filters
        elif isinstance(layer, Flatten):
            flat = max(h, 0) * max(w, 0) * channels
        elif isinstance(layer, GlobalAveragePool):
            flat = channels
        elif isinstance(layer, BatchNorm):
            params += 4 * (flat if flat is not None else channels)
        elif isinstance(layer, Dense):
            inputs = flat if flat is not None else channels  # Keras' Dense on maps acts on the last axis
            params += inputs * layer.units + layer.units
            largest = max(largest, inputs * layer.units)
            flat = channels = layer.units
    return StackSize(params, largest, fits)


@functools.lru_cache(maxsize=64)
def min_side(stack: tuple[Layer, ...], largest: int = 4096) -> int:
    """The smallest square input side on which every feature map keeps at least one pixel."""
    for side in range(1, largest + 1):
        if size(stack, (side, side, 1), 2).fits:
            return side
    return largest + 1
