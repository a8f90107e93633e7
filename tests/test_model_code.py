"""The Models page's code for every architecture runs on its own and builds the model the page counts."""
import contextlib
import io

import pytest

from core.domain.architectures import ARCHITECTURES
from core.training.summary import keras_code, report

OPTIONS = {"resnet50_transfer": {"weights": "random"}}  # "imagenet" would download 94 MB


@pytest.mark.parametrize("key", sorted(ARCHITECTURES))
def test_every_architectures_code_runs_alone_and_matches_the_pages_count(key):
    shape, classes = (32, 32, 3), 10
    expected = report(key, shape, classes, OPTIONS.get(key))
    code = keras_code(key, shape, classes, OPTIONS.get(key))
    namespace: dict = {}
    with contextlib.redirect_stdout(io.StringIO()):  # the code ends with model.summary()
        exec(compile(code, f"<{key} code>", "exec"), namespace)  # noqa: S102 - our own generated code, in a test
    model = namespace["model"]
    assert model.count_params() == expected.totals.trainable + expected.totals.non_trainable
    assert "core." not in code and "from core" not in code  # nothing of Train Lab's own package is needed
