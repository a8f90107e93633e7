"""Parameter counts of the architectures, computed from their options and input before any weights
exist, so an architecture too large for the machine is refused without allocating it.

Each formula follows its builder in core/training/builders.py; a test compares every one with Keras'
`count_params()` on real models.
"""
from __future__ import annotations

from core.domain import layer_stacks
from core.domain.architectures import ARCHITECTURES, VGG16_BLOCKS, check_options

RESNET50_BASE_RGB = 23_587_712  # keras.applications.ResNet50(include_top=False) on 3 channels


def conv(kernel: int, channels_in: int, filters: int) -> int:
    """A Conv2D layer with bias."""
    return kernel * kernel * channels_in * filters + filters


def dense(units_in: int, units: int) -> int:
    """A Dense layer with bias."""
    return units_in * units + units


def batch_norm(channels: int) -> int:
    """BatchNormalization: scale, shift and the two running statistics per channel."""
    return 4 * channels


def parameter_count(key: str, input_shape: tuple[int, ...], num_classes: int, options: dict | None = None) -> int:
    """All parameters (trainable and not) that `build_model(key, input_shape, num_classes, options)` has."""
    options = check_options(key, options or {})
    if ARCHITECTURES[key].layers:
        return layer_stacks.size(ARCHITECTURES[key].layers, input_shape, num_classes).params
    h, w, c = input_shape[0], input_shape[1], input_shape[-1]
    if key == "custom_mlp":
        return _mlp(h * w * c, options["hidden_units"], options["batch_norm"], num_classes)
    if key == "vgg16":
        return _vgg16(h, w, c, num_classes)
    if key == "small_resnet":
        k, size, blocks = options["num_kernels"], options["kernel_size"], options["blocks"]
        return conv(3, c, k) + blocks * 2 * conv(size, k, k) + dense(k, num_classes)
    if key in ("resnet50", "resnet50_transfer"):
        return RESNET50_BASE_RGB + conv(7, c, 64) - conv(7, 3, 64) + dense(2048, num_classes)
    if key == "custom_cnn":
        return _custom_cnn(h, w, c, options, num_classes)
    raise ValueError(f"no parameter formula for {key!r}")


def _mlp(inputs: int, units: list[int], bn: bool, num_classes: int) -> int:
    total, previous = 0, inputs
    for u in units:
        total += dense(previous, u) + (batch_norm(u) if bn else 0)
        previous = u
    return total + dense(previous, num_classes)


def _conv_stack(channels: int, filters: list[int], kernel: int = 3) -> int:
    total = 0
    for f in filters:
        total += conv(kernel, channels, f)
        channels = f
    return total


def _vgg16(h: int, w: int, c: int, num_classes: int) -> int:
    total, channels = 0, c
    for filters, convs in VGG16_BLOCKS:
        total += _conv_stack(channels, [filters] * convs)
        channels = filters
    flat = (h // 32) * (w // 32) * 512 if max(h, w) <= 224 else 512
    width = 4096 if min(h, w) >= 128 else 512
    return total + dense(flat, width) + dense(width, width) + dense(width, num_classes)


def _custom_cnn(h: int, w: int, c: int, options: dict, num_classes: int) -> int:
    total, channels = 0, c
    for filters, convs, pool in options["blocks"]:
        for _ in range(int(convs)):
            total += conv(3, channels, filters) + (batch_norm(filters) if options["batch_norm"] else 0)
            channels = filters
        if pool:
            h, w = h // 2, w // 2
    features = channels if options["head"] == "gap" else h * w * channels
    if options["dense_units"]:
        total += dense(features, options["dense_units"])
        features = options["dense_units"]
    return total + dense(features, num_classes)


def check_size(key: str, input_shape: tuple[int, ...], num_classes: int, options: dict | None,
               max_params: int) -> int:
    """The architecture's parameter count; ArchitectureError when it is over `max_params`."""
    from core.domain.architectures import ARCHITECTURES, ArchitectureError

    total = parameter_count(key, input_shape, num_classes, options)
    if total > max_params:
        shape = "×".join(map(str, input_shape))
        raise ArchitectureError(
            f"architecture: {ARCHITECTURES[key].title} on {shape} images would have {_amount(total)} parameters, "
            f"over the cap of {_amount(max_params)} (TRAINLAB_MAX_PARAMS); use fewer or narrower layers, or "
            "smaller images")
    return total


def _amount(n: int) -> str:
    """604,700,000 -> '604.7 million'; 331,530 -> '331,530'."""
    return f"{n / 1e6:,.1f} million".replace(".0 million", " million") if n >= 1_000_000 else f"{n:,}"
