"""The Keras model builders of the architecture presets and the custom MLP/CNN (named by
core/domain/architectures.py's registry), and `build_model`, which checks the input first."""
from __future__ import annotations

import math

from core.domain import layer_stacks
from core.domain.architectures import ARCHITECTURES, VGG16_BLOCKS, ArchitectureError, check_input, check_options


def build_mlp(input_shape, num_classes, hidden_units=(1024, 256), activation="relu", dropout=0.0,
              batch_norm=False, name="mlp", bn_momentum=0.99):
    """An MLP; with batch_norm each hidden layer is Dense (no activation) → BatchNorm → activation."""
    import keras
    from keras import layers

    inputs = keras.Input(shape=input_shape, name="image")
    x = layers.Flatten(name="flatten")(inputs)
    for i, units in enumerate(hidden_units, start=1):
        if batch_norm:
            x = layers.Dense(units, name=f"dense_{i}")(x)
            x = layers.BatchNormalization(momentum=bn_momentum, name=f"batch_norm_{i}")(x)
            x = layers.Activation(activation, name=f"{activation}_{i}")(x)
        else:
            x = layers.Dense(units, activation=activation, name=f"dense_{i}")(x)
        if dropout:
            x = layers.Dropout(dropout, name=f"dropout_{i}")(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="classes")(x)
    return keras.Model(inputs, outputs, name=name)


def build_vgg16(input_shape, num_classes):
    """VGG16: five blocks of 3x3 ReLU convs, each followed by a 2x2 max-pool, then a head that fits
    the input: the original 4096-4096 head for ImageNet-sized inputs, 512-512 for small images."""
    import keras
    from keras import layers

    inputs = keras.Input(shape=input_shape, name="image")
    x = inputs
    for b, (filters, convs) in enumerate(VGG16_BLOCKS, start=1):
        for c in range(1, convs + 1):
            x = layers.Conv2D(filters, 3, padding="same", activation="relu", name=f"block{b}_conv{c}")(x)
        x = layers.MaxPooling2D(2, name=f"block{b}_pool")(x)
    # Above ImageNet's 224 px, Flatten would feed millions of values into fc1: pool them instead.
    x = layers.Flatten(name="flatten")(x) if max(input_shape[:2]) <= 224 else \
        layers.GlobalAveragePooling2D(name="gap")(x)
    width = 4096 if min(input_shape[:2]) >= 128 else 512
    x = layers.Dense(width, activation="relu", name="fc1")(x)
    x = layers.Dense(width, activation="relu", name="fc2")(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="classes")(x)
    return keras.Model(inputs, outputs, name="vgg16")


def residual_block(x, num_kernels: int, kernel_size: int, name: str):
    """The course's ResidualBlock: two Conv2D (ReLU, same) whose output is added to the input."""
    from keras import layers

    y = layers.Conv2D(num_kernels, kernel_size, padding="same", activation="relu", name=f"{name}_conv1")(x)
    y = layers.Conv2D(num_kernels, kernel_size, padding="same", activation="relu", name=f"{name}_conv2")(y)
    return layers.Add(name=f"{name}_add")([x, y])


def build_small_resnet(input_shape, num_classes, num_kernels=32, kernel_size=3, blocks=3):
    """A conv stem, `blocks` residual blocks, global average pooling and a softmax head."""
    import keras
    from keras import layers

    inputs = keras.Input(shape=input_shape, name="image")
    x = layers.Conv2D(num_kernels, 3, padding="same", activation="relu", name="stem")(inputs)
    for i in range(1, blocks + 1):
        x = residual_block(x, num_kernels, kernel_size, name=f"res{i}")
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="classes")(x)
    return keras.Model(inputs, outputs, name="small_resnet")


def build_resnet50(input_shape, num_classes):
    """ResNet-50 from scratch: `keras.applications.ResNet50(weights=None)` pooled → Dense softmax."""
    import keras

    inputs = keras.Input(shape=input_shape, name="image")
    base = keras.applications.ResNet50(weights=None, include_top=False, input_tensor=inputs, pooling="avg")
    outputs = keras.layers.Dense(num_classes, activation="softmax", name="classes")(base.output)
    return keras.Model(inputs, outputs, name="resnet50")


def upsampling_factor(side: int, target: int = 224) -> int:
    """How much to upsample a small image so the ImageNet base sees about `target` pixels."""
    return max(1, math.ceil(target / side))


def build_resnet50_transfer(input_shape, num_classes, weights="imagenet", target_side=224):
    """Frozen ResNet-50 base (ImageNet weights) on upsampled input → GAP → Dense softmax."""
    import keras
    from keras import layers

    inputs = keras.Input(shape=input_shape, name="image")
    factor = upsampling_factor(input_shape[0], target_side)
    x = layers.UpSampling2D(size=(factor, factor), name="upsample")(inputs) if factor > 1 else inputs
    # The ImageNet weights expect caffe-style inputs; our pipeline feeds [0, 1] images.
    x = layers.Rescaling(255.0, name="to_0_255")(x)
    x = keras.applications.resnet50.preprocess_input(x)
    try:
        base = keras.applications.ResNet50(weights=None if weights == "random" else weights, include_top=False,
                                           input_shape=(input_shape[0] * factor, input_shape[1] * factor, 3))
    except Exception as exc:  # the weights download failed: offline, or blocked
        raise ArchitectureError(
            "architecture: the ImageNet weights for ResNet-50 could not be downloaded "
            f"({' '.join(str(exc).split())[:120]}); put resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5 "
            "in the Keras cache's models/ folder, or set the option weights to 'random' to train the "
            "same head on a randomly initialised base") from exc
    base.trainable = False
    x = base(x, training=False)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="classes")(x)
    return keras.Model(inputs, outputs, name="resnet50_transfer")


def build_custom_cnn(input_shape, num_classes, blocks=((32, 2, True), (64, 2, True)), batch_norm=False,
                     dropout=0.0, head="gap", dense_units=128, bn_momentum=0.99):
    """Blocks of (filters, convs, pool?) of 3x3 convs; BatchNorm before ReLU; a GAP or Flatten head."""
    import keras
    from keras import layers

    inputs = keras.Input(shape=input_shape, name="image")
    x = inputs
    for b, (filters, convs, pool) in enumerate(blocks, start=1):
        for c in range(1, int(convs) + 1):
            name = f"block{b}_conv{c}"
            if batch_norm:
                x = layers.Conv2D(int(filters), 3, padding="same", name=name)(x)
                x = layers.BatchNormalization(momentum=bn_momentum, name=f"{name}_bn")(x)
                x = layers.Activation("relu", name=f"{name}_relu")(x)
            else:
                x = layers.Conv2D(int(filters), 3, padding="same", activation="relu", name=name)(x)
        if pool:
            x = layers.MaxPooling2D(2, name=f"block{b}_pool")(x)
    x = layers.GlobalAveragePooling2D(name="gap")(x) if head == "gap" else layers.Flatten(name="flatten")(x)
    if dense_units:
        x = layers.Dense(int(dense_units), activation="relu", name="dense")(x)
    if dropout:
        x = layers.Dropout(float(dropout), name="dropout")(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="classes")(x)
    return keras.Model(inputs, outputs, name="custom_cnn")


def build_stack(input_shape, num_classes, stack=(), name="model"):
    """An architecture declared as a plain stack of layers (core/domain/layer_stacks.py), ending in softmax."""
    import keras
    from keras import layers

    inputs = keras.Input(shape=input_shape, name="image")
    x = inputs
    for kind, arguments in layer_stacks.keras_layers(stack):
        x = getattr(layers, kind)(**arguments)(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="classes")(x)
    return keras.Model(inputs, outputs, name=name)


# The registry names its builder; this is where a name meets its function.
BUILDERS = {f.__name__: f for f in (
    build_mlp, build_vgg16, build_small_resnet, build_resnet50, build_resnet50_transfer, build_custom_cnn,
    build_stack,
)}


def build_model(key: str, input_shape: tuple[int, ...], num_classes: int, options: dict | None = None):
    """Build a fresh Keras model for `key` on the given input shape and class count."""
    check_input(key, tuple(input_shape), options)
    options = check_options(key, options or {})
    arch = ARCHITECTURES[key]
    return BUILDERS[arch.builder](tuple(input_shape), int(num_classes), **arch.arguments(options))
