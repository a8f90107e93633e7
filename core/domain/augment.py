"""Augmentation pipelines of Keras preprocessing layers: specs, checks and their Keras code (no Keras here).

A pipeline is a plain list of steps, `[{"layer": "RandomFlip", "params": {"mode": "horizontal"}}]`,
so it can be stored with a run, edited on a page and turned into Keras code. Each layer's
parameters are described here (kind, range, default) so a page can draw one control per
parameter with ranges that follow the image size. `value_range` is not a user setting: it is
derived from where the layer sits (0..255 before a Rescaling, the rescaled range after).
"""
from __future__ import annotations

import copy
import typing
from dataclasses import dataclass
from typing import Any

from core.errors import Refusal

MAX_SAMPLES = 48


class AugmentError(Refusal, ValueError):
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


def _params_model(layer: str):
    """A strict pydantic model of one layer's parameters, made from its Param descriptions (cached)."""
    if layer not in _PARAM_MODELS:
        from pydantic import ConfigDict, Field, StrictFloat, StrictInt, create_model

        def annotation(p: Param):
            if p.kind == "choice":
                return typing.Literal[p.choices]
            if p.kind == "int_side":
                return typing.Annotated[StrictInt, Field(ge=1)]
            return typing.Annotated[StrictInt | StrictFloat, Field(ge=p.low, le=p.high)]

        _PARAM_MODELS[layer] = create_model(f"{layer}Params", __config__=ConfigDict(strict=True, extra="forbid"),
                                            **{p.name: (annotation(p), p.default) for p in LAYERS[layer]})
    return _PARAM_MODELS[layer]


_PARAM_MODELS: dict[str, object] = {}


def _param_problem(step_no: int, layer: str, params: dict) -> str | None:
    """The one-line message for the first parameter of a step its layer's model refuses, else None."""
    from pydantic import ValidationError

    try:
        _params_model(layer).model_validate(params)
    except ValidationError as exc:
        name = str(exc.errors()[0]["loc"][0])
        where = f"augmentation: step {step_no} ({layer})"
        p = {p.name: p for p in LAYERS[layer]}.get(name)
        if p is None:
            return f"{where} has no parameter {name!r}"
        if p.kind == "choice":
            return f"{where} {name} must be one of {', '.join(p.choices)}"
        if p.kind == "int_side":
            return f"{where} {name} must be a whole number of pixels, at least 1; got {params[name]!r}"
        return f"{where} {name} must be from {p.low:g} to {p.high:g}; got {params[name]!r}"
    return None


def check(spec: list[dict], height: int, width: int) -> list[tuple[int, int]]:
    """Validate a pipeline for an input of height x width; returns each step's output size.

    Each step's parameters are checked by a strict pydantic model made from LAYERS (types, ranges,
    choices, unknown names); what depends on the image (a crop larger than it) is checked here.
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
        problem = _param_problem(i, layer, params)
        if problem:
            raise AugmentError(problem)
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


def value_ranges(spec: list[dict], start: tuple[float, float] = (0.0, 255.0)) -> list[tuple[float, float]]:
    """The pixel value range each step receives (`start`, 0..255 for photos, until a Rescaling maps it)."""
    (low, high), ranges = start, []
    for step in spec:
        ranges.append((low, high))
        if step["layer"] == "Rescaling":
            scale, offset = step["params"].get("scale", 1 / 255), step["params"].get("offset", 0.0)
            low, high = sorted((low * scale + offset, high * scale + offset))
    return ranges


def layer_kwargs(step: dict, value_range: tuple[float, float]) -> dict:
    """The Keras constructor arguments of one step, with value_range filled in where the layer takes one."""
    kwargs = dict(step.get("params", {}))
    if step["layer"] == "RandomZoom":
        kwargs.setdefault("width_factor", None)  # None: zoom keeps the aspect ratio
    if step["layer"] == "RandomPosterization":
        kwargs["factor"] = (1, int(kwargs.get("factor", 4)))  # Keras wants a range of bits
    if step["layer"] in _VALUE_RANGE_LAYERS:
        kwargs["value_range"] = tuple(round(v, 6) for v in value_range)
    return kwargs


def code(spec: list[dict], seed: int | None = None) -> str:
    """Python that builds the same pipeline, ready to copy."""
    lines = ["import keras", "from keras import layers", "", "augmentation = keras.Sequential(["]
    for i, (step, value_range) in enumerate(zip(spec, value_ranges(spec))):
        kwargs = layer_kwargs(step, value_range)
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
