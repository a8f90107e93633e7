"""Architecture presets build for any input shape, with the parameter counts of the course's networks."""
import pytest

from core.architectures import ARCHITECTURES, build_model


def _dense(n_in, n_out):
    return n_in * n_out + n_out


@pytest.mark.parametrize("shape, classes", [((28, 28, 1), 10), ((32, 32, 3), 10), ((32, 32, 3), 100), ((8, 8, 1), 10)])
def test_course_mlp_parameter_counts(shape, classes):
    pixels = shape[0] * shape[1] * shape[2]
    hidden = _dense(pixels, 1024) + _dense(1024, 256)
    mlp = build_model("mlp", shape, classes)
    assert mlp.count_params() == hidden + _dense(256, classes)
    # BatchNorm twin: 4 parameters per unit (gamma, beta trainable; mean, variance not).
    mlp_bn = build_model("mlp_bn", shape, classes)
    assert mlp_bn.count_params() == hidden + _dense(256, classes) + 4 * (1024 + 256)
    assert mlp.output_shape == (None, classes) and mlp_bn.input_shape == (None, *shape)


def test_fashion_mnist_mlp_matches_the_lesson():
    assert build_model("mlp", (28, 28, 1), 10).count_params() == 1_068_810


def test_unknown_architecture_is_refused():
    with pytest.raises(KeyError, match="architecture: unknown"):
        build_model("transformer", (8, 8, 1), 10)


def test_every_preset_has_text_for_the_pages():
    for arch in ARCHITECTURES.values():
        assert arch.title and arch.description
