"""The Augment page under AppTest: presets, editing, errors that keep the page alive, training hand-off."""

from tests.test_pages import _page


def _shape_caption(at) -> str:
    return next(c.value for c in at.caption if c.value.startswith("Output shape"))


def _sample_count(at) -> int:
    return len(at.get("image")[1].proto.imgs)


def test_opens_on_the_dog_preset_with_samples_and_code(lab):
    at = _page("pages/augment.py").run()
    assert not at.exception
    assert at.selectbox(key="aug_photo").value == "dog"  # the shipped photo, no setting
    assert _shape_caption(at).startswith("Output shape (150, 200, 3)")
    assert _sample_count(at) == 8
    assert any("layers.RandomCrop(height=150, width=200" in c.value for c in at.code)


def test_cat_preset_new_samples_and_sample_count(lab):
    at = _page("pages/augment.py").run()
    at.selectbox(key="aug_photo").set_value("cat")
    at.button(key="aug_preset_cat").click().run()
    assert _shape_caption(at).startswith("Output shape (224, 224, 3)")
    at.slider(key="aug_count").set_value(3).run()
    assert _sample_count(at) == 3
    at.button(key="aug_new_samples").click().run()
    assert at.number_input(key="aug_seed").value == 1
    assert any("seed=3" in c.value for c in at.code)  # RandomFlip is step 3: seed 1 + 2


def test_a_crop_larger_than_the_image_is_one_line_and_the_editor_stays(lab):
    at = _page("pages/augment.py").run()
    crop = [n for n in at.number_input if n.key.endswith("_height") and n.value == 150][0]
    crop.set_value(300).run()
    assert not at.exception
    assert at.error[0].value == ("augmentation: step 3 (RandomCrop) crops 300×200 from a 224×224 image; "
                                 "make the crop at most 224×224, or resize to a larger size first")
    assert at.button(key="aug_add")  # the editor is still there to fix it
    from core.domain.augment import PRESETS

    assert PRESETS["dog"][2]["params"] == {"height": 150, "width": 200}  # one user's edit changes no preset


def test_add_and_remove_layers(lab):
    at = _page("pages/augment.py").run()
    at.button(key="aug_clear").click().run()
    at.selectbox(key="aug_new_layer").set_value("RandomGrayscale")
    at.button(key="aug_add").click().run()
    assert _shape_caption(at).startswith("Output shape (480, 640, 3)")  # the photo's own size
    assert any("layers.RandomGrayscale(factor=0.5" in c.value for c in at.code)
    remove = [b for b in at.button if b.key.startswith("aug_remove_")][0]
    remove.click().run()
    assert not [b for b in at.button if b.key.startswith("aug_remove_")]


def test_a_non_image_upload_gets_one_line(lab):
    at = _page("pages/augment.py").run()
    at.radio(key="aug_source").set_value("upload").run()
    at.file_uploader(key="aug_upload").upload("notes.png", b"this is not a picture").run()
    assert not at.exception and at.error[0].value == "notes.png: not a readable image (JPEG, PNG, BMP, GIF or WebP)"


def test_an_image_from_a_dataset(lab):
    at = _page("pages/augment.py").run()
    at.radio(key="aug_source").set_value("dataset").run()
    at.button(key="aug_clear").click().run()
    assert _shape_caption(at).startswith("Output shape (8, 8, 3)")  # a digit, shown in RGB


def test_use_for_training_hands_the_pipeline_to_the_train_page(lab, store):
    at = _page("pages/augment.py").run()
    at.button(key="aug_clear").click().run()
    at.selectbox(key="aug_new_layer").set_value("RandomFlip")
    at.button(key="aug_add").click().run()
    at.button(key="aug_use").click().run()
    at.switch_page("pages/train.py").run()
    assert at.selectbox(key="augmentation").value == "augment_page"  # chosen for the user
    at.button(key="start").click().run()
    assert not at.error
    assert store.list_runs()[0].config_dict["augmentation"] == [
        {"layer": "RandomFlip", "params": {"mode": "horizontal_and_vertical"}}]
