"""A finished run's model looked into: try-your-model equals model.predict, Grad-CAM's shape and content,
first-layer filters, feature maps, the shared bounded cache, and the Runs page's section."""
import numpy as np
import pytest

from core.data.images import to_model_input
from core.domain.config import TrainConfig
from core.domain.statuses import SUCCEEDED
from core.services import run_models
from core.training.fit import execute_run
from core.training.inspection import grad_cam
from core.views.evaluation import load_predictions
from tests.test_pages import _page

TINY_CNN = {"blocks": [[8, 1, True], [16, 1, False]], "head": "gap", "dense_units": 16}


pytestmark = pytest.mark.xdist_group("run_models")  # its trained model is made once, in one test process


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One small CNN trained for real on the bundled digits (shared by the module's tests: about 10 s)."""
    import os

    from core.settings import load_settings
    from core.store.runs import RunStore

    home = tmp_path_factory.mktemp("run-models")
    saved = {k: os.environ.get(k) for k in ("TRAINLAB_HOME", "TRAINLAB_AUTOSTART_WORKERS", "KERAS_HOME")}
    os.environ.update(TRAINLAB_HOME=str(home / "lab"), TRAINLAB_AUTOSTART_WORKERS="0", KERAS_HOME=str(home / "k"))
    settings = load_settings()
    store = RunStore(settings.db_path)
    config = TrainConfig(name="tiny cnn", architecture="custom_cnn", arch_options=TINY_CNN, epochs=3, batch_size=32)
    run_id = store.create_run(config.display_name(), config.to_dict(), epochs=3)
    assert execute_run(run_id, settings) == SUCCEEDED, store.get(run_id).error
    yield settings, run_id
    store.close()
    for key, value in saved.items():
        os.environ.pop(key, None) if value is None else os.environ.__setitem__(key, value)


def _digit(settings, index=0) -> np.ndarray:
    from core.services import previews

    return previews.dataset_images("digits", settings)[index]


def test_try_your_model_gives_model_predict_on_the_same_preprocessed_input(trained):
    import keras

    settings, run_id = trained
    image = _digit(settings)
    answer = run_models.classify(run_id, image, settings)
    model = keras.saving.load_model(settings.runs_dir / str(run_id) / "model.keras")
    assert np.array_equal(to_model_input(image, (8, 8, 1)), image.astype(np.float32) / 255)  # as training scales
    expected = model.predict(image[None].astype(np.float32) / 255, verbose=0)[0]
    order = np.argsort(expected)[::-1]
    assert answer.classes == tuple(str(i) for i in order)
    assert np.allclose(answer.probabilities, expected[order], atol=1e-6)
    assert answer.seen.shape == (8, 8) and abs(sum(answer.probabilities) - 1) < 1e-5
    inverted = run_models.classify(run_id, image, settings, invert=True)
    assert np.array_equal(inverted.seen, 255 - answer.seen)


def test_grad_cam_is_a_map_of_the_input_size_that_is_not_constant(trained):
    settings, run_id = trained
    images = [_digit(settings, i) for i in range(4)]
    cams = run_models.grad_cams(run_id, images, settings)
    for cam, index in cams:
        assert cam.shape == (8, 8) and 0 <= cam.min() and cam.max() <= 1
        assert 0 <= index < 10
    assert any(cam.std() > 0.01 for cam, _ in cams)
    model = run_models._model(run_id, settings, None)
    cam, index = grad_cam(model, to_model_input(images[0], (8, 8, 1)), class_index=3)
    assert index == 3 and cam.shape == (8, 8)


def test_filters_are_the_first_conv_layers_kernels(trained):
    settings, run_id = trained
    layer, kernels = run_models.filters(run_id, settings)
    assert len(kernels) == 8 and all(k.shape == (3, 3) and k.dtype == np.uint8 for k in kernels)
    assert layer and min(k.min() for k in kernels) == 0 and max(k.max() for k in kernels) == 255


def test_feature_maps_of_the_trained_model(trained):
    settings, run_id = trained
    maps = run_models.feature_maps(run_id, _digit(settings), settings)
    assert [m.output_shape for m in maps][:2] == [(8, 8, 8), (4, 4, 8)]  # conv 8, then its pool


def test_feature_maps_reach_conv_layers_inside_a_nested_model():
    """An augmented run's model nests its architecture; its maps are the inner model's, channel for channel."""
    import keras

    from core.training.builders import build_model
    from core.training.inspection import feature_maps

    keras.utils.set_random_seed(0)
    inner = build_model("custom_cnn", (8, 8, 1), 10, TINY_CNN)
    inputs = keras.Input((8, 8, 1))  # as core/training/augmentation.wrap_model nests it
    outer = keras.Model(inputs, inner(keras.layers.RandomFlip("horizontal")(inputs)))
    image = np.random.default_rng(0).random((8, 8, 1)).astype(np.float32)
    nested, direct = feature_maps(outer, image), feature_maps(inner, image)
    assert [m.output_shape for m in nested][:2] == [(8, 8, 8), (4, 4, 8)] and len(nested) == len(direct)
    first_conv = next(layer for layer in inner.layers if type(layer).__name__ == "Conv2D")
    probe = keras.ops.convert_to_numpy(keras.Model(inner.inputs, first_conv.output)(image[None]))[0]
    assert nested[0].name == first_conv.name
    for got, want in zip(nested, direct):
        assert got.name == want.name and all(np.array_equal(a, b) for a, b in zip(got.channels, want.channels))
    assert nested[0].channels[1].max() == (255 if np.ptp(probe[..., 1]) > 0 else 0)
    assert "call" not in first_conv.__dict__  # the hooks are gone afterwards


def test_models_are_loaded_once_and_the_cache_is_bounded(trained):
    settings, run_id = trained
    run_models._cache.clear()
    run_models.classify(run_id, _digit(settings), settings)
    first = run_models._model(run_id, settings, None)
    run_models.filters(run_id, settings)
    assert run_models.cached_models() == 1 and run_models._model(run_id, settings, None) is first


def test_a_run_without_a_model_is_one_line(lab, store):
    run_id = store.create_run("queued one", TrainConfig().to_dict())
    with pytest.raises(run_models.NoModel, match=f"^run: #{run_id} has no trained model; only a succeeded run"):
        run_models.classify(run_id, np.zeros((8, 8, 3), np.uint8), lab)


def test_the_runs_page_looks_inside_a_finished_run(trained, monkeypatch):
    settings, run_id = trained
    monkeypatch.setenv("TRAINLAB_HOME", str(settings.home))
    assert load_predictions(settings.runs_dir / str(run_id)) is not None
    at = _page("pages/runs.py")
    at.query_params["run"] = str(run_id)
    at.run()
    at.toggle(key=f"inside_{run_id}").set_value(True).run()
    assert not at.exception and not at.error
    tables = [d.value for d in at.dataframe if list(d.value.columns) == ["class", "probability"]]
    assert len(tables) == 1 and len(tables[0]) == 5 and tables[0]["probability"].is_monotonic_decreasing
    assert any(c.value.endswith("8 kernels of 3×3, scaled together: black is the most negative weight, white the "
                                "most positive") for c in at.caption)
    assert any(c.value.startswith("Resized to 8×8, grey (luma), pixel values scaled to 0..1") for c in at.caption)


def test_an_mlps_run_says_grad_cam_needs_conv_layers_and_still_shows_its_other_tabs(lab, store):
    config = TrainConfig(name="digits mlp", epochs=1, train_subset=300)
    run_id = store.create_run(config.display_name(), config.to_dict(), epochs=1)
    assert execute_run(run_id, lab) == SUCCEEDED, store.get(run_id).error
    at = _page("pages/runs.py")
    at.query_params["run"] = str(run_id)
    at.run()
    at.toggle(key=f"inside_{run_id}").set_value(True).run()
    assert not at.exception and [e.value for e in at.error] == []
    infos = [i.value for i in at.info]
    assert any(i.startswith("Grad-CAM weighs a convolutional layer's maps; this model has none") for i in infos)
    assert "This model has no convolutional layer, so no filters to show." in infos
    assert any(d.value.columns.tolist() == ["class", "probability"] for d in at.dataframe)  # Try it still works
    # It opens on a test image of the run's own dataset, not the dog photo a digits model cannot read.
    assert at.selectbox(key=f"try_{run_id}_source").value == "an image of digits"


def test_grad_cam_over_test_images_in_order(trained, monkeypatch):
    settings, run_id = trained
    monkeypatch.setenv("TRAINLAB_HOME", str(settings.home))
    images, labels = run_models.test_images(run_id, 3, 5, settings)
    from core.data.datasets import load

    data = load("digits", settings)
    assert np.array_equal(images, data.x_test[3:8]) and np.array_equal(labels, data.y_test[3:8])
    at = _page("pages/runs.py")
    at.query_params["run"] = str(run_id)
    at.run()
    at.toggle(key=f"inside_{run_id}").set_value(True).run()
    at.radio(key=f"cam_source_{run_id}").set_value("test").run()
    assert not at.exception and [e.value for e in at.error] == []
    [grid] = [i for i in at.get("image") if len(i.proto.imgs) == 12]  # CAM_IMAGES overlays
    captions = [img.caption for img in grid.proto.imgs]
    assert captions[0] == f"true {data.y_test[0]} · explains {captions[0].rsplit(' ', 1)[1]}"
