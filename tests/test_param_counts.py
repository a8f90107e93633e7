"""Parameter counts computed before building match Keras' own count of the built model."""
import pytest

from core.domain.architectures import ARCHITECTURES
from core.domain.param_counts import parameter_count
from core.training.builders import build_model

CASES = [(key, (32, 32, 3), {}) for key in ARCHITECTURES if key != "resnet50_transfer"] + [
    ("resnet50_transfer", (32, 32, 3), {"weights": "random"}),
    ("mlp", (28, 28, 1), {}), ("small_cnn", (28, 28, 1), {}), ("vgg16", (64, 48, 1), {}),
    ("custom_mlp", (8, 8, 1), {"hidden_units": [64, 32], "batch_norm": True}),
    ("custom_cnn", (28, 28, 1), {"blocks": [[8, 1, True], [16, 2, False]], "batch_norm": True, "head": "flatten",
                                 "dense_units": 0}),
    ("small_resnet", (16, 16, 3), {"num_kernels": 8, "kernel_size": 5, "blocks": 2}),
]


@pytest.mark.parametrize("key, shape, options", CASES, ids=[f"{k}-{'x'.join(map(str, s))}" for k, s, _ in CASES])
def test_the_formula_matches_keras(key, shape, options):
    assert parameter_count(key, shape, 7, options) == build_model(key, shape, 7, options).count_params()
