"""What the Models page shows about a model, computed as data: layer rows, totals, memory,
conv arithmetic, the layer graph, and the Keras code that builds it."""
from __future__ import annotations

import inspect
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.domain import layer_stacks
from core.domain.architectures import ARCHITECTURES, check_input, check_options
from core.domain.conv_arithmetic import conv_formula
from core.training.builders import BUILDERS, build_model
from core.views.model_charts import COMPARE_COUNTS

BYTES_PER_FLOAT = 4
CONV_TYPES = ("Conv2D", "MaxPooling2D", "AveragePooling2D")


@dataclass(frozen=True)
class Totals:
    """Parameter counts, as Keras counts them."""

    trainable: int
    non_trainable: int

    @property
    def total(self) -> int:
        """All parameters."""
        return self.trainable + self.non_trainable


@dataclass(frozen=True)
class ModelReport:
    """Everything the Models page shows about one model."""

    name: str
    layers: pd.DataFrame
    totals: Totals
    depth: int  # layers with weights (Dense and conv layers, the usual "depth")
    weights_mb: float
    training_mb_per_sample: float  # activations kept for backprop, per training sample
    conv_rows: pd.DataFrame
    graph_dot: str
    code: str


def _count(weights) -> int:
    return int(sum(math.prod(w.shape) for w in weights))


def _shape_text(shape) -> str:
    if isinstance(shape, list):
        return ", ".join(_shape_text(s) for s in shape)
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ")"


def layer_rows(model) -> pd.DataFrame:
    """One row per layer: name, type, output shape, parameters (trainable and not), trainable flag."""
    rows = []
    for layer in model.layers:
        trainable, frozen = _count(layer.trainable_weights), _count(layer.non_trainable_weights)
        rows.append({
            "layer": layer.name, "type": layer.__class__.__name__,
            "output shape": _shape_text(layer.output.shape) if hasattr(layer, "output") else "",
            "parameters": trainable + frozen, "trainable parameters": trainable,
            "non-trainable parameters": frozen, "trainable": bool(layer.trainable),
        })
    frame = pd.DataFrame(rows)
    total = frame["parameters"].sum()
    frame["share"] = frame["parameters"] / total if total else 0.0
    return frame


def conv_rows(model) -> pd.DataFrame:
    """For each conv/pool layer: input side, kernel, stride, padding, the formula, and the output
    side Keras actually produced (they agree; the tests check it)."""
    rows = []
    for layer in model.layers:
        if layer.__class__.__name__ not in CONV_TYPES:
            continue
        config = layer.get_config()
        kernel = config.get("kernel_size", config.get("pool_size"))
        stride = config.get("strides") or kernel
        size_in = layer.input.shape[1]
        rows.append({
            "layer": layer.name, "type": layer.__class__.__name__, "input": f"{size_in}×{layer.input.shape[2]}",
            "kernel": kernel[0], "stride": stride[0], "padding": config["padding"],
            "formula": conv_formula(size_in, kernel[0], stride[0], config["padding"]),
            "output": f"{layer.output.shape[1]}×{layer.output.shape[2]}×{layer.output.shape[3]}",
        })
    return pd.DataFrame(rows, columns=["layer", "type", "input", "kernel", "stride", "padding", "formula", "output"])


def inbound_names(value) -> list[str]:
    """Layer names a serialized node argument refers to (Keras 3's `keras_history`)."""
    if isinstance(value, dict):
        history = (value.get("config", {}).get("keras_history")
                   if value.get("class_name") == "__keras_tensor__" else None)
        if history:
            return [history[0]]
        return [n for v in value.values() for n in inbound_names(v)]
    if isinstance(value, (list, tuple)):
        return [n for v in value for n in inbound_names(v)]
    return []


def graph_dot(model) -> str:
    """A Graphviz description of the layer graph (skip connections visible), from the model's config."""
    config = model.get_config()
    lines = ["digraph model {", "rankdir=TB;", 'node [shape=box, style="rounded,filled", fillcolor="#eef3fb", '
             'fontname="Helvetica", fontsize=10];']
    params = {layer.name: _count(layer.weights) for layer in model.layers}
    for layer in config.get("layers", []):
        name, kind = layer["name"], layer["class_name"]
        label = f"{name}\\n{kind}" + (f"\\n{params[name]:,} params" if params.get(name) else "")
        lines.append(f'"{name}" [label="{label}"];')
        for source in dict.fromkeys(inbound_names(layer.get("inbound_nodes", []))):
            lines.append(f'"{source}" -> "{name}";')
    lines.append("}")
    return "\n".join(lines)


def keras_code(key: str, input_shape: tuple[int, ...], num_classes: int, options: dict | None = None) -> str:
    """Python that builds the same model on its own: the builder's source, every helper and constant it uses
    (found from its code, so a new builder needs nothing here), and the call with these arguments."""
    arch = ARCHITECTURES[key]
    if arch.layers:
        return _stack_code(key, arch.layers, input_shape, num_classes)
    arguments = arch.arguments(check_options(key, options or {}))
    functions, constants = _needed(BUILDERS[arch.builder])
    extra = "".join(f", {name}={value!r}" for name, value in arguments.items())
    call = f"model = {arch.builder}({tuple(input_shape)!r}, {num_classes}{extra})\nmodel.summary()\n"
    header = "import math\n\nimport keras\nfrom keras import layers\n"
    header += "".join(f"\n{name} = {value!r}" for name, value in constants.items())
    return header + "\n\n\n" + "\n\n".join(inspect.getsource(f) for f in functions) + "\n\n" + call


def _stack_code(key: str, stack: tuple, input_shape: tuple[int, ...], num_classes: int) -> str:
    """Python for a model declared as a stack of layers: one Keras layer per line, as it is built."""
    lines = ["import keras", "from keras import layers", "",
             f'inputs = keras.Input(shape={tuple(input_shape)!r}, name="image")', "x = inputs"]
    for kind, arguments in layer_stacks.keras_layers(stack):
        lines.append(f"x = layers.{kind}({', '.join(f'{k}={v!r}' for k, v in arguments.items())})(x)")
    lines += [f'outputs = layers.Dense({num_classes}, activation="softmax", name="classes")(x)',
              f"model = keras.Model(inputs, outputs, name={key!r})", "model.summary()", ""]
    return "\n".join(lines)


def _needed(builder) -> tuple[list, dict]:
    """The functions (helpers first, `builder` last) and module constants `builder` reaches through its module's
    globals: what its source needs besides keras and math to run on its own."""
    functions, constants, seen = [], {}, set()

    def visit(function) -> None:
        seen.add(function)
        for name in _names(function.__code__):
            value = function.__globals__.get(name)
            if inspect.isfunction(value) and value.__module__ == function.__module__ and value not in seen:
                visit(value)
            elif isinstance(value, (tuple, int, float, str, frozenset)) and not name.startswith("__"):
                constants[name] = value
        functions.append(function)

    visit(builder)
    return functions, constants


def _names(code) -> set[str]:
    names = set(code.co_names)
    for const in code.co_consts:
        if inspect.iscode(const):  # comprehensions and nested functions name globals too
            names |= _names(const)
    return names


def memory(model) -> tuple[float, float]:
    """(weights in MB, activations per training sample in MB), float32."""
    weights = _count(model.weights) * BYTES_PER_FLOAT / 2**20
    activations = sum(int(np.prod([d for d in layer.output.shape[1:] if d])) for layer in model.layers
                      if hasattr(layer, "output") and not isinstance(layer.output, list))
    return weights, activations * BYTES_PER_FLOAT / 2**20


def check_buildable(key: str, input_shape: tuple[int, ...], num_classes: int, options: dict | None = None) -> None:
    """Refuse (ArchitectureError, one line) an input the architecture cannot take or a model over
    TRAINLAB_MAX_PARAMS, before any weights are allocated."""
    from core.domain.param_counts import check_size
    from core.settings import load_settings

    check_input(key, input_shape, options)
    check_size(key, input_shape, num_classes, options, load_settings().max_params)


def report(key: str, input_shape: tuple[int, ...], num_classes: int, options: dict | None = None) -> ModelReport:
    """Build `key` for this input and describe it (raises ArchitectureError when it cannot take it,
    or when it would be over TRAINLAB_MAX_PARAMS: checked before any weights are allocated)."""
    check_buildable(key, input_shape, num_classes, options)
    model = build_model(key, input_shape, num_classes, options)
    rows = layer_rows(model)
    weights_mb, activations_mb = memory(model)
    depth = int(rows["type"].isin(["Dense", "Conv2D", "Functional"]).sum())
    return ModelReport(
        name=model.name, layers=rows,
        totals=Totals(_count(model.trainable_weights), _count(model.non_trainable_weights)),
        depth=depth, weights_mb=weights_mb, training_mb_per_sample=activations_mb, conv_rows=conv_rows(model),
        graph_dot=graph_dot(model), code=keras_code(key, input_shape, num_classes, options),
    )


def training_memory_mb(report_: ModelReport, batch_size: int) -> float:
    """A rough peak for training with Adam: weights, gradients and two moment slots, plus activations
    (kept for backprop, and their gradients) for one batch."""
    return 4 * report_.weights_mb + 2 * report_.training_mb_per_sample * batch_size


def compare(keys: list[str], input_shape: tuple[int, ...], num_classes: int) -> pd.DataFrame:
    """Parameter counts and depth of several architectures on one input, side by side."""
    rows = []
    for key in keys:
        try:
            r = report(key, input_shape, num_classes, {"weights": "random"} if key == "resnet50_transfer" else None)
        except ValueError as exc:
            rows.append({"architecture": ARCHITECTURES[key].title, "parameters": None, "trainable": None,
                         "layers with weights": None, "weights (MB)": None, "note": str(exc)})
            continue
        rows.append({"architecture": ARCHITECTURES[key].title, "parameters": r.totals.total,
                     "trainable": r.totals.trainable, "layers with weights": r.depth,
                     "weights (MB)": round(r.weights_mb, 2), "note": ""})
    # Nullable ints: a row that cannot be built must not turn 17061834 into 17061834.0.
    return pd.DataFrame(rows).astype({column: "Int64" for column in COMPARE_COUNTS})
