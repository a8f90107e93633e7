"""Every preset's parameter count equals the same network written directly in Keras, on MNIST-,
CIFAR-10- and CIFAR-100-shaped inputs; impossible inputs are refused with the reason and the fix."""
import keras
import pytest
from keras import layers

from core.domain.architectures import ARCHITECTURES, ArchitectureError, parse_blocks, parse_int_list
from core.domain.config import ConfigError, TrainConfig, validate
from core.training.builders import build_model

SHAPES = {"mnist": ((28, 28, 1), 10), "cifar10": ((32, 32, 3), 10), "cifar100": ((32, 32, 3), 100)}


def _seq(shape, *stack):
    return keras.Sequential([keras.Input(shape), *stack])


def _mlp(shape, n, units, bn=False, dropout=0.0):
    stack = [layers.Flatten()]
    for u in units:
        stack += ([layers.Dense(u), layers.BatchNormalization(), layers.ReLU()] if bn
                  else [layers.Dense(u, activation="relu")])
        stack += [layers.Dropout(dropout)] if dropout else []
    return _seq(shape, *stack, layers.Dense(n, activation="softmax"))


def _conv(f, s=1, act="relu"):
    return layers.Conv2D(f, 3, strides=s, padding="same", activation=act)


def _basic_cnn(shape, n, regularised):
    stack = []
    for f in (16, 32, 64):
        stack += [_conv(f, act=None), layers.BatchNormalization(), layers.ReLU()] if regularised else [_conv(f)]
        stack.append(layers.MaxPooling2D())
    stack += [layers.GlobalAveragePooling2D(), layers.Dense(256, activation="relu")]
    stack += [layers.Dropout(0.5)] if regularised else []
    return _seq(shape, *stack, layers.Dense(n, activation="softmax"))


def _vgg16(shape, n):
    stack = []
    for filters, convs in ((64, 2), (128, 2), (256, 3), (512, 3), (512, 3)):
        stack += [_conv(filters) for _ in range(convs)] + [layers.MaxPooling2D()]
    return _seq(shape, *stack, layers.Flatten(), layers.Dense(512, activation="relu"),
                layers.Dense(512, activation="relu"), layers.Dense(n, activation="softmax"))


def _small_resnet(shape, n):
    inputs = keras.Input(shape)
    x = _conv(32)(inputs)
    for _ in range(3):
        x = layers.Add()([x, _conv(32)(_conv(32)(x))])
    return keras.Model(inputs, layers.Dense(n, activation="softmax")(layers.GlobalAveragePooling2D()(x)))


def _resnet50(shape, n):
    base = keras.applications.ResNet50(weights=None, include_top=False, input_shape=shape, pooling="avg")
    return base.count_params() + 2048 * n + n


REFERENCES = {
    "mlp": lambda s, n: _mlp(s, n, (1024, 256)),
    "mlp_bn": lambda s, n: _mlp(s, n, (1024, 256), bn=True),
    "deep_mlp": lambda s, n: _mlp(s, n, (4096, 1024, 256, 64)),
    "custom_mlp": lambda s, n: _mlp(s, n, (512, 256)),
    "conv_demo_a": lambda s, n: _seq(s, _conv(1), layers.GlobalAveragePooling2D(), layers.Dense(n)),
    "conv_demo_b": lambda s, n: _seq(s, _conv(4), _conv(4), layers.GlobalAveragePooling2D(), layers.Dense(n)),
    "conv_demo_c": lambda s, n: _seq(s, _conv(2), _conv(4), layers.Conv2D(8, 3, padding="valid"),
                                     layers.GlobalAveragePooling2D(), layers.Dense(n)),
    "small_cnn": lambda s, n: _seq(s, _conv(16), _conv(32), layers.MaxPooling2D(), _conv(64, 2), _conv(64, 2),
                                   layers.MaxPooling2D(), layers.Flatten(), layers.Dense(128, activation="relu"),
                                   layers.Dense(n, activation="softmax")),
    "vgg16": _vgg16,
    "small_resnet": _small_resnet,
    "basic_cnn": lambda s, n: _basic_cnn(s, n, False),
    "basic_cnn_regularised": lambda s, n: _basic_cnn(s, n, True),
    "custom_cnn": lambda s, n: _seq(s, _conv(32), _conv(32), layers.MaxPooling2D(), _conv(64), _conv(64),
                                    layers.MaxPooling2D(), layers.GlobalAveragePooling2D(),
                                    layers.Dense(128, activation="relu"), layers.Dense(n, activation="softmax")),
    "resnet50": _resnet50,
    "lenet5": lambda s, n: _seq(s, layers.Conv2D(6, 5, padding="same", activation="tanh"), layers.AveragePooling2D(2),
                                layers.Conv2D(16, 5, activation="tanh"), layers.AveragePooling2D(2), layers.Flatten(),
                                layers.Dense(120, activation="tanh"), layers.Dense(84, activation="tanh"),
                                layers.Dense(n, activation="softmax")),
    "resnet50_transfer": lambda s, n: _resnet50((224, 224, 3), n),  # 32 px upsampled x7
}
CASES = [(key, data) for key in REFERENCES for data in SHAPES
         if not (data == "mnist" and key in ("vgg16", "resnet50", "resnet50_transfer"))]


def test_every_preset_has_a_reference():
    assert set(REFERENCES) == set(ARCHITECTURES)


@pytest.mark.parametrize("key, data", CASES)
def test_parameter_counts_match_keras(key, data):
    shape, n = SHAPES[data]
    options = {"weights": "random"} if key == "resnet50_transfer" else None
    ours = build_model(key, shape, n, options)
    reference = REFERENCES[key](shape, n)
    assert ours.count_params() == (reference if isinstance(reference, int) else reference.count_params())
    assert ours.output_shape == (None, n)


def test_course_numbers():
    assert build_model("mlp", (28, 28, 1), 10).count_params() == 1_068_810
    assert build_model("deep_mlp", (32, 32, 3), 10).count_params() == 17_061_834
    assert build_model("small_cnn", (32, 32, 3), 10).count_params() == 94_698


def test_lenet5_is_the_1998_network_for_digit_sized_input():
    model = build_model("lenet5", (28, 28, 1), 10)
    assert model.count_params() == 61_706  # the classic figure for LeNet-5 on 28×28 digits
    assert [layer.__class__.__name__ for layer in model.layers[1:5]] == ["Conv2D", "AveragePooling2D", "Conv2D",
                                                                         "AveragePooling2D"]
    with pytest.raises(ConfigError, match=r"needs images of at least 12×12, but this dataset.s are 8×8"):
        validate(TrainConfig(dataset="digits", architecture="lenet5"))


def test_transfer_base_is_frozen_and_upsampled():
    model = build_model("resnet50_transfer", (32, 32, 3), 10, {"weights": "random"})
    trainable = sum(int(w.numpy().size) for w in model.trainable_weights)
    assert trainable == 2048 * 10 + 10  # only the new head learns
    assert model.get_layer("upsample").output.shape[1:3] == (224, 224)


def test_custom_builders_follow_their_options():
    mlp = build_model("custom_mlp", (8, 8, 1), 3, {"hidden_units": [7], "dropout": 0.5, "batch_norm": True,
                                                    "activation": "tanh"})
    assert mlp.count_params() == (64 * 7 + 7) + 4 * 7 + (7 * 3 + 3)
    assert [layer.__class__.__name__ for layer in mlp.layers][2:6] == ["Dense", "BatchNormalization", "Activation",
                                                                       "Dropout"]
    cnn = build_model("custom_cnn", (16, 16, 3), 2, {"blocks": [[4, 1, True]], "head": "flatten", "dense_units": 0})
    assert cnn.count_params() == (3 * 3 * 3 * 4 + 4) + (8 * 8 * 4 * 2 + 2)


@pytest.mark.parametrize("config, message", [
    (TrainConfig(architecture="vgg16"), "VGG16 needs images of at least 32×32, but this dataset's are 8×8"),
    # Inferred from its layers (a pool, two stride-2 convs and a pool keep one pixel of 10): 16 was a guess.
    (TrainConfig(architecture="small_cnn"), "needs images of at least 10×10"),
    (TrainConfig(architecture="resnet50_transfer", arch_options={"weights": "random"}), "needs colour (3-channel)"),
    (TrainConfig(architecture="custom_cnn", arch_options={"blocks": [[8, 1, True]] * 4}), "at least 16×16"),
    (TrainConfig(architecture="custom_mlp", arch_options={"hidden_units": []}), "option hidden_units must list"),
    (TrainConfig(architecture="custom_mlp", arch_options={"dropout": 1.5}), "option dropout"),
    (TrainConfig(architecture="mlp", arch_options={"depth": 3}), "has no option 'depth'"),
])
def test_impossible_combinations_are_refused_before_queueing(lab, config, message):
    with pytest.raises(ConfigError) as err:
        validate(config, lab)
    assert err.value.field == "architecture" and message in str(err.value)
    assert "\n" not in str(err.value)


def test_grayscale_is_refused_for_imagenet_models():
    with pytest.raises(ArchitectureError, match="needs colour .3-channel. images"):
        build_model("resnet50", (32, 32, 1), 10)


def test_option_parsers():
    assert parse_int_list("512, 256,", "hidden_units") == [512, 256]
    assert parse_blocks("32x2p, 64x1") == [[32, 2, True], [64, 1, False]]
    with pytest.raises(ArchitectureError, match="e.g. 32x2p"):
        parse_blocks("32 by 2")
    with pytest.raises(ArchitectureError, match="whole numbers"):
        parse_int_list("a, b", "hidden_units")


def test_every_preset_has_lesson_text_and_a_recipe():
    for arch in ARCHITECTURES.values():
        assert arch.title and arch.description and len(arch.lesson) > 60 and arch.recipe.batch_size > 0


def test_transfer_learning_offline_says_how_to_go_on(monkeypatch):
    import urllib.request

    # urlopen caches one global opener with the proxies it first saw: build it under the fake proxy
    # only for this test, and drop it afterwards so later tests are not routed through it.
    monkeypatch.setattr(urllib.request, "_opener", None)
    for var in ("https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY"):
        monkeypatch.setenv(var, "http://127.0.0.1:9")  # no network: the weights download fails at once
    with pytest.raises(ArchitectureError) as err:
        build_model("resnet50_transfer", (32, 32, 3), 10, {"weights": "imagenet"})
    message = str(err.value)
    assert message.startswith("architecture: the ImageNet weights for ResNet-50 could not be downloaded")
    assert "set the option weights to 'random'" in message and "\n" not in message


def test_the_dense_weight_estimate_matches_keras():
    from core.domain.architectures import check_options, largest_dense_weights

    for key, shape in [("mlp", (28, 28, 1)), ("deep_mlp", (32, 32, 3)), ("vgg16", (64, 64, 3)),
                       ("small_cnn", (30, 30, 3)), ("custom_cnn", (20, 20, 3))]:
        options = {"head": "flatten"} if key == "custom_cnn" else {}
        model = build_model(key, shape, 10, options)
        largest = max(int(layer.kernel.numpy().size) for layer in model.layers if layer.__class__.__name__ == "Dense")
        assert largest_dense_weights(key, shape, check_options(key, options)) == largest


def test_a_model_too_large_for_memory_is_refused_before_it_is_built():
    with pytest.raises(ArchitectureError) as err:
        build_model("deep_mlp", (512, 512, 3), 10)
    message = str(err.value)
    assert "would need 3,221 million weights (12.0 GB) in one Dense layer" in message and "\n" not in message
    assert build_model("vgg16", (256, 256, 3), 10).get_layer("gap")  # a pooled head instead of Flatten


def test_custom_builders_batchnorm_settles_faster_than_the_course_presets():
    import keras

    def momenta(key, options):
        model = build_model(key, (28, 28, 1), 10, options)
        return {layer.momentum for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)}

    assert momenta("custom_cnn", {"blocks": [[8, 1, True]], "batch_norm": True}) == {0.9}
    assert momenta("custom_mlp", {"hidden_units": [16], "batch_norm": True}) == {0.9}
    assert momenta("mlp_bn", {}) == {0.99}  # as the lesson wrote it


def test_every_architecture_names_a_builder_that_exists():
    from core.training.builders import BUILDERS

    assert {a.builder for a in ARCHITECTURES.values()} <= set(BUILDERS)
