"""The Train page's form model: what Start queues, and a clone that comes back unchanged."""
import pytest

from core.domain.augment import preset
from core.domain.config import TrainConfig
from core.domain.train_form import TrainForm

CUSTOM = [{"layer": "RandomFlip", "params": {"mode": "horizontal"}}]


@pytest.mark.parametrize("config", [
    TrainConfig(),
    TrainConfig(dataset="folder:pets", optimizer="sgd", momentum=0.8, nesterov=True, learning_rate=0.01,
                image_size=96, augmentation=preset("dog"), train_subset=500, test_subset=100, name="dogs", notes="n"),
    TrainConfig(architecture="custom_mlp", arch_options={"hidden_units": [64, 32], "dropout": 0.2},
                augmentation=preset("cat"), lr_schedule="cosine", labels="one_hot", split_mode="keras"),
    TrainConfig(optimizer="sgd", momentum=0.0, nesterov=False, augmentation=CUSTOM, seed=7, epochs=3),
])
def test_a_cloned_run_queues_exactly_its_settings_again(config):
    form = TrainForm.from_config(config.to_dict(), config.name)
    assert form.to_config(resizable=config.dataset.startswith("folder:")) == config


def test_the_form_names_presets_and_keeps_a_custom_pipeline():
    assert TrainForm.from_config(TrainConfig(augmentation=preset("cat")).to_dict(), "").augmentation == "cat"
    custom = TrainForm.from_config(TrainConfig(augmentation=CUSTOM).to_dict(), "")
    assert (custom.augmentation, custom.train_augmentation) == ("augment_page", CUSTOM)


def test_what_start_queues_from_the_fields():
    form = TrainForm(optimizer="adam", momentum=0.9, nesterov=True, train_subset=0, test_subset=250,
                     image_size=128, augmentation="dog", train_augmentation=CUSTOM)
    config = form.to_config(resizable=False)
    assert (config.momentum, config.nesterov) == (0.0, False)  # SGD-only settings do not leak into Adam runs
    assert (config.train_subset, config.test_subset) == (None, 250)  # 0 means all
    assert config.image_size == TrainConfig().image_size  # only image folders are resized
    assert config.augmentation == preset("dog")


def test_numbers_go_as_typed_for_validation_to_refuse():
    assert TrainForm(train_subset=-5).to_config().train_subset == -5
    assert TrainForm(epochs=2.5).to_config().epochs == 2.5
