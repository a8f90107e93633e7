"""A look inside a network: what each convolution and pooling layer makes of one image.

`feature_maps` runs an image through a model and returns, for every Conv2D and pooling layer (those of
nested models included: an augmented run nests its architecture), its output shape and its channels as
grayscale pictures, so a page can show the conv arithmetic of the Models page as images.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Layer classes whose output is a stack of 2-D maps worth looking at.
MAP_LAYERS = ("Conv2D", "DepthwiseConv2D", "SeparableConv2D", "MaxPooling2D", "AveragePooling2D")


@dataclass(frozen=True)
class LayerMaps:
    """One layer's output for one image: its shape and up to `limit` channels as uint8 pictures."""

    name: str
    kind: str
    output_shape: tuple[int, int, int]  # height, width, channels
    channels: tuple[np.ndarray, ...]  # uint8 (height, width), each stretched to 0..255 on its own


def _picture(channel: np.ndarray) -> np.ndarray:
    """A channel stretched to 0..255; a constant one (a ReLU that never fired) is black, not noise."""
    low, high = float(channel.min()), float(channel.max())
    if high - low < 1e-12:
        return np.zeros(channel.shape, dtype=np.uint8)
    return np.round((channel - low) / (high - low) * 255).astype(np.uint8)


def map_layers(model) -> list:
    """The model's conv and pooling layers, nested models' ones included, in order."""
    return [layer for layer in all_layers(model) if type(layer).__name__ in MAP_LAYERS]


def _batch(model, image: np.ndarray):
    """One image as a batch in the structure the model's inputs were declared with (a built model keeps a
    list, a loaded one a single tensor; Keras warns at every call that does not match)."""
    batch = image[None].astype(np.float32)
    return [batch] if isinstance(model.input, (list, tuple)) else batch


class _Catching:
    """Within the block, each of `layers` keeps its first output of a forward pass. A probe
    `keras.Model(model.inputs, layer.output)` cannot reach a layer inside a nested model, so the layers'
    own `call` is wrapped instead, as `grad_cam` does for one."""

    def __init__(self, layers: list):
        self.layers, self.outputs = layers, {}

    def __enter__(self) -> dict:
        for layer in self.layers:
            original = layer.call

            def catching(*args, _layer=layer, _original=original, **kwargs):
                out = _original(*args, **kwargs)
                self.outputs.setdefault(id(_layer), out)
                return out

            layer.call = catching
        return self.outputs

    def __exit__(self, *exc) -> None:
        for layer in self.layers:
            del layer.call  # back to the class's own method


def feature_maps(model, image: np.ndarray, limit: int = 32) -> list[LayerMaps]:
    """Each conv/pool layer's output for `image` (float32 (H, W, C), already the model's input), with at
    most `limit` channels a layer."""
    import keras

    layers = map_layers(model)
    if not layers:
        return []
    with _Catching(layers) as outputs:
        model(_batch(model, image), training=False)
    maps = []
    for layer in layers:
        if id(layer) not in outputs:  # a layer the forward pass did not reach
            continue
        values = keras.ops.convert_to_numpy(outputs[id(layer)])[0]
        maps.append(LayerMaps(layer.name, type(layer).__name__, tuple(int(d) for d in values.shape),
                              tuple(_picture(values[..., c]) for c in range(min(limit, values.shape[-1])))))
    return maps


def untrained_feature_maps(key: str, input_shape: tuple[int, ...], num_classes: int, options: dict | None,
                           image: np.ndarray, seed: int = 0, limit: int = 32) -> list[LayerMaps]:
    """`feature_maps` of a fresh model of architecture `key`, its weights drawn from `seed`."""
    import keras

    from core.training.builders import build_model

    keras.utils.set_random_seed(seed)
    return feature_maps(build_model(key, input_shape, num_classes, options), image, limit)


# -- a trained run's model ------------------------------------------------------------------------
def load(path) -> object:
    """A saved run's model (`model.keras`), for inference only (no optimizer state is restored)."""
    import keras

    model = keras.saving.load_model(path, compile=False)
    try:
        model.input
    except (AttributeError, ValueError):
        # A Sequential saved by a student's own script comes back built but never called, with no input to
        # build feature maps and Grad-CAM from: one symbolic call at its build shape gives it one.
        shape = (model.get_build_config() or {}).get("input_shape")
        if shape:
            model(keras.Input(shape=tuple(shape[1:])))
    return model


def all_layers(model) -> list:
    """Every layer, nested models' layers in place of the model (an augmented run nests its architecture)."""
    import keras

    out = []
    for layer in model.layers:
        out.extend(all_layers(layer) if isinstance(layer, keras.Model) else [layer])
    return out


def conv_layers(model) -> list:
    """The Conv2D layers of the model, nested ones included, in order."""
    return [layer for layer in all_layers(model) if type(layer).__name__ == "Conv2D"]


def predict(model, image: np.ndarray) -> np.ndarray:
    """The model's class probabilities for one preprocessed image (float32 (H, W, C))."""
    import keras

    return keras.ops.convert_to_numpy(model(_batch(model, image), training=False))[0]


def first_filters(model) -> tuple[str, list[np.ndarray]]:
    """The first conv layer's name and its kernels as pictures: RGB (k, k, 3) for a colour input, grey
    (k, k) otherwise (the mean over input channels), stretched together to 0..255 so their strengths
    compare; ([] when there is no conv layer)."""
    import keras

    convs = conv_layers(model)
    if not convs:
        return "", []
    kernel = keras.ops.convert_to_numpy(convs[0].kernel)  # (k, k, in, out)
    low, high = float(kernel.min()), float(kernel.max())
    scaled = np.round((kernel - low) / max(high - low, 1e-12) * 255).astype(np.uint8)
    if kernel.shape[2] == 3:
        return convs[0].name, [scaled[..., i] for i in range(kernel.shape[3])]
    grey = scaled.astype(np.float32).mean(axis=2)
    return convs[0].name, [grey[..., i].astype(np.uint8) for i in range(kernel.shape[3])]


def grad_cam(model, image: np.ndarray, class_index: int | None = None) -> tuple[np.ndarray, int]:
    """Grad-CAM (Selvaraju et al.) for one preprocessed image: the last conv layer's channels weighted by
    the mean gradient of the class score over each, ReLU, scaled to 0..1 and resized to the image; with
    the class it explains (the predicted one unless `class_index`).

    The layer's output is caught while the model runs eagerly under a GradientTape, so it works for a
    conv layer inside a nested model (an augmented run, transfer learning's base) too."""
    import keras
    import tensorflow as tf

    convs = conv_layers(model)
    if not convs:
        raise ValueError("Grad-CAM needs a convolutional layer; this model has none")
    with _Catching([convs[-1]]) as caught, tf.GradientTape() as tape:
        scores = model(_batch(model, image), training=False)
        index = int(tf.argmax(scores[0])) if class_index is None else int(class_index)
        score = scores[:, index]
    out = caught[id(convs[-1])]
    grads = tape.gradient(score, out)
    weights = tf.reduce_mean(grads, axis=(0, 1, 2))
    cam = tf.nn.relu(tf.reduce_sum(out[0] * weights, axis=-1)).numpy()
    cam = cam / cam.max() if cam.max() > 0 else cam
    resized = keras.ops.convert_to_numpy(tf.image.resize(cam[..., None], image.shape[:2], method="bilinear"))[..., 0]
    return np.clip(resized, 0.0, 1.0), index
