"""Loading a student's checked `.keras` file, in a process of its own (issue 31): `python -m
core.training.model_loading FILE MAX_PARAMS` prints one JSON line, the model's description or why it was refused
(with `IMAGE.npy OUT.npz LIMIT` after them: its feature maps for that image, written to OUT.npz).
The file has passed the allowlist (core/services/model_files.py) before this runs; here its weights are checked
first as HDF5 (every array's declared size bounded, before Keras reads one: an HDF5 "shape bomb" asks for
terabytes), then a clean copy of the archive (config without its compile settings, metadata, weights) is loaded
with Keras' safe_mode and compile=False, the parameter count bounded, and every layer described. Whatever
happens, this process ends: nothing of the file stays in a long-lived one, never in the Streamlit process."""
from __future__ import annotations

import json
import sys
import tempfile
import zipfile
from pathlib import Path

MAX_ARRAY_VALUES = 1 << 31  # one weight array: 8 GB of float32 is past any course model


def _check_weights(archive: zipfile.ZipFile, folder: Path, max_params: int) -> Path:
    """The weights file, unpacked, once every array it declares is within bounds (read as HDF5, not as Keras)."""
    import h5py

    path = folder / "model.weights.h5"
    path.write_bytes(archive.read("model.weights.h5"))
    total = 0
    with h5py.File(path, "r") as weights:
        arrays = []
        weights.visititems(lambda name, item: arrays.append((name, item)) if isinstance(item, h5py.Dataset) else None)
        for name, array in arrays:
            size = 1
            for dim in array.shape:
                size *= dim
            if size > MAX_ARRAY_VALUES:
                raise ValueError(f"weights: {name[:80]} declares {size:,} values; no layer of its config has that")
            total += size
    if total > 2 * max_params + 1_000_000:  # optimizer slots are not saved by model.save's weights: ~1x
        raise ValueError(f"weights: {total:,} values in all, more than its parameter limit allows")
    return path


def load_checked(path: Path, folder: Path, max_params: int):
    """The model of checked file `path`, loaded from a clean copy in `folder` with safe_mode, compile=False."""
    with zipfile.ZipFile(path) as archive:
        config = json.loads(archive.read("config.json"))
        config.pop("compile_config", None)  # Train Lab compiles with its own optimizer: nothing of it is read
        weights = _check_weights(archive, folder, max_params) if "model.weights.h5" in archive.namelist() else None
        metadata = archive.read("metadata.json") if "metadata.json" in archive.namelist() else b"{}"
    clean = folder / "clean.keras"
    with zipfile.ZipFile(clean, "w") as archive:
        archive.writestr("config.json", json.dumps(config))
        archive.writestr("metadata.json", metadata)
        if weights is not None:
            archive.write(weights, "model.weights.h5")
    from core.training.threads import import_keras

    keras = import_keras()  # only now: weights that declare too much are refused without TensorFlow's import
    return keras.saving.load_model(clean, compile=False, safe_mode=True)


def model_from_file(path: Path, fresh: bool, max_params: int):
    """A worker's copy of a student's model file for a run: checked against the allowlist again (the file may have
    changed on disk since it was added), loaded as above, with fresh weights from its layers' own initializers
    (seeded by the run) unless the run fine-tunes the file's, and ending in probabilities like the course's
    models (a model that ends in logits gets a Softmax layer, which has no parameters)."""
    import keras

    from core.data.model_archive import read_model_archive
    from core.domain.keras_allowlist import ModelRefused, check_config

    if not path.is_file():
        raise ModelRefused(f"architecture: model file {path.stem}'s file is no longer in {path.parent}; add it again")
    check_config(read_model_archive(path).config)
    with tempfile.TemporaryDirectory(prefix="trainlab-model-") as folder:
        model = load_checked(path, Path(folder), max_params)
    if fresh:
        model = keras.models.clone_model(model)
    last = model.layers[-1]
    if type(last).__name__ == "Softmax" or getattr(getattr(last, "activation", None), "__name__", "") == "softmax":
        return model
    return keras.Model(model.inputs[0], keras.layers.Softmax(name="probabilities")(model.outputs[0]), name=model.name)


def _inbound(model) -> dict[str, list[str]]:
    """Each layer's input layers by name, for the diagram: a Sequential model is a chain; a functional one names
    them in its config."""
    from core.training.summary import inbound_names

    if type(model).__name__ == "Sequential":
        names = [layer.name for layer in model.layers]
        return {name: names[i - 1:i] for i, name in enumerate(names)}
    return {layer["name"]: list(dict.fromkeys(inbound_names(layer.get("inbound_nodes", []))))
            for layer in model.get_config().get("layers", [])}


def describe(model, max_params: int) -> dict:
    """The loaded model as a page shows it: layers (name, type, output shape, parameters), parameter count,
    input shape, classes (the last layer's width)."""
    count = int(model.count_params())
    if count > max_params:
        raise ValueError(f"model: {count:,} parameters, more than this lab's limit of {max_params:,}")
    inbound = _inbound(model)
    layers = [{"name": layer.name, "type": type(layer).__name__, "output": str(tuple(layer.output.shape)),
               "params": int(layer.count_params()), "inputs": inbound.get(layer.name, [])} for layer in model.layers]
    shape = [None if d is None else int(d) for d in tuple(model.inputs[0].shape)[1:]]
    return {"ok": True, "params": count, "layers": layers, "input_shape": shape,
            "classes": int(model.outputs[0].shape[-1]), "name": model.name}


def write_maps(model, image_path: Path, out: Path, limit: int) -> dict:
    """The model's conv and pooling layers' outputs for the image in `image_path` (float32, the model's input, as
    numpy wrote it), at most `limit` channels a layer, written to `out` as uint8 arrays; their names, kinds, shapes."""
    import numpy as np

    from core.training.inspection import feature_maps

    image = np.load(image_path, allow_pickle=False)
    if tuple(image.shape) != tuple(model.inputs[0].shape[1:]) or image.dtype != np.float32:
        raise ValueError(f"image: {image.shape} {image.dtype} is not the model's input")
    maps = feature_maps(model, image, limit)
    np.savez(out, **{f"layer{i}": np.stack(layer.channels) for i, layer in enumerate(maps)})
    return {"ok": True, "maps": [{"name": m.name, "kind": m.kind, "shape": list(m.output_shape)} for m in maps]}


def main(argv: list[str]) -> int:
    """Load and describe one checked file (`FILE MAX_PARAMS`), or write its feature maps for an image (`FILE
    MAX_PARAMS IMAGE.npy OUT.npz LIMIT`); one JSON line on stdout either way; exit code 0."""
    path, max_params = Path(argv[0]), int(argv[1])
    try:
        with tempfile.TemporaryDirectory(prefix="trainlab-model-") as folder:
            model = load_checked(path, Path(folder), max_params)
            answer = describe(model, max_params) if len(argv) == 2 else \
                write_maps(model, Path(argv[2]), Path(argv[3]), int(argv[4]))
    except Exception as exc:  # noqa: BLE001 - the file's fault, whatever it is: said in one line to the caller
        answer = {"ok": False, "error": " ".join(f"{type(exc).__name__}: {exc}".split())[:300]}  # one line
    print(json.dumps(answer), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
