"""The tiny test files are in Keras' real formats: Keras' own readers parse them as ours do."""
import subprocess
import sys

import numpy as np

from core.data import datasets
from tests.conftest import PROJECT_ROOT, make_cifar10, make_fashion_files

KERAS_READS = """
import sys, numpy as np
import keras
from keras.src.datasets.cifar import load_batch
(fx, fy), (fxt, fyt) = keras.datasets.fashion_mnist.load_data()   # reads $KERAS_HOME, never downloads here
cx, cy = load_batch(sys.argv[1] + "/data_batch_1")
np.savez(sys.argv[2], fx=fx, fy=fy, fxt=fxt, cx=cx, cy=np.asarray(cy))
"""


def test_keras_own_readers_agree_with_ours(lab, tmp_path):
    make_fashion_files(lab.keras_home / "datasets" / "fashion-mnist", n_train=20, n_test=10)
    cifar = lab.keras_home / "datasets" / "cifar-10-batches-py-target" / "cifar-10-batches-py"
    make_cifar10(cifar, per_batch=4, n_test=3)
    out = tmp_path / "keras.npz"
    result = subprocess.run([sys.executable, "-c", KERAS_READS, str(cifar), str(out)], cwd=PROJECT_ROOT,
                            env={"KERAS_HOME": str(lab.keras_home), "PATH": "/usr/bin:/bin",
                                 "TF_CPP_MIN_LOG_LEVEL": "3", "https_proxy": "http://127.0.0.1:9"},
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    keras_arrays = np.load(out)
    fashion = datasets.load("fashion_mnist", lab)
    np.testing.assert_array_equal(fashion.x_train[..., 0], keras_arrays["fx"])
    np.testing.assert_array_equal(fashion.y_train, keras_arrays["fy"])
    np.testing.assert_array_equal(fashion.x_test[..., 0], keras_arrays["fxt"])
    ours = datasets.load("cifar10", lab)
    # Keras' load_batch gives channels-first images; ours are channels-last.
    np.testing.assert_array_equal(ours.x_train[:4], keras_arrays["cx"].transpose(0, 2, 3, 1))
    np.testing.assert_array_equal(ours.y_train[:4], keras_arrays["cy"])
