"""Each architecture's options are one strict pydantic model: its types, ranges and defaults, and a
one-line error naming the option, the rule and the value."""
import pytest

from core.domain.architectures import ARCHITECTURES, ArchitectureError, NoOptions, check_options


@pytest.mark.parametrize("key, options, message", [
    ("custom_mlp", {"batch_norm": "yes"}, "option batch_norm must be true or false; got 'yes'"),
    ("custom_mlp", {"hidden_units": ["64"]}, "option hidden_units must list 1 to 10 layer widths, each 1..8192; "
                                             "got ['64']"),
    ("custom_mlp", {"hidden_units": [True]}, "option hidden_units must list"),
    ("custom_mlp", {"hidden_units": [0]}, "option hidden_units must list"),
    ("custom_mlp", {"dropout": 1}, "option dropout must be from 0 up to (not including) 1; got 1"),
    ("custom_mlp", {"dropout": "0.2"}, "option dropout must be from 0"),
    ("custom_mlp", {"activation": "relu6"}, "option activation must be one of relu, elu, gelu"),
    ("custom_cnn", {"blocks": [[32, 2, 1]]}, "option blocks must list 1 to 8 blocks of [filters 1..1024, convs 1..6, "
                                             "pool true/false]; got [[32, 2, 1]]"),
    ("custom_cnn", {"blocks": [[32, 2]]}, "option blocks must list"),
    ("custom_cnn", {"dense_units": 12.0}, "option dense_units must be 0 (none) to 8192; got 12.0"),
    ("custom_cnn", {"head": "pool"}, "option head must be 'gap' or 'flatten'; got 'pool'"),
    ("small_resnet", {"blocks": [[32, 2, True]]}, "option blocks must be a number of residual blocks from 1 to 20"),
    ("small_resnet", {"num_kernels": "32"}, "option num_kernels must be 1..512; got '32'"),
    ("small_resnet", {"kernel_size": 3.0}, "option kernel_size must be 1, 3, 5 or 7; got 3.0"),
    ("resnet50_transfer", {"weights": "none"}, "option weights must be 'imagenet' or 'random'; got 'none'"),
    ("custom_mlp", {"dropout": 5, "depth": 3, "act": "relu"}, "custom_mlp has no option 'act'; its options are "
                                                              "hidden_units, activation, dropout, batch_norm"),
    ("vgg16", {"dropout": 0.1}, "vgg16 has no option 'dropout'; its options are none"),
])
def test_a_bad_option_is_one_line_naming_it(key, options, message):
    with pytest.raises(ArchitectureError) as err:
        check_options(key, options)
    assert str(err.value).startswith(f"architecture: {message}") and "\n" not in str(err.value)


def test_good_options_come_back_as_given_with_the_defaults_filled_in():
    assert check_options("custom_mlp", {"hidden_units": (64, 32), "dropout": 0}) == {
        "hidden_units": (64, 32), "activation": "relu", "dropout": 0, "batch_norm": False}
    assert check_options("custom_cnn", {"blocks": [(8, 1, True)], "batch_norm": True})["blocks"] == [(8, 1, True)]
    assert check_options("small_resnet", {}) == {"num_kernels": 32, "kernel_size": 3, "blocks": 3}
    assert check_options("mlp", {}) == {}


def test_the_defaults_are_the_schemas_and_each_preset_without_one_has_none():
    for arch in ARCHITECTURES.values():
        assert arch.options == arch.schema.defaults()
        check_options(arch.key, {})  # every default passes its own schema
    assert {k for k, a in ARCHITECTURES.items() if a.schema is not NoOptions} == {
        "small_resnet", "resnet50_transfer", "custom_mlp", "custom_cnn"}
    defaults = ARCHITECTURES["custom_mlp"].options
    defaults["hidden_units"].append(7)  # a caller's copy: the registry's defaults stay as they are
    assert ARCHITECTURES["custom_mlp"].options["hidden_units"] == [512, 256]
