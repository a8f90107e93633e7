"""TrainConfig validation: every bad value is refused with the field, the range and the value."""
import pytest

from core.domain.config import ConfigError, TrainConfig, validate

BAD = [
    (dict(learning_rate=0.0), "learning_rate", "greater than 0"),
    (dict(learning_rate=-1e-3), "learning_rate", "got -0.001"),
    (dict(learning_rate=50.0), "learning_rate", "at most 10"),
    (dict(epochs=0), "epochs", "from 1 to 200"),
    (dict(epochs=201), "epochs", "TRAINLAB_MAX_EPOCHS"),
    (dict(batch_size=0), "batch_size", "from 1 to 1150"),
    (dict(batch_size=5000), "batch_size", "left after the validation split"),
    (dict(train_subset=2000), "train_subset", "1437 training images"),
    (dict(train_subset=0), "train_subset", "from 1 to 1437"),
    (dict(validation_split=0.9), "validation_split", "from 0 to 0.5"),
    (dict(dataset="imagenet"), "dataset", "unknown dataset"),
    (dict(dataset="fashion_mnist"), "dataset", "apt-get install dataset-fashion-mnist"),
    (dict(architecture="gpt"), "architecture", "choose one of mlp"),
    (dict(optimizer="lionheart"), "optimizer", "choose one of sgd"),
    (dict(lr_schedule="exponential"), "lr_schedule", "must be one of constant, cosine"),
    (dict(momentum=0.9), "momentum", "SGD only"),
    (dict(optimizer="sgd", momentum=1.5), "momentum", "up to"),
    (dict(optimizer="sgd", nesterov=True), "nesterov", "momentum above 0"),
    (dict(seed=-1), "seed", "from 0"),
    (dict(name="x" * 500), "name", "at most 120"),
]


@pytest.mark.parametrize("changes, field, text", BAD)
def test_bad_values_are_refused_with_a_message(lab, changes, field, text):
    with pytest.raises(ConfigError) as err:
        validate(TrainConfig(**changes), lab)
    assert err.value.field == field
    assert str(err.value).startswith(f"{field}: ") and text in str(err.value)
    assert "\n" not in str(err.value)


def test_good_configs_pass_and_return_the_dataset(lab):
    info = validate(TrainConfig(), lab)
    assert info.key == "digits" and info.input_shape == (8, 8, 1)
    validate(TrainConfig(optimizer="sgd", momentum=0.9, nesterov=True, learning_rate=0.01,
                         train_subset=100, validation_split=0.0, batch_size=100), lab)


def test_round_trip_through_json_ignores_unknown_keys():
    config = TrainConfig(optimizer="sgd", momentum=0.9, nesterov=True, name="<b>x</b>")
    data = config.to_dict() | {"from_a_newer_version": 1}
    assert TrainConfig.from_dict(data) == config


def test_display_name_is_generated_when_empty():
    assert TrainConfig(name="  mine ").display_name() == "mine"
    assert TrainConfig().display_name() == "mlp · digits · adam lr=0.001"
