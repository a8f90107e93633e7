"""Augmentation pipelines: construction, preset shapes, determinism, refusals, code, training."""
import io
import re

import numpy as np
import pytest
from PIL import Image

from core.data import images
from core.domain import augment
from core.domain.config import ConfigError, TrainConfig, validate
from core.domain.statuses import SUCCEEDED
from core.training import augmentation
from core.training.fit import execute_run
from core.views.image_grid import grid_png

PHOTO = np.random.default_rng(0).integers(0, 256, (240, 300, 3), dtype=np.uint8)


def test_every_layer_builds_with_its_defaults():
    spec = [augment.default_step(layer, 240, 300) for layer in augment.LAYERS if layer != "Resizing"]
    pipeline = augmentation.build(spec, 240, 300, seed=1)
    assert [layer.__class__.__name__ for layer in pipeline.layers] == [s["layer"] for s in spec]
    samples = augmentation.augment(PHOTO, spec, 2, seed=1)
    assert samples.output_shape[-1] == 3 and all(i.dtype == np.uint8 for i in samples.images)


@pytest.mark.parametrize("preset, shape", [("dog", (150, 200, 3)), ("cat", (224, 224, 3))])
def test_course_presets_output_shapes_and_range(preset, shape):
    samples = augmentation.augment(PHOTO, augment.PRESETS[preset], 3, seed=0)
    assert samples.output_shape == shape and len(samples.images) == 3
    assert 0.0 <= samples.value_range[0] and samples.value_range[1] <= 1.0  # Rescaling(1/255)


def test_same_seed_same_samples_other_seed_other_samples():
    spec = augment.PRESETS["cat"]
    a, b = augmentation.augment(PHOTO, spec, 4, seed=3), augmentation.augment(PHOTO, spec, 4, seed=3)
    assert all(np.array_equal(x, y) for x, y in zip(a.images, b.images))
    c = augmentation.augment(PHOTO, spec, 4, seed=4)
    assert any(not np.array_equal(x, y) for x, y in zip(a.images, c.images))
    assert not np.array_equal(a.images[0], a.images[1])  # copies differ from each other


@pytest.mark.parametrize("spec, message", [
    ([{"layer": "RandomCrop", "params": {"height": 300, "width": 100}}], "crops 300×100 from a 240×300 image"),
    ([{"layer": "Resizing", "params": {"height": 0, "width": 10}}], "at least 1"),
    ([{"layer": "Resizing", "params": {"height": 64, "width": 64}},
      {"layer": "CenterCrop", "params": {"height": 80, "width": 80}}], "step 2 (CenterCrop) crops 80×80 from a 64×64"),
    ([{"layer": "RandomRotation", "params": {"factor": 3.0}}], "factor must be from 0 to 1"),
    ([{"layer": "RandomFlip", "params": {"mode": "diagonal"}}], "mode must be one of"),
    ([{"layer": "Dropout", "params": {}}], "not one of"),
    # strict types: text, true/false or a fraction of a pixel is never read as a number
    ([{"layer": "RandomRotation", "params": {"factor": "0.1"}}], "step 1 (RandomRotation) factor must be from 0 to 1; "
                                                                 "got '0.1'"),
    ([{"layer": "RandomContrast", "params": {"factor": True}}], "factor must be from 0 to 1; got True"),
    ([{"layer": "RandomCrop", "params": {"height": 10.5, "width": 10}}], "height must be a whole number of pixels"),
    ([{"layer": "RandomFlip", "params": {"mode": "horizontal", "seed": 3}}], "(RandomFlip) has no parameter 'seed'"),
])
def test_bad_pipelines_are_refused_with_the_step(spec, message):
    with pytest.raises(augment.AugmentError, match=re.escape(message)) as err:
        augmentation.augment(PHOTO, spec, 2)
    assert str(err.value).startswith("augmentation: ") and "\n" not in str(err.value)


def test_generated_code_builds_the_same_pipeline():
    spec = augment.PRESETS["dog"] + [augment.default_step("RandomContrast", 150, 200)]
    namespace: dict = {}
    exec(augment.code(spec, seed=5), namespace)
    theirs = namespace["augmentation"]
    ours = augmentation.build(spec, 240, 300, seed=5)
    strip = lambda c: {k: v for k, v in c.items() if k not in ("name", "dtype")}  # noqa: E731
    assert ([strip(layer.get_config()) for layer in theirs.layers]
            == [strip(layer.get_config()) for layer in ours.layers])
    out_theirs = np.asarray(theirs(PHOTO[None].astype("float32"), training=True))
    out_ours = np.asarray(ours(PHOTO[None].astype("float32"), training=True))
    np.testing.assert_allclose(out_theirs, out_ours, atol=1e-5)


def test_colour_layers_get_the_value_range_of_their_position():
    spec = [augment.default_step("RandomBrightness", 10, 10), {"layer": "Rescaling", "params": {"scale": 1 / 255}},
            augment.default_step("RandomBrightness", 10, 10)]
    first, _, last = augmentation.build(spec, 10, 10).layers
    assert tuple(first.get_config()["value_range"]) == (0.0, 255.0)
    assert tuple(last.get_config()["value_range"]) == (0.0, 1.0)


def test_grid_png_is_a_real_png():
    png = grid_png(augmentation.augment(PHOTO, augment.PRESETS["dog"], 5).images, columns=3)
    with Image.open(io.BytesIO(png)) as img:
        assert img.format == "PNG" and img.size == (3 * 204 + 4, 2 * 154 + 4)


def test_uploads_are_checked_and_exif_rotation_is_honoured():
    buffer = io.BytesIO()
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display"
    Image.new("RGB", (40, 20), (255, 0, 0)).save(buffer, "JPEG", exif=exif)
    assert images.decode(buffer.getvalue()).shape == (40, 20, 3)  # portrait once rotated
    with pytest.raises(images.ImageError, match="not a readable image"):
        images.decode(b"GIF89a but not really")
    bomb = io.BytesIO()
    Image.new("1", (9000, 9000)).save(bomb, "PNG")  # 81 megapixels in a few KB
    with pytest.raises(images.ImageError, match="megapixel limit"):
        images.decode(bomb.getvalue())


def test_the_shipped_dog_and_cat_come_first_then_the_users_folder(lab, monkeypatch, tmp_path):
    from core.settings import load_settings

    assert list(images.sample_photos(load_settings())) == ["dog", "cat"]  # no setting needed
    assert images.load_photo(images.sample_photos(load_settings())["dog"]).shape == (480, 640, 3)
    folder = tmp_path / "photos"
    folder.mkdir()
    Image.new("RGB", (8, 8)).save(folder / "dog.jpg")
    Image.new("RGB", (8, 8)).save(folder / "horse.png")
    (folder / "notes.txt").write_text("not a photo")
    monkeypatch.setenv("TRAINLAB_SAMPLES_DIR", str(folder))
    photos = images.sample_photos(load_settings())
    assert list(photos) == ["dog", "cat", "dog (my photos)", "horse"]
    assert photos["dog"].parent == images.ASSETS_DIR and photos["dog (my photos)"].parent == folder


@pytest.mark.parametrize("layer", [name for name in augment.LAYERS if name.startswith("Random")])
def test_every_random_layer_gives_copies_that_differ(layer):
    # Keras draws RandomCrop's offset and RandomGaussianBlur's strength once per batch: copies
    # passed as one batch came out pixel-identical.
    photo = images.load_photo(images.ASSETS_DIR / "dog.jpg")
    step = augment.default_step(layer, *photo.shape[:2])
    copies = augmentation.augment(photo, [step], 8, seed=0).images
    assert len({c.tobytes() for c in copies}) > 1
    again = augmentation.augment(photo, [step], 8, seed=0).images
    assert all(np.array_equal(a, b) for a, b in zip(copies, again))  # reproducible from the seed


def test_the_dog_preset_crops_every_copy_somewhere_else():
    photo = images.load_photo(images.ASSETS_DIR / "dog.jpg")
    copies = augmentation.augment(photo, augment.preset("dog"), 8, seed=0).images
    assert len({c.tobytes() for c in copies}) == 8


def test_pipeline_in_a_config_is_validated_against_the_dataset(lab):
    crop = [{"layer": "RandomCrop", "params": {"height": 12, "width": 12}}]
    with pytest.raises(ConfigError, match="augmentation: step 1 .RandomCrop. crops 12×12 from a 8×8 image"):
        validate(TrainConfig(augmentation=crop), lab)
    validate(TrainConfig(augmentation=[{"layer": "RandomCrop", "params": {"height": 6, "width": 6}}]), lab)


def test_a_run_with_augmentation_trains_and_evaluates(lab, store):
    spec = [{"layer": "RandomFlip", "params": {"mode": "horizontal"}},
            {"layer": "RandomCrop", "params": {"height": 6, "width": 6}},
            {"layer": "Rescaling", "params": {"scale": 1 / 255}}]  # dropped for training: batches are [0, 1]
    config = TrainConfig(train_subset=300, epochs=2, batch_size=16, augmentation=spec)
    run_id = store.create_run(config.display_name(), config.to_dict(), epochs=2)
    assert execute_run(run_id, lab) == SUCCEEDED, store.get(run_id).error
    run = store.get(run_id)
    assert run.param_count == 36 * 1024 + 1024 + 1024 * 256 + 256 + 256 * 10 + 10  # MLP on 6x6 crops
    assert run.test_accuracy > 0.3


def test_random_crop_inside_a_model_centre_crops_at_evaluation():
    spec = augment.training_layers([{"layer": "RandomCrop", "params": {"height": 2, "width": 2}}])
    pipeline = augmentation.build(spec, 4, 4, input_range=(0.0, 1.0))
    image = np.arange(16, dtype="float32").reshape(1, 4, 4, 1)
    centre = np.asarray(pipeline(image, training=False))[0, ..., 0]
    assert centre.tolist() == [[5.0, 6.0], [9.0, 10.0]]
    assert np.asarray(pipeline(image, training=True)).shape == (1, 2, 2, 1)


def test_an_empty_pipeline_passes_images_through():
    samples = augmentation.augment(PHOTO, [], 2)
    assert samples.output_shape == PHOTO.shape and np.array_equal(samples.images[0], PHOTO)
    only_rescaling = augment.training_layers([{"layer": "Rescaling", "params": {"scale": 1 / 255}}])
    assert augmentation.build(only_rescaling, 4, 4).layers[0].__class__.__name__ == "Identity"
