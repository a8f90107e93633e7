"""Architecture presets from the course, and two custom builders, adapting to any dataset.

Each preset carries its course recipe (optimizer, learning rate, batch size, epochs, loss,
subset), a paragraph on what the lesson shows with it, and the smallest input side it can take,
so an impossible combination is refused before a run is queued. The Keras builders are in
core/training/builders.py; this module only names them.
"""
from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from core.domain import layer_stacks
from core.domain.layer_stacks import (
    Activation,
    BatchNorm,
    Conv,
    Dense,
    Dropout,
    Flatten,
    GlobalAveragePool,
    Layer,
    Pool,
)
from core.errors import Refusal


class ArchitectureError(Refusal, ValueError):
    """The architecture cannot take this input or these options; the message says why and the fix."""


# -- each architecture's options: one strict pydantic model per builder ------------------
# A field's type and constraints are the check, its default the option's default, and its description
# the rule the one-line error states ("option dropout must be from 0 up to (not including) 1; got 1.5").
ACTIVATIONS = ("relu", "elu", "gelu", "tanh", "sigmoid", "selu", "swish")
KERNEL_SIZES = (1, 3, 5, 7)


def _one_of(*allowed):
    """A validator for a value from `allowed` (already of the right type: 3.0 is no kernel size)."""
    def check(value):
        if value not in allowed:
            raise ValueError(f"must be one of {allowed}")
        return value

    return AfterValidator(check)


class Options(BaseModel):
    """An architecture's options: strict types (no "yes" for a flag, no text for a number), unknown
    options refused; each field's description is the rule its error message states."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    @classmethod
    def defaults(cls) -> dict[str, Any]:
        """The options and their defaults, in the order the fields are declared (a fresh copy each time)."""
        return {name: copy.deepcopy(info.get_default(call_default_factory=True))
                for name, info in cls.model_fields.items()}


class NoOptions(Options):
    """A preset: everything is fixed, there is nothing to choose."""


_DROPOUT = Field(0.0, ge=0, lt=1, description="must be from 0 up to (not including) 1")
_BATCH_NORM = Field(False, description="must be true or false")
_Width = Annotated[int, Field(ge=1, le=8192)]
_Block = tuple[Annotated[int, Field(ge=1, le=1024)], Annotated[int, Field(ge=1, le=6)], bool]


class CustomMlpOptions(Options):
    """The custom MLP's hidden layers, activation, dropout and BatchNorm."""

    hidden_units: list[_Width] = Field([512, 256], min_length=1, max_length=10,
                                       description="must list 1 to 10 layer widths, each 1..8192")
    activation: Literal[ACTIVATIONS] = Field("relu", description=f"must be one of {', '.join(ACTIVATIONS)}")
    dropout: float = _DROPOUT
    batch_norm: bool = _BATCH_NORM


class CustomCnnOptions(Options):
    """The custom CNN's blocks, BatchNorm, dropout and head."""

    blocks: list[_Block] = Field(
        [[32, 2, True], [64, 2, True]], min_length=1, max_length=8,
        description="must list 1 to 8 blocks of [filters 1..1024, convs 1..6, pool true/false]")
    batch_norm: bool = _BATCH_NORM
    dropout: float = _DROPOUT
    head: Literal["gap", "flatten"] = Field("gap", description="must be 'gap' or 'flatten'")
    dense_units: int = Field(128, ge=0, le=8192, description="must be 0 (none) to 8192")


class SmallResNetOptions(Options):
    """The small ResNet's width, kernel size and depth."""

    num_kernels: int = Field(32, ge=1, le=512, description="must be 1..512")
    kernel_size: Annotated[int, _one_of(*KERNEL_SIZES)] = Field(3, description="must be 1, 3, 5 or 7")
    blocks: int = Field(3, ge=1, le=20, description="must be a number of residual blocks from 1 to 20")


class TransferOptions(Options):
    """The transfer model's base weights: ImageNet's, or random (offline)."""

    weights: Literal["imagenet", "random"] = Field("imagenet", description="must be 'imagenet' or 'random'")


@dataclass(frozen=True)
class Recipe:
    """The course's training settings for a preset (applied as defaults on the Train page)."""

    optimizer: str = "adam"
    learning_rate: float = 1e-3
    momentum: float = 0.0
    nesterov: bool = False
    batch_size: int = 32
    epochs: int = 10
    labels: str = "integer"
    validation_split: float = 0.2
    split_mode: str = "random"
    dataset: str | None = None  # the lesson's dataset, when there is one
    train_subset: int | None = None
    test_subset: int | None = None


@dataclass(frozen=True)
class Architecture:
    """A named model builder with its lesson text, recipe, options and input limits."""

    key: str
    title: str
    description: str  # the layer stack in one line
    lesson: str  # what the course shows with it
    builder: str  # the function in core/training/builders.py: (input_shape, num_classes, **arguments)
    recipe: Recipe = field(default_factory=Recipe)
    min_side: int = 1  # smallest height/width it can take
    needs_rgb: bool = False
    schema: type[Options] = NoOptions  # the options a user may set: names, types, ranges and defaults
    fixed: dict[str, Any] = field(default_factory=dict)  # builder arguments that make this preset
    # A plain stack of layers (core/domain/layer_stacks.py), built by build_stack: its parameter count, smallest
    # input side and largest Dense layer are then inferred from it, so the stack is all there is to declare.
    layers: tuple[Layer, ...] = ()

    @property
    def options(self) -> dict[str, Any]:
        """The options a user may set and their defaults (from `schema`)."""
        return self.schema.defaults()

    def arguments(self, options: dict | None = None) -> dict[str, Any]:
        """Keyword arguments for the builder beyond (input_shape, num_classes)."""
        stack = {"stack": self.layers, "name": self.key} if self.layers else {}
        return {**stack, **self.fixed, **self.options, **(options or {})}


# -- constants the builders (core/training/builders.py) share with the checks here --------
# The custom builders' BatchNorm forgets faster than Keras' default 0.99 (0.9, PyTorch's default):
# with 0.99 the moving statistics need several hundred steps to settle, so the short trials of a
# sweep score near chance on validation and successive halving would drop them. The course presets
# keep Keras' default, as the lessons wrote them.
CUSTOM_BN_MOMENTUM = 0.9

VGG16_BLOCKS = ((64, 2), (128, 2), (256, 3), (512, 3), (512, 3))


# -- the registry -------------------------------------------------------------------------
_CIFAR_RECIPE = Recipe(optimizer="adam", learning_rate=1e-3, batch_size=64, epochs=20, validation_split=0.2,
                       split_mode="keras", dataset="cifar10", train_subset=7500, test_subset=500)
_FASHION_RECIPE = Recipe(optimizer="adam", learning_rate=1e-3, batch_size=64, epochs=10, dataset="fashion_mnist")
_DOGS_CATS_RECIPE = Recipe(optimizer="sgd", learning_rate=0.01, momentum=0.9, nesterov=True, batch_size=32, epochs=20)

ARCHITECTURES: dict[str, Architecture] = {a.key: a for a in (
    Architecture(
        "mlp", "MLP 1024-256 (Fashion-MNIST lesson)",
        "Flatten → Dense 1024 ReLU → Dense 256 ReLU → Dense softmax.",
        "The baseline of the BatchNormalization lesson: a plain two-hidden-layer MLP on Fashion-MNIST. "
        "Compare its curves with the BatchNorm twin: normalised pre-activations usually train faster "
        "and tolerate larger learning rates.",
        "build_stack", _FASHION_RECIPE, layers=(Flatten(), Dense(1024), Dense(256))),
    Architecture(
        "mlp_bn", "MLP 1024-256 + BatchNorm (Fashion-MNIST lesson)",
        "Flatten → [Dense 1024 → BatchNorm → ReLU] → [Dense 256 → BatchNorm → ReLU] → Dense softmax.",
        "The same MLP with BatchNormalization between each Dense layer and its ReLU. Each BatchNorm adds "
        "4 parameters per unit, 2 of them trainable (scale and shift) and 2 running statistics.",
        "build_stack", _FASHION_RECIPE, layers=(Flatten(), Dense(1024, None), BatchNorm(), Activation("relu"),
                                                Dense(256, None), BatchNorm(), Activation("relu"))),
    Architecture(
        "conv_demo_a", "Conv demo a: one 3x3 kernel", "Conv2D(1, 3x3, stride 1, same) → GAP → Dense softmax.",
        "The first conv-arithmetic example: one 3x3 kernel with 'same' padding keeps the height and width "
        "and gives one channel. The table below shows the output size formula for each layer.",
        "build_stack", layers=(Conv(1, padding="same"), GlobalAveragePool())),
    Architecture(
        "conv_demo_b", "Conv demo b: two layers of 4 kernels", "Conv2D(4, 3x3, same) ×2 → GAP → Dense softmax.",
        "Two conv layers of 4 kernels: the second one's kernels see all 4 channels of the first, so each has "
        "3×3×4 weights plus a bias.",
        "build_stack", layers=(Conv(4, padding="same"), Conv(4, padding="same"), GlobalAveragePool())),
    Architecture(
        "conv_demo_c", "Conv demo c: same, same, valid",
        "Conv2D(2, same) → Conv2D(4, same) → Conv2D(8, valid) → GAP → softmax.",
        "Three conv layers where the last uses 'valid' padding: it trims a 1-pixel border, so the output is "
        "2 pixels smaller in height and width.",
        "build_stack", layers=(Conv(2, padding="same"), Conv(4, padding="same"), Conv(8), GlobalAveragePool())),
    Architecture(
        "deep_mlp", "Deep MLP 4096-1024-256-64 (CIFAR-10 lesson)",
        "Flatten → Dense 4096 → 1024 → 256 → 64 (ReLU) → Dense softmax.",
        "The MLP side of the MLP-versus-CNN lesson: on 32×32×3 images the first Dense layer alone has "
        "over 12 million weights, far more than the small CNN in total, yet it generalises worse because "
        "it ignores where pixels are.",
        "build_stack", _CIFAR_RECIPE, layers=(Flatten(), Dense(4096), Dense(1024), Dense(256), Dense(64))),
    Architecture(
        "small_cnn", "Small CNN (CIFAR-10 lesson)",
        "Conv16 → Conv32 → MaxPool → Conv64 /2 → Conv64 /2 → MaxPool → Flatten → Dense 128 → softmax.",
        "The CNN side of the lesson: weight sharing and downsampling (two stride-2 convs and two pools) give "
        "a network with a fraction of the deep MLP's parameters and better test accuracy.",
        "build_stack", _CIFAR_RECIPE,
        layers=(Conv(16, padding="same"), Conv(32, padding="same"), Pool(), Conv(64, stride=2, padding="same"),
                Conv(64, stride=2, padding="same"), Pool(), Flatten(), Dense(128, name="dense"))),
    Architecture(
        "vgg16", "VGG16",
        "5 blocks of 3x3 ReLU convs (64×2, 128×2, 256×3, 512×3, 512×3), each with a 2x2 max-pool → head.",
        "Depth from repeated small kernels: thirteen 3x3 conv layers in five blocks. Five 2x2 pools divide the "
        "image side by 32, so it needs inputs of at least 32×32; the head is 4096-4096 for large images and "
        "512-512 for small ones.",
        "build_vgg16", Recipe(optimizer="sgd", learning_rate=0.01, momentum=0.9, batch_size=64, epochs=20,
                            dataset="cifar10"), min_side=32),
    Architecture(
        "small_resnet", "Small ResNet (residual blocks)",
        "Conv stem → ResidualBlock ×N (two Conv2D, ReLU, same, + Add) → GAP → softmax.",
        "Residual blocks add a block's input to its output (layers.Add), so gradients have a short path "
        "back and deep stacks keep training. The diagram shows the skip connections.",
        "build_small_resnet", Recipe(batch_size=64, epochs=20, dataset="cifar10"),
        schema=SmallResNetOptions),
    Architecture(
        "resnet50", "ResNet-50 from scratch (CIFAR-100 lesson)",
        "keras.applications.ResNet50(weights=None) on the dataset's input → pooled features → Dense softmax.",
        "ResNet-50 trained from random weights on CIFAR-100 with one-hot labels: about 23.8 million parameters "
        "learning from 40,000 small images overfits quickly. Compare with transfer learning.",
        "build_resnet50", Recipe(optimizer="adam", learning_rate=1e-4, batch_size=32, epochs=20, labels="one_hot",
                               validation_split=0.2, split_mode="random", dataset="cifar100"),
        min_side=32, needs_rgb=True),
    Architecture(
        "basic_cnn", "Basic CNN (dogs vs cats lesson)",
        "Conv16 → Pool → Conv32 → Pool → Conv64 → Pool → GAP → Dense 256 ReLU → softmax.",
        "The dogs-vs-cats baseline. On a small dataset it overfits: training accuracy climbs while validation "
        "stalls. Compare with its regularised twin.",
        "build_stack", _DOGS_CATS_RECIPE,
        layers=(*(layer for f in (16, 32, 64) for layer in (Conv(f, padding="same"), Pool())), GlobalAveragePool(),
                Dense(256, name="dense"))),
    Architecture(
        "basic_cnn_regularised", "Basic CNN + BatchNorm + Dropout (dogs vs cats lesson)",
        "[Conv (no activation) → BatchNorm → ReLU → Pool] ×3 → GAP → Dense 256 → Dropout 0.5 → softmax.",
        "The regularised twin: BatchNormalization after each conv and Dropout 0.5 after the dense layer narrow "
        "the gap between training and validation accuracy.",
        "build_stack", _DOGS_CATS_RECIPE,
        layers=(*(layer for f in (16, 32, 64)
                  for layer in (Conv(f, padding="same", activation=None), BatchNorm(), Activation("relu"), Pool())),
                GlobalAveragePool(), Dense(256, name="dense"), Dropout(0.5, name="dropout"))),
    Architecture(
        "resnet50_transfer", "ResNet-50 transfer learning (frozen ImageNet base)",
        "UpSampling2D → ResNet-50 (ImageNet weights, frozen) → GAP → Dense softmax.",
        "Transfer learning: a ResNet-50 trained on ImageNet is frozen and only the new head learns. Small images "
        "are upsampled so the base sees about 224 pixels. The ImageNet weights download on first use; offline, "
        "set weights to 'random' to train the same head on a random base.",
        "build_resnet50_transfer", Recipe(optimizer="adam", learning_rate=1e-3, batch_size=32, epochs=5,
                                        labels="one_hot", dataset="cifar10"),
        needs_rgb=True, schema=TransferOptions),
    Architecture(
        "lenet5", "LeNet-5 (LeCun et al., 1998)",
        "Conv 6 5x5 tanh (same) → AvgPool → Conv 16 5x5 tanh → AvgPool → Flatten → Dense 120 → Dense 84 → softmax.",
        "The first convolutional network to read handwritten digits in production (cheques, 1998): two "
        "convolution and subsampling stages, then three fully connected layers, 61,706 parameters on 28×28 "
        "digits. Compare it with the MLP: a fraction of the weights, and the same or better test accuracy.",
        "build_stack", Recipe(optimizer="adam", learning_rate=1e-3, batch_size=64, epochs=10, dataset="mnist"),
        layers=(Conv(6, 5, padding="same", activation="tanh"), Pool(2, "average"), Conv(16, 5, activation="tanh"),
                Pool(2, "average"), Flatten(), Dense(120, "tanh"), Dense(84, "tanh"))),
    Architecture(
        "custom_mlp", "Custom MLP", "Flatten → your hidden layers (activation, Dropout, BatchNorm) → softmax.",
        "The hyperparameter assignment's MLP: choose the hidden layers, their width, the activation, a dropout "
        "rate and whether to use BatchNormalization.",
        "build_mlp", schema=CustomMlpOptions, fixed={"bn_momentum": CUSTOM_BN_MOMENTUM}),
    Architecture(
        "custom_cnn", "Custom CNN", "Blocks of 3x3 convs (filters, convs, pool) → GAP or Flatten → Dense → softmax.",
        "Build your own CNN from blocks of (filters, convolutions per block, pooling), with BatchNormalization, "
        "Dropout, and a global-average-pooling or flatten head.",
        "build_custom_cnn", schema=CustomCnnOptions, fixed={"bn_momentum": CUSTOM_BN_MOMENTUM}),
)}

def check_options(key: str, options: dict) -> dict:
    """The architecture's options with defaults filled in; ArchitectureError (one line: the option, the
    rule, the value) for an unknown option or a value its schema refuses."""
    arch = ARCHITECTURES[key]
    merged = {**arch.options, **options}
    try:
        # As JSON, the form options are stored in: a list is as good as a tuple, 3.0 is not a whole number.
        arch.schema.model_validate_json(json.dumps(merged, default=repr))
    except ValidationError as exc:
        errors = exc.errors()
        unknown = sorted(str(e["loc"][0]) for e in errors if e["type"] == "extra_forbidden")
        if unknown:
            raise ArchitectureError(f"architecture: {key} has no option {unknown[0]!r}; "
                                    f"its options are {', '.join(arch.options) or 'none'}") from None
        name = str(errors[0]["loc"][0])
        rule = arch.schema.model_fields[name].description
        raise ArchitectureError(f"architecture: option {name} {rule}; got {merged[name]!r}") from None
    return merged


def min_side(key: str, options: dict) -> int:
    """Smallest input height/width the architecture can take with these options."""
    if key == "custom_cnn":
        return 2 ** sum(1 for b in options["blocks"] if b[2])
    if ARCHITECTURES[key].layers:
        return layer_stacks.min_side(ARCHITECTURES[key].layers)
    return ARCHITECTURES[key].min_side


MAX_DENSE_WEIGHTS = 200_000_000  # 800 MB of float32 in one layer (about 3.2 GB training with Adam)


def largest_dense_weights(key: str, input_shape: tuple[int, ...], options: dict) -> int:
    """The weights of the architecture's largest Dense layer on this input, computed before any are
    allocated: a Dense layer after Flatten grows with the image area."""
    h, w, c = input_shape[0], input_shape[1], input_shape[-1]
    if ARCHITECTURES[key].layers:
        return layer_stacks.size(ARCHITECTURES[key].layers, input_shape, 2).largest_dense
    if key == "custom_mlp":
        return h * w * c * options["hidden_units"][0]
    if key == "vgg16":
        width = 4096 if min(h, w) >= 128 else 512
        flat = (h // 32) * (w // 32) * 512 if max(h, w) <= 224 else 512
        return flat * width
    if key == "custom_cnn" and options["head"] == "flatten":
        pools = sum(1 for b in options["blocks"] if b[2])
        return (h >> pools) * (w >> pools) * options["blocks"][-1][0] * max(1, options["dense_units"])
    return 0


def check_input(key: str, input_shape: tuple[int, ...], options: dict | None = None) -> None:
    """Refuse an input the architecture cannot take, with the reason and the fix."""
    if key not in ARCHITECTURES:
        raise ArchitectureError(f"architecture: unknown {key!r}; choose one of {', '.join(ARCHITECTURES)}")
    arch = ARCHITECTURES[key]
    options = check_options(key, options or {})
    side = min(input_shape[0], input_shape[1])
    need = min_side(key, options)
    if side < need:
        raise ArchitectureError(
            f"architecture: {arch.title} needs images of at least {need}×{need}, but this dataset's are "
            f"{input_shape[0]}×{input_shape[1]}; choose a dataset with larger images (or a larger image size "
            "for an image folder), or another architecture")
    weights = largest_dense_weights(key, input_shape, options)
    if weights > MAX_DENSE_WEIGHTS:
        raise ArchitectureError(
            f"architecture: {arch.title} on {input_shape[0]}×{input_shape[1]}×{input_shape[-1]} images would need "
            f"{weights / 1e6:,.0f} million weights ({weights * 4 / 2**30:.1f} GB) in one Dense layer; use smaller "
            "images (a smaller image size for a folder) or a convolutional architecture")
    if arch.needs_rgb and input_shape[-1] != 3:
        raise ArchitectureError(
            f"architecture: {arch.title} needs colour (3-channel) images, this dataset has {input_shape[-1]}; "
            "choose CIFAR-10/100 or an image folder, or another architecture")

def parse_int_list(text: str, option: str) -> list[int]:
    """'512, 256' -> [512, 256] for an option typed on a page."""
    try:
        values = [int(part) for part in text.replace(" ", "").split(",") if part]
    except ValueError:
        raise ArchitectureError(f"architecture: option {option} takes whole numbers separated by commas, "
                                f"e.g. 512, 256; got {text!r}") from None
    return values


def parse_blocks(text: str) -> list[list]:
    """'32x2p, 64x2p, 128x1' -> [[32, 2, True], [64, 2, True], [128, 1, False]]: filters x convs, p = pool."""
    blocks = []
    for part in text.replace(" ", "").lower().split(","):
        if not part:
            continue
        pool = part.endswith("p")
        body = part.rstrip("p")
        try:
            filters, convs = (int(v) for v in body.split("x"))
        except ValueError:
            raise ArchitectureError(f"architecture: option blocks takes filters x convs, with p for pooling, "
                                    f"e.g. 32x2p, 64x2p; got {part!r}") from None
        blocks.append([filters, convs, pool])
    return blocks


def blocks_text(blocks) -> str:
    """[[32, 2, True], ...] -> '32x2p, ...' (the inverse of parse_blocks)."""
    return ", ".join(f"{f}x{c}{'p' if p else ''}" for f, c, p in blocks)
