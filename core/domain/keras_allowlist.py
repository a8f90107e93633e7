"""What a student's Keras model file may contain, read from its `config.json` as plain JSON before anything is
deserialised (issue 31). Keras' `safe_mode` has been bypassed again and again (a config naming any function to
call, `get_file`, `TFSMLayer`, lookup vocabularies read from paths, layer names as paths), so nothing is trusted
because Keras would load it: every serialised object must be a built-in layer, initializer, regularizer,
constraint or dtype policy named here by module and class, every activation a built-in one by name, no string
may look like a path or an address, and every size is bounded. The first thing refused is one line naming the
layer and why."""
from __future__ import annotations

from core.errors import Refusal

MODELS = {("keras", "Sequential"), ("keras.src.models.functional", "Functional"), ("keras", "Functional"),
          ("keras", "Model")}
LAYERS = {
    "InputLayer", "Dense", "Conv1D", "Conv2D", "Conv2DTranspose", "SeparableConv2D", "DepthwiseConv2D",
    "MaxPooling1D", "MaxPooling2D", "AveragePooling1D", "AveragePooling2D", "GlobalAveragePooling1D",
    "GlobalAveragePooling2D", "GlobalMaxPooling1D", "GlobalMaxPooling2D", "Flatten", "Reshape", "Permute",
    "Dropout", "SpatialDropout1D", "SpatialDropout2D", "GaussianNoise", "GaussianDropout", "BatchNormalization",
    "LayerNormalization", "Activation", "ReLU", "LeakyReLU", "ELU", "PReLU", "Softmax", "Add", "Subtract",
    "Multiply", "Average", "Maximum", "Minimum", "Concatenate", "ZeroPadding2D", "Cropping2D", "UpSampling2D",
    "Rescaling", "Resizing", "CenterCrop", "RandomFlip", "RandomRotation", "RandomZoom", "RandomTranslation",
    "RandomContrast", "RandomBrightness", "RandomCrop", "Identity",
}
OTHERS = {
    "keras.initializers": {"GlorotUniform", "GlorotNormal", "HeNormal", "HeUniform", "LecunNormal", "LecunUniform",
                           "Zeros", "Ones", "Constant", "RandomNormal", "RandomUniform", "TruncatedNormal",
                           "Orthogonal", "VarianceScaling", "Identity"},
    "keras.regularizers": {"L1", "L2", "L1L2"},
    "keras.constraints": {"MaxNorm", "MinMaxNorm", "NonNeg", "UnitNorm"},
    "keras": {"DTypePolicy"},
}
ACTIVATIONS = {"linear", "relu", "relu6", "leaky_relu", "elu", "selu", "gelu", "sigmoid", "hard_sigmoid", "tanh",
               "softmax", "log_softmax", "softplus", "softsign", "swish", "silu", "mish", "exponential"}
# Keys whose numbers are not sizes (a random seed, Keras' id of a shared object).
NOT_SIZES = {"seed", "shared_object_id"}
MAX_SIZE = 1 << 20  # any size in a layer's config: units, filters, a dimension (a 10 GB shape is refused)
MAX_SAMPLE = 50_000_000  # values of one input sample (a 4,096 x 4,096 RGB image is 50 M)
MAX_LAYERS = 2000
MAX_DEPTH = 40


class ModelRefused(Refusal, ValueError):
    """A model file Train Lab will not load; the message names the part and why, in one line."""


# Every key Keras reads at each level of a model's config: anything else is refused, so no part of the file reaches
# Keras' deserialiser without having been walked here.
MODEL_KEYS = {"module", "class_name", "config", "registered_name", "build_config", "compile_config"}
MODEL_CONFIG_KEYS = {"name", "trainable", "layers", "input_layers", "output_layers", "dtype", "build_input_shape"}
LAYER_KEYS = {"module", "class_name", "config", "registered_name", "build_config", "name", "inbound_nodes"}


def check_config(config: object) -> int:
    """Refuse (ModelRefused) a `config.json` that is not a model of built-in parts only; the layer count. Every
    value of the file is walked: the model's settings, each layer's settings, build settings and wiring."""
    if not isinstance(config, dict) or (config.get("module"), config.get("class_name")) not in MODELS:
        raise ModelRefused("model: not a Keras Sequential or functional model (its config.json names "
                           f"{config.get('class_name') if isinstance(config, dict) else type(config).__name__!r})")
    _known_keys(config, MODEL_KEYS, "model")
    _registered(config, "model")
    settings = config.get("config")
    if not isinstance(settings, dict):
        raise ModelRefused("model: its config holds no model settings")
    _known_keys(settings, MODEL_CONFIG_KEYS, "model")
    layers = settings.get("layers")
    if not isinstance(layers, list) or not layers:
        raise ModelRefused("model: its config lists no layers")
    if len(layers) > MAX_LAYERS:
        raise ModelRefused(f"model: {len(layers)} layers, more than {MAX_LAYERS}")
    for layer in layers:
        _check_layer(layer)
    for key, value in settings.items():
        if key != "layers":
            _walk(value, "model", key, 0)
    _walk(config.get("build_config"), "model", "build_config", 0)
    # The top level's compile_config is never deserialised: the loader drops it (Train Lab compiles its own).
    return len(layers)


def _known_keys(value: dict, allowed: set[str], label: str) -> None:
    unknown = sorted(str(k) for k in value if k not in allowed)
    if unknown:
        raise ModelRefused(f"{label}: its config has {unknown[0][:40]!r}, which a Keras model file does not; "
                           "save it again with model.save")


def _label(layer: dict) -> str:
    config = layer.get("config") if isinstance(layer.get("config"), dict) else {}
    return f"layer {str(config.get('name') or layer.get('name') or layer.get('class_name'))[:60]!r}"


def _check_layer(layer: object) -> None:
    if not isinstance(layer, dict) or not isinstance(layer.get("config", {}), dict):
        raise ModelRefused("model: a layer that is not a Keras layer's config")
    label, module, name = _label(layer), layer.get("module"), layer.get("class_name")
    _known_keys(layer, LAYER_KEYS, label)
    if name == "Lambda":
        raise ModelRefused(f"{label}: Lambda layers run Python code; build it from built-in layers")
    if name == "TFSMLayer":
        raise ModelRefused(f"{label}: TFSMLayer loads a SavedModel from outside the file; build it from built-in "
                           "layers")
    if module != "keras.layers" or name not in LAYERS:
        raise ModelRefused(f"{label}: {module}.{name} is not a built-in layer Train Lab loads (no custom or "
                           "lookup layers); build it from built-in layers")
    _registered(layer, label)
    _walk(layer.get("config"), label, "config", 0)
    _walk(layer.get("build_config"), label, "build_config", 0)
    _walk(layer.get("name"), label, "name", 0)
    _walk(layer.get("inbound_nodes"), label, "inbound_nodes", 0, objects=False)  # wiring: tensors and plain values
    _sample_size(layer, label)


def _registered(obj: dict, label: str) -> None:
    registered = obj.get("registered_name")
    if registered is not None and registered != obj.get("class_name"):
        raise ModelRefused(f"{label}: {str(registered)[:60]!r} is a custom object, registered by its own code; "
                           "use Keras' built-in parts")


def _walk(value: object, label: str, key: str, depth: int, objects: bool = True, tensors: bool = True) -> None:
    """Every nested value: serialised objects on the allowlist (with `objects=False`, a functional model's wiring,
    only tensors; with `tensors=False`, none of those), no paths, bounded sizes."""
    if depth > MAX_DEPTH:
        raise ModelRefused(f"{label}: its config is nested more than {MAX_DEPTH} deep")
    if isinstance(value, dict):
        if "class_name" in value or "module" in value or "registered_name" in value:
            _check_object(value, label, objects, tensors)
        for inner_key, inner in value.items():
            _walk(inner, label, str(inner_key), depth + 1, objects, tensors)
    elif isinstance(value, list):
        for inner in value:
            _walk(inner, label, key, depth + 1, objects, tensors)
    elif isinstance(value, str):
        _check_text(value, label, key)
    elif isinstance(value, (int, float)) and not isinstance(value, bool) and key not in NOT_SIZES \
            and abs(value) > MAX_SIZE:
        raise ModelRefused(f"{label}: {key} = {value:g} is past {MAX_SIZE:,}; no layer of a course model is that "
                           "big")


def _check_object(obj: dict, label: str, objects: bool = True, tensors: bool = True) -> None:
    name, module = obj.get("class_name"), obj.get("module")
    if name == "__keras_tensor__" and module is None and tensors and set(obj) <= {"class_name", "config"}:
        return  # a functional model's wiring: a tensor's shape and which layer made it
    if not objects:
        raise ModelRefused(f"{label}: its inputs hold {str(module)[:40]}.{str(name)[:40]}; a layer's inputs are "
                           "tensors and plain values only")
    if name in ("Lambda", "TFSMLayer") or (module == "keras.layers" and name in LAYERS):
        raise ModelRefused(f"{label}: a layer nested in a layer's settings ({name}); build it as a layer of its own")
    if name not in OTHERS.get(str(module), ()):
        raise ModelRefused(f"{label}: {module}.{name} is not a built-in initializer, regularizer or constraint "
                           "Train Lab loads (a function or a class of its own runs code); use Keras' built-in ones")
    _registered(obj, label)


def _check_text(text: str, label: str, key: str) -> None:
    if key == "activation" and text not in ACTIVATIONS:
        raise ModelRefused(f"{label}: activation {text[:40]!r} is not a built-in one; use one of "
                           f"{', '.join(sorted(ACTIVATIONS))}")
    if "/" in text or "\\" in text or "://" in text or text.startswith("~") or len(text) > 200:
        raise ModelRefused(f"{label}: its {key} {text[:60]!r} looks like a path or an address; a model file "
                           "names no files")


def _sample_size(layer: dict, label: str) -> None:
    config, build = layer.get("config"), layer.get("build_config")
    shape = (config.get("batch_shape") if isinstance(config, dict) else None) or \
        (build.get("input_shape") if isinstance(build, dict) else None)
    if isinstance(shape, list) and shape and all(isinstance(d, int) or d is None for d in shape):
        size = 1
        for dim in shape[1:]:
            size *= dim or 1
        if size > MAX_SAMPLE:
            raise ModelRefused(f"{label}: an input of {size:,} values per sample, more than {MAX_SAMPLE:,}")
