"""Augmentation pipelines of Keras preprocessing layers: specs, checks, building, samples, code.

A pipeline is a plain list of steps, `[{"layer": "RandomFlip", "params": {"mode": "horizontal"}}]`,
so it can be stored with a run, edited on a page and turned into Keras code. Each layer's
parameters are described here (kind, range, default) so a page can draw one control per
parameter with ranges that follow the image size. `value_range` is not a user setting: it is
derived from where the layer sits (0..255 before a Rescaling, the rescaled range after).
"""
from __future__ import annotations

import copy
import io
from dataclasses import dataclass
from typing import Any

import numpy as np

MAX_SAMPLES = 48


class AugmentError(ValueError):
    """A pipeline that cannot run on this image; the message names the step and the fix."""


@dataclass(frozen=True)
class Param:
    """One parameter of a layer: how a page draws it and what values are allowed."""

    name: str
    kind: str  # "int_side" (pixels, up to the image side), "float" (a slider), "number" (typed), "choice"
    default: Any
    low: float | None = None
    high: float | None = None
    choices: tuple = ()
    help: str = ""


FILL = Param("fill_mode", "choice", "reflect", choices=("reflect", "constant", "nearest", "wrap"))
_F = lambda name, default, low, high, help="": Param(name, "float", default, low, high, help=help)  # noqa: E731

LAYERS: dict[str, tuple[Param, ...]] = {
    # geometry that changes the shape (applied at inference too)
    "Resizing": (Param("height", "int_side", 224, 1, 1024), Param("width", "int_side", 224, 1, 1024)),
    "CenterCrop": (Param("height", "int_side", 150, 1, None), Param("width", "int_side", 150, 1, None)),
    "RandomCrop": (Param("height", "int_side", 150, 1, None), Param("width", "int_side", 200, 1, None)),
    "Rescaling": (Param("scale", "number", 1 / 255, -10, 10, help="multiply pixel values by this (1/255 ≈ 0.00392)"),
                  Param("offset", "number", 0.0, -255, 255, help="then add this")),
    # random geometry
    "RandomFlip": (Param("mode", "choice", "horizontal_and_vertical",
                         choices=("horizontal", "vertical", "horizontal_and_vertical")),),
    "RandomRotation": (_F("factor", 0.1, 0.0, 1.0, "fraction of a full turn, both ways"), FILL),
    "RandomZoom": (_F("height_factor", 0.2, -0.9, 0.9, "negative zooms in, positive out"), FILL),
    "RandomTranslation": (_F("height_factor", 0.1, 0.0, 0.9), _F("width_factor", 0.1, 0.0, 0.9), FILL),
    "RandomShear": (_F("x_factor", 0.2, 0.0, 1.0), _F("y_factor", 0.0, 0.0, 1.0), FILL),
    "RandomPerspective": (_F("factor", 1.0, 0.0, 1.0, "chance of a perspective change"),
                          _F("scale", 0.3, 0.0, 1.0, "strength")),
    # random colour
    "RandomContrast": (_F("factor", 0.3, 0.0, 1.0),),
    "RandomBrightness": (_F("factor", 0.2, 0.0, 1.0),),
    "RandomSaturation": (_F("factor", 0.5, 0.0, 1.0, "0.5 keeps the saturation on average"),),
    "RandomHue": (_F("factor", 0.2, 0.0, 1.0),),
    "RandomGrayscale": (_F("factor", 0.5, 0.0, 1.0, "chance of turning grey"),),
    "RandomSharpness": (_F("factor", 0.5, 0.0, 1.0),),
    "RandomPosterization": (_F("factor", 4.0, 1.0, 8.0, "bits kept per channel"),),
    "RandomInvert": (_F("factor", 0.5, 0.0, 1.0, "chance of inverting"),),
    "RandomGaussianBlur": (_F("factor", 1.0, 0.0, 1.0, "chance of blurring"), _F("sigma", 1.0, 0.1, 10.0)),
    "RandomErasing": (_F("factor", 1.0, 0.0, 1.0, "chance of erasing a patch"), _F("scale", 0.2, 0.02, 0.9)),
    "RandomColorDegeneration": (_F("factor", 0.5, 0.0, 1.0),),
}
SHAPE_LAYERS = ("Resizing", "CenterCrop", "RandomCrop")
_VALUE_RANGE_LAYERS = {"RandomContrast", "RandomBrightness", "RandomSaturation", "RandomHue", "RandomSharpness",
                       "RandomPosterization", "RandomInvert", "RandomGaussianBlur", "RandomErasing",
                       "RandomColorDegeneration"}
COURSE_IMAGE_SIDE = 224  # "IMG" in the course's presets

PRESETS: dict[str, list[dict]] = {
    "dog": [
        {"layer": "Resizing", "params": {"height": COURSE_IMAGE_SIDE, "width": COURSE_IMAGE_SIDE}},
        {"layer": "Rescaling", "params": {"scale": 1 / 255, "offset": 0.0}},
        {"layer": "RandomCrop", "params": {"height": 150, "width": 200}},
    ],
    "cat": [
        {"layer": "Resizing", "params": {"height": COURSE_IMAGE_SIDE, "width": COURSE_IMAGE_SIDE}},
        {"layer": "Rescaling", "params": {"scale": 1 / 255, "offset": 0.0}},
        {"layer": "RandomFlip", "params": {"mode": "horizontal_and_vertical"}},
        {"layer": "RandomRotation", "params": {"factor": 0.5, "fill_mode": "reflect"}},
    ],
}


def preset(name: str) -> list[dict]:
    """A fresh copy of a course preset: callers edit it freely without changing the preset for others."""
    return copy.deepcopy(PRESETS[name])


def default_step(layer: str, height: int, width: int) -> dict:
    """A new step with default parameters, crops fitted to an image of height x width."""
    params = {p.name: p.default for p in LAYERS[layer]}
    if layer in ("CenterCrop", "RandomCrop"):
        params["height"], params["width"] = max(1, height * 3 // 4), max(1, width * 3 // 4)
    return {"layer": layer, "params": params}


def layer_summary(layer: str) -> str:
    """The first line of the Keras layer's docstring, to show beside it."""
    import keras

    return ((getattr(keras.layers, layer).__doc__ or "").strip().splitlines() or [""])[0]


def check(spec: list[dict], height: int, width: int) -> list[tuple[int, int]]:
    """Validate a pipeline for an input of height x width; returns each step's output size.

    Raises AugmentError naming the step, e.g. a crop larger than the image or a zero-size resize.
    """
    if not isinstance(spec, list):
        raise AugmentError("augmentation: a pipeline is a list of steps, e.g. "
                           '[{"layer": "RandomFlip", "params": {"mode": "horizontal"}}]')
    sizes, h, w = [], height, width
    for i, step in enumerate(spec, start=1):
        if not isinstance(step, dict) or not isinstance(step.get("params", {}), dict):
            raise AugmentError(f"augmentation: step {i} must look like "
                               f'{{"layer": "RandomFlip", "params": {{...}}}}; got {step!r}'[:200])
        layer, params = step.get("layer"), step.get("params", {})
        if layer not in LAYERS:
            raise AugmentError(f"augmentation: step {i} is {layer!r}, not one of {', '.join(LAYERS)}")
        known = {p.name: p for p in LAYERS[layer]}
        for name, value in params.items():
            if name not in known:
                raise AugmentError(f"augmentation: step {i} ({layer}) has no parameter {name!r}")
            p = known[name]
            if p.kind == "choice" and value not in p.choices:
                raise AugmentError(f"augmentation: step {i} ({layer}) {name} must be one of {', '.join(p.choices)}")
            if p.kind in ("float", "number") and not (isinstance(value, (int, float)) and p.low <= value <= p.high):
                raise AugmentError(f"augmentation: step {i} ({layer}) {name} must be from {p.low:g} to {p.high:g}; "
                                   f"got {value!r}")
            if p.kind == "int_side" and not (isinstance(value, int) and value >= 1):
                raise AugmentError(f"augmentation: step {i} ({layer}) {name} must be a whole number of pixels, "
                                   f"at least 1; got {value!r}")
        if layer == "Resizing":
            h, w = params.get("height", 224), params.get("width", 224)
            if h > 4096 or w > 4096:
                raise AugmentError(f"augmentation: step {i} (Resizing) to {h}×{w} is too large; keep each side ≤ 4096")
        elif layer in ("CenterCrop", "RandomCrop"):
            ch, cw = params.get("height", 1), params.get("width", 1)
            if ch > h or cw > w:
                raise AugmentError(f"augmentation: step {i} ({layer}) crops {ch}×{cw} from a {h}×{w} image; "
                                   f"make the crop at most {h}×{w}, or resize to a larger size first")
            h, w = ch, cw
        sizes.append((h, w))
    return sizes


def _value_ranges(spec: list[dict], start: tuple[float, float] = (0.0, 255.0)) -> list[tuple[float, float]]:
    """The pixel value range each step receives (`start`, 0..255 for photos, until a Rescaling maps it)."""
    (low, high), ranges = start, []
    for step in spec:
        ranges.append((low, high))
        if step["layer"] == "Rescaling":
            scale, offset = step["params"].get("scale", 1 / 255), step["params"].get("offset", 0.0)
            low, high = sorted((low * scale + offset, high * scale + offset))
    return ranges


def _layer_kwargs(step: dict, value_range: tuple[float, float]) -> dict:
    kwargs = dict(step.get("params", {}))
    if step["layer"] == "RandomZoom":
        kwargs.setdefault("width_factor", None)  # None: zoom keeps the aspect ratio
    if step["layer"] == "RandomPosterization":
        kwargs["factor"] = (1, int(kwargs.get("factor", 4)))  # Keras wants a range of bits
    if step["layer"] in _VALUE_RANGE_LAYERS:
        kwargs["value_range"] = tuple(round(v, 6) for v in value_range)
    return kwargs


def build(spec: list[dict], height: int, width: int, seed: int = 0,
          input_range: tuple[float, float] = (0.0, 255.0)):
    """A `keras.Sequential` of the pipeline; every random layer gets its own seed from `seed`."""
    import keras

    check(spec, height, width)
    layers = []
    for i, (step, value_range) in enumerate(zip(spec, _value_ranges(spec, input_range))):
        cls = getattr(keras.layers, step["layer"])
        kwargs = _layer_kwargs(step, value_range)
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
    ranges = _value_ranges(spec + [{"layer": "end", "params": {}}])[-1]
    scale = 255.0 / (ranges[1] - ranges[0]) if ranges[1] != ranges[0] else 1.0
    shown = np.clip((out - ranges[0]) * scale, 0, 255).astype(np.uint8)
    if shown.shape[-1] == 1:
        shown = np.repeat(shown, 3, axis=-1)
    return Samples(images=list(shown), output_shape=tuple(out.shape[1:]), value_range=(low, high))


def code(spec: list[dict], seed: int | None = None) -> str:
    """Python that builds the same pipeline, ready to copy."""
    lines = ["import keras", "from keras import layers", "", "augmentation = keras.Sequential(["]
    for i, (step, value_range) in enumerate(zip(spec, _value_ranges(spec))):
        kwargs = _layer_kwargs(step, value_range)
        if seed is not None and step["layer"].startswith("Random"):
            kwargs["seed"] = seed + i
        args = ", ".join(f"{k}={_literal(v)}" for k, v in kwargs.items())
        lines.append(f"    layers.{step['layer']}({args}),")
    lines.append('], name="augmentation")')
    return "\n".join(lines) + "\n"


def _literal(value) -> str:
    if isinstance(value, float):
        return "1 / 255" if abs(value - 1 / 255) < 1e-12 else repr(round(value, 6))
    return repr(value)


def grid_png(images: list[np.ndarray], columns: int = 6, pad: int = 4) -> bytes:
    """The images side by side in a grid, as PNG bytes for a download button."""
    from PIL import Image

    h = max(i.shape[0] for i in images)
    w = max(i.shape[1] for i in images)
    rows = -(-len(images) // columns)
    sheet = Image.new("RGB", (columns * (w + pad) + pad, rows * (h + pad) + pad), "white")
    for k, img in enumerate(images):
        r, c = divmod(k, columns)
        sheet.paste(Image.fromarray(img), (pad + c * (w + pad), pad + r * (h + pad)))
    buffer = io.BytesIO()
    sheet.save(buffer, "PNG")
    return buffer.getvalue()


def training_layers(spec: list[dict]) -> list[dict]:
    """The steps used inside a model that trains: Rescaling is left out (batches arrive in [0, 1]),
    and each RandomCrop is followed by a CenterCrop of its size. Keras 3.15's RandomCrop passes
    images through uncropped outside training, although its docstring promises a centre crop;
    the CenterCrop changes nothing on a cropped training batch and gives that centre crop at evaluation."""
    steps = []
    for step in spec:
        if step["layer"] == "Rescaling":
            continue
        steps.append(step)
        if step["layer"] == "RandomCrop":
            steps.append({"layer": "CenterCrop", "params": dict(step["params"])})
    return steps


def output_side(spec: list[dict], height: int, width: int) -> tuple[int, int]:
    """(height, width) after the pipeline (checked)."""
    sizes = check(spec, height, width)
    return sizes[-1] if sizes else (height, width)


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
