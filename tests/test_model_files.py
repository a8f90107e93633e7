"""A student's own Keras model file, checked before anything of it is deserialised (issue 31, first step): model
files made here by Keras itself, and hostile ones made by editing their config.json, each refused in one line
naming the layer and why, with no code of theirs run (a marker file an exploit would write never appears)."""
import json
import zipfile

import pytest

from core.errors import Refusal
from core.services.model_files import check_model_file

pytestmark = pytest.mark.xdist_group("model_file_checks")  # one process builds the saved files, once

MARKER = "trainlab-exploit-marker"


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A Sequential and a functional CNN with a residual Add, saved by Keras: the files a student hands in."""
    import keras

    folder = tmp_path_factory.mktemp("models")
    # Every layer named: Keras' own names count up through the test process ("input_layer_57").
    sequential = keras.Sequential([keras.Input((28, 28, 1), name="pixels"),
                                   keras.layers.Conv2D(8, 3, activation="relu", name="conv"),
                                   keras.layers.MaxPooling2D(name="pool"), keras.layers.Flatten(name="flatten"),
                                   keras.layers.Dropout(0.2, name="dropout"),
                                   keras.layers.Dense(10, activation="softmax", name="dense")], name="my_cnn")
    sequential.save(folder / "sequential.keras")
    inputs = keras.Input((8, 8, 1))
    x = keras.layers.Conv2D(4, 3, padding="same", activation="relu",
                            kernel_regularizer=keras.regularizers.L2(1e-4))(inputs)
    y = keras.layers.BatchNormalization()(keras.layers.Conv2D(4, 3, padding="same")(x))
    x = keras.layers.Activation("relu")(keras.layers.Add()([x, y]))
    outputs = keras.layers.Dense(10, activation="softmax")(keras.layers.GlobalAveragePooling2D()(x))
    functional = keras.Model(inputs, outputs, name="residual")
    functional.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    functional.save(folder / "functional.keras")
    return folder


def _edited(source, target, change) -> None:
    """A copy of model file `source` whose config.json `change` rewrote (what a hostile student would send)."""
    with zipfile.ZipFile(source) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    config = json.loads(members["config.json"])
    change(config)
    members["config.json"] = json.dumps(config).encode()
    with zipfile.ZipFile(target, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)


def _layer(module, name, config, **extra):
    return {"module": module, "class_name": name, "config": {"name": "evil", **config}, "registered_name": None,
            **extra}


def test_a_sequential_and_a_functional_residual_cnn_are_accepted(saved):
    sequential = check_model_file(saved / "sequential.keras")
    assert sequential.layers == 6 and sequential.config["class_name"] == "Sequential" and sequential.weights_bytes
    functional = check_model_file(saved / "functional.keras")
    assert functional.config["class_name"] == "Functional"
    assert "Add" in [layer["class_name"] for layer in functional.config["config"]["layers"]]


def _insert(layer):
    return lambda config: config["config"]["layers"].insert(1, layer)


@pytest.mark.parametrize(("change", "said"), [
    (_insert(_layer("keras.layers", "Lambda", {"function": {"module": "builtins", "class_name": "function",
                                                            "config": "exec"}})),
     "layer 'evil': Lambda layers run Python code; build it from built-in layers"),
    (_insert(_layer("mypackage.layers", "Backdoor", {}, registered_name="mypackage>Backdoor")),
     "layer 'evil': mypackage.layers.Backdoor is not a built-in layer Train Lab loads"),
    (_insert(_layer("keras.utils", "get_file", {"origin": "http://evil.example/x", "fname": "x"})),
     "layer 'evil': keras.utils.get_file is not a built-in layer Train Lab loads"),
    (_insert(_layer("keras.layers", "TFSMLayer", {"filepath": "/tmp/saved_model"})),
     "layer 'evil': TFSMLayer loads a SavedModel from outside the file"),
    (_insert(_layer("keras.layers", "StringLookup", {"vocabulary": "/etc/passwd"})),
     "layer 'evil': keras.layers.StringLookup is not a built-in layer Train Lab loads (no custom or lookup layers)"),
    (_insert(_layer("keras.layers", "Dense", {"units": 10_000_000_000})),
     "layer 'evil': units = 1e+10 is past 1,048,576"),
    (_insert(_layer("keras.layers", "Dense", {"units": 8, "kernel_initializer": {
        "module": "keras.initializers", "class_name": "GlorotUniform", "config": {}, "registered_name": "x>y"}})),
     "layer 'evil': 'x>y' is a custom object, registered by its own code"),
    (_insert(_layer("keras.layers", "Dense", {"units": 8, "activation": "os.system"})),
     "layer 'evil': activation 'os.system' is not a built-in one"),
    (_insert(_layer("keras.layers", "Dense", {"units": 8, "kernel_initializer": {
        "module": "builtins", "class_name": "eval", "config": {}, "registered_name": None}})),
     "layer 'evil': builtins.eval is not a built-in initializer, regularizer or constraint Train Lab loads"),
    (_insert(_layer("keras.layers", "Dense", {"units": 8, "name": "../../home/x"})),
     "layer '../../home/x': its name '../../home/x' looks like a path or an address"),
    (lambda config: config["config"]["layers"][0]["config"].update(batch_shape=[None, 100_000, 100_000, 3]),
     "layer 'pixels': an input of 30,000,000,000 values per sample, more than 50,000,000"),
    (lambda config: config.update(class_name="Backdoor", module="evil"),
     "model: not a Keras Sequential or functional model (its config.json names 'Backdoor')"),
])
def test_a_model_file_with_anything_but_built_in_parts_is_refused_in_one_line(saved, tmp_path, change, said):
    hostile = tmp_path / "hostile.keras"
    _edited(saved / "sequential.keras", hostile, change)
    with pytest.raises(Refusal) as refused:
        check_model_file(hostile)
    assert str(refused.value).startswith(said) and "\n" not in str(refused.value), str(refused.value)
    assert not list(tmp_path.glob(f"*{MARKER}*"))


def test_an_archive_that_is_not_a_plain_keras_file_is_refused_before_its_config_is_read(saved, tmp_path):
    cases = {}
    escape = tmp_path / "escape.keras"
    with zipfile.ZipFile(saved / "sequential.keras") as source, zipfile.ZipFile(escape, "w") as archive:
        for name in source.namelist():
            archive.writestr(name, source.read(name))
        archive.writestr(f"../../{MARKER}", b"written outside")
    cases[escape] = "file: a member named '../../trainlab-exploit-marker' points outside the archive"
    bomb = tmp_path / "bomb.keras"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("config.json", b" " * (200 * 1024 * 1024))  # 200 MB of spaces, a few hundred KB packed
    cases[bomb] = "file: config.json unpacks to 209,715,200 bytes from"
    assets = tmp_path / "assets.keras"
    with zipfile.ZipFile(saved / "sequential.keras") as source, zipfile.ZipFile(assets, "w") as archive:
        for name in source.namelist():
            archive.writestr(name, source.read(name))
        archive.writestr("assets/vocabulary.txt", b"a\nb\n")
    cases[assets] = "file: holds 'assets/vocabulary.txt', which a model of built-in layers does not have"
    renamed = tmp_path / "renamed.keras"
    renamed.write_text("import os; os.system('touch trainlab-exploit-marker')\n")
    cases[renamed] = "file: not a .keras file (a .keras file is a zip archive)"
    h5 = tmp_path / "model.h5"
    h5.write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 1024)
    cases[h5] = "file: an HDF5 (.h5) model, whose loading ignores Keras' safe mode"
    # Content no check would read, kept and handed out: a second config.json in front of the checked one (only the
    # last of a name is read), and a page in front of the archive (zipfile reads past it).
    hidden = tmp_path / "hidden.keras"
    with zipfile.ZipFile(saved / "sequential.keras") as source, zipfile.ZipFile(hidden, "w") as archive:
        archive.writestr("config.json", b'{"class_name": "Lambda"}')
        for name in source.namelist():
            archive.writestr(name, source.read(name))
    cases[hidden] = "file: holds 'config.json' more than once"
    prefixed = tmp_path / "prefixed.keras"
    prefixed.write_bytes(b"<html><script>alert(1)</script></html>" + (saved / "sequential.keras").read_bytes())
    cases[prefixed] = "file: has data in front of its zip archive"
    for path, said in cases.items():
        with pytest.raises(Refusal) as refused:
            check_model_file(path)
        assert str(refused.value).startswith(said) and "\n" not in str(refused.value), (path.name, refused.value)
    assert not list(tmp_path.parent.glob(f"**/{MARKER}"))


def test_a_checked_file_is_loaded_in_a_process_of_its_own_and_counted_exactly(saved, lab):
    import keras

    from core.services.model_files import inspect_model_file

    for name in ("sequential.keras", "functional.keras"):
        loaded = inspect_model_file(saved / name, lab)
        original = keras.saving.load_model(saved / name, compile=False)
        assert loaded.params == original.count_params() and loaded.classes == 10
        assert [layer["name"] for layer in loaded.layers] == [layer.name for layer in original.layers]
    assert inspect_model_file(saved / "sequential.keras", lab).input_shape == [28, 28, 1]


def test_weights_that_do_not_fit_the_config_or_declare_huge_arrays_are_refused(saved, lab, tmp_path):
    import h5py

    from core.services.model_files import inspect_model_file

    wrong = tmp_path / "wrong.keras"
    _edited(saved / "sequential.keras", wrong,
            lambda config: config["config"]["layers"][-1]["config"].update(units=12))  # weights are for 10
    with pytest.raises(Refusal, match=r"^model: Keras could not load it \("):
        inspect_model_file(wrong, lab)
    bomb_weights = tmp_path / "bomb.h5"
    with h5py.File(bomb_weights, "w") as weights:  # declares 2^40 values, stores none (a few KB on disk)
        weights.create_dataset("layers/dense/vars/0", shape=(2**20, 2**20), dtype="f4", chunks=(64, 64))
    bomb = tmp_path / "bomb.keras"
    with zipfile.ZipFile(saved / "sequential.keras") as source, zipfile.ZipFile(bomb, "w") as archive:
        archive.writestr("config.json", source.read("config.json"))
        archive.writestr("metadata.json", source.read("metadata.json"))
        archive.write(bomb_weights, "model.weights.h5")
    with pytest.raises(Refusal, match=r"^model: Keras could not load it \(ValueError: weights: layers/dense/vars/0 "
                                      r"declares 1,099,511,627,776 values"):
        inspect_model_file(bomb, lab)


def test_the_models_check_command_describes_an_accepted_file_and_refuses_a_hostile_one_in_one_line(saved, lab,
                                                                                                   tmp_path, capsys):
    from core.cli.main import main

    assert main(["models", "check", str(saved / "sequential.keras")]) == 0
    out = capsys.readouterr().out.splitlines()
    # 3×3×1×8 + 8 = 80 for the conv, 13×13×8 × 10 + 10 = 13,530 for the dense layer
    assert out[0] == "sequential.keras: accepted · model my_cnn · 13,610 parameters · input 28×28×1 · 10 classes"
    assert [line.split()[0] for line in out[1:]] == ["conv", "pool", "flatten", "dropout", "dense"]
    hostile = tmp_path / "lambda.keras"
    _edited(saved / "sequential.keras", hostile, _insert(_layer("keras.layers", "Lambda", {"function": "exec"})))
    assert main(["models", "check", str(hostile)]) == 2
    err = capsys.readouterr().err
    assert err == "error: layer 'evil': Lambda layers run Python code; build it from built-in layers\n"
    assert main(["models", "check", str(tmp_path / "nowhere.keras")]) == 2
    assert capsys.readouterr().err.startswith("error: file: ")


def test_a_model_file_is_added_under_a_name_and_a_refused_one_stores_nothing(saved, lab, tmp_path, capsys):
    from core.cli.main import main
    from core.services import model_files

    assert main(["models", "add", str(saved / "functional.keras"), "--name", "my residual"]) == 0
    assert capsys.readouterr().out.startswith("added as #1 operator / my residual: ")
    (row,) = model_files.listed(lab)
    assert (row.name, row.classes, row.input_shape) == ("my residual", 10, [8, 8, 1])
    with zipfile.ZipFile(lab.models_dir / "1.keras") as kept, zipfile.ZipFile(saved / "functional.keras") as sent:
        assert sorted(kept.namelist()) == sorted(sent.namelist())  # the checked members, each as sent
        assert all(kept.read(name) == sent.read(name) for name in sent.namelist())
    assert main(["models", "add", str(saved / "sequential.keras"), "--name", "my residual"]) == 2
    assert capsys.readouterr().err == "error: name: you already have a model named 'my residual'; pick another name\n"
    hostile = tmp_path / "lambda.keras"
    _edited(saved / "sequential.keras", hostile, _insert(_layer("keras.layers", "Lambda", {"function": "exec"})))
    for args in (["models", "add", str(hostile), "--name", "evil"], ["models", "add", str(saved / "x.keras"),
                                                                      "--name", "a"],
                 ["models", "add", str(saved / "sequential.keras"), "--name", "../up"]):
        assert main(args) == 2
        assert len(capsys.readouterr().err.splitlines()) == 1
    assert [r.name for r in model_files.listed(lab)] == ["my residual"]
    assert sorted(p.name for p in lab.models_dir.iterdir()) == ["1.keras"]
    assert main(["models", "list"]) == 0
    assert capsys.readouterr().out.startswith("#1 operator / my residual · ")


def _functional(index, change):
    """An edit of the functional model's `index`-th layer (its own config dict)."""
    return lambda config: change(config["config"]["layers"][index])


LOOKUP = {"module": "keras.layers", "class_name": "StringLookup", "config": {"vocabulary": "x"},
          "registered_name": None}


@pytest.mark.parametrize(("change", "said"), [
    (_functional(2, lambda layer: layer["inbound_nodes"][0]["kwargs"].update(foo=LOOKUP)),
     r"^layer '[a-z0-9_]+': its inputs hold keras.layers.StringLookup; a layer's inputs are tensors and plain values"),
    (lambda config: config["config"].update(dtype=LOOKUP),
     r"^model: keras.layers.StringLookup is not a built-in initializer, regularizer or constraint"),
    (lambda config: config["config"].update(evil=1),
     r"^model: its config has 'evil', which a Keras model file does not; save it again with model.save$"),
    (_functional(2, lambda layer: layer.update(build_config={"input_shape": {
        "module": "keras.utils", "class_name": "get_file", "config": {}, "registered_name": None}})),
     r"^layer '[a-z0-9_]+': keras.utils.get_file is not a built-in initializer"),
    (_functional(1, lambda layer: layer["config"].update(compile_config={
        "module": "keras.layers", "class_name": "Lambda", "config": {}, "registered_name": None})),
     r"^layer '[a-z0-9_]+': a layer nested in a layer's settings \(Lambda\)"),
    (_functional(2, lambda layer: layer.update(config=["not", "a", "dict"])),
     r"^model: a layer that is not a Keras layer's config$"),
    (_functional(3, lambda layer: layer.update(evil={})),
     r"^layer '[a-z0-9_]+': its config has 'evil'"),
    (lambda config: config.update(config=["layers"]), r"^model: its config holds no model settings$"),
])
def test_every_part_of_a_functional_models_config_is_walked(saved, tmp_path, change, said):
    hostile = tmp_path / "hostile.keras"
    _edited(saved / "functional.keras", hostile, change)
    with pytest.raises(Refusal, match=said):
        check_model_file(hostile)


def test_a_damaged_archive_and_a_model_asking_for_gigabytes_are_refused_in_one_line(saved, lab, tmp_path,
                                                                                     monkeypatch):
    from core.services.model_files import inspect_model_file
    from core.settings import load_settings

    data = bytearray((saved / "sequential.keras").read_bytes())
    weights = data.index(b"\x89HDF")  # stored uncompressed by Keras: one byte of the weights changed
    data[weights + 200] ^= 0xFF
    damaged = tmp_path / "damaged.keras"
    damaged.write_bytes(bytes(data))
    with pytest.raises(Refusal, match=r"^file: a damaged or unusual zip archive \(BadZipFile\); save it again"):
        check_model_file(damaged)
    big = tmp_path / "big.keras"  # 1 KB asking for a Dense layer of a billion weights, and no weights to load
    with zipfile.ZipFile(saved / "sequential.keras") as source, zipfile.ZipFile(big, "w") as archive:
        config = json.loads(source.read("config.json"))
        config["config"]["layers"] = [
            {"module": "keras.layers", "class_name": "InputLayer", "registered_name": None,
             "config": {"batch_shape": [None, 1024], "dtype": "float32", "name": "pixels"}},
            {"module": "keras.layers", "class_name": "Dense", "registered_name": None,
             "config": {"units": 1_048_576, "name": "huge"}}]
        archive.writestr("config.json", json.dumps(config))
        archive.writestr("metadata.json", source.read("metadata.json"))
    monkeypatch.setenv("TRAINLAB_MAX_PARAMS", "1000000")  # the loader's memory: 2 GB and 12 bytes a parameter
    with pytest.raises(Refusal) as refused:
        inspect_model_file(big, load_settings())
    assert str(refused.value).startswith("model: ") and "\n" not in str(refused.value), refused.value
