"""A student's own Keras model file, checked before anything of it is deserialised (issue 31): the archive read
with its sizes bounded (core/data/model_archive.py), then its config against the allowlist of built-in parts
(core/domain/keras_allowlist.py). A refusal is one line naming the layer or the part and why. Loading a file
that passed happens with safe_mode in a process of its own (core/training/loading_process.py)."""
from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

from core.data.datasets import DatasetInfo
from core.data.model_archive import read_model_archive, write_clean_copy
from core.domain.architectures import ARCHITECTURES, ArchitectureError
from core.domain.config import TrainConfig
from core.domain.keras_allowlist import ModelRefused, check_config
from core.domain.model_files import ModelFile, check_fits, file_id, is_model_file
from core.domain.people import OPERATOR, Actor
from core.services.permissions import PermissionDenied, acting, require_change
from core.settings import Settings, load_settings
from core.store.model_files import add_model_file, model_file, model_files, remove_model_file, set_shared
from core.store.runs import RunStore
from core.training.loading_process import load_in_process


@dataclass(frozen=True)
class CheckedModel:
    """A model file that passed: its config (plain JSON), its layer count and its weights' size."""

    config: dict
    layers: int
    weights_bytes: int


def check_model_file(path: Path) -> CheckedModel:
    """Refuse (a Refusal, one line) a file that is not a `.keras` archive of built-in Keras parts only."""
    contents = read_model_archive(Path(path))
    layers = check_config(contents.config)
    return CheckedModel(contents.config, layers, contents.weights_bytes)


@dataclass(frozen=True)
class LoadedModel:
    """A checked model file as Keras loaded it (in a process of its own): what its page shows."""

    name: str
    params: int
    layers: list
    input_shape: list
    classes: int


def inspect_model_file(path: Path, settings: Settings | None = None) -> LoadedModel:
    """Check model file `path` (the allowlist), then load it with safe_mode in a process of its own and describe
    it; a Refusal in one line at the first problem."""
    settings = settings or load_settings()
    check_model_file(path)
    answer = load_in_process(Path(path), settings.max_params)
    return LoadedModel(answer["name"], answer["params"], answer["layers"], answer["input_shape"], answer["classes"])


MODEL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.-]{0,39}$")
MAX_FILES_PER_STUDENT = 20  # each is up to TRAINLAB_MAX_UPLOAD_MB on the server's disk


def add(path: Path, name: str, settings: Settings | None = None, actor: Actor = OPERATOR) -> ModelFile:
    """Check, load (in a process of its own) and keep a student's model file under `name`: the checked copy in the
    lab's folder, its description in the store. A refusal stores nothing."""
    settings = settings or load_settings()
    name = name.strip()
    if not MODEL_NAME.match(name):
        raise ModelRefused("name: 1 to 40 letters, digits, spaces, '.', '_' or '-', starting with a letter or digit")
    store = RunStore(settings.store_location)
    mine = model_files(store, actor.name)
    if any(row.name == name for row in mine):  # said before the seconds a check takes
        raise ModelRefused(f"name: you already have a model named {name!r}; pick another name")
    if not actor.is_teacher and len(mine) >= MAX_FILES_PER_STUDENT:
        raise ModelRefused(f"model: you have {len(mine)} model files, the most a student keeps; remove one first")
    loaded = inspect_model_file(Path(path), settings)
    model_id = add_model_file(store, actor.name, name, loaded.params, loaded.input_shape, loaded.classes,
                              loaded.layers)
    if model_id is None:
        raise ModelRefused(f"name: you already have a model named {name!r}; pick another name")
    folder = settings.models_dir
    try:
        folder.mkdir(parents=True, exist_ok=True)
        write_clean_copy(Path(path), folder / f"{model_id}.part")  # the checked members only
        (folder / f"{model_id}.part").replace(folder / f"{model_id}.keras")
    except OSError:
        remove_model_file(store, model_id)  # no row without its file
        raise
    return model_file(store, model_id)


def listed(settings: Settings | None = None, actor: Actor = OPERATOR) -> list[ModelFile]:
    """The model files `actor` may train and score: their own and the shared ones, or every one for a teacher and
    the operator; by owner, then name."""
    settings = settings or load_settings()
    store = RunStore(settings.store_location)
    return model_files(store) if actor.is_teacher else model_files(store, actor.name, with_shared=True)


def usable_file(model_id: int, settings: Settings, actor: Actor | None) -> ModelFile | None:
    """Model file `model_id` if `actor` may use it (their own, a shared one, any for a teacher), else None."""
    return next((row for row in listed(settings, acting(actor, settings)) if row.id == model_id), None)


def usable(configs: list[TrainConfig], settings: Settings, actor: Actor) -> dict[int, ModelFile]:
    """The model files `actor` may use, by id, when one of `configs` names a model file (else none: no look)."""
    if not any(is_model_file(c.architecture) for c in configs):
        return {}
    return {row.id: row for row in listed(settings, actor)}


def named(config: TrainConfig, files: dict[int, ModelFile]) -> TrainConfig:
    """`config` with a readable name when it has none and trains a model file ("tess / my-cnn · digits · adam")."""
    found = files.get(file_id(config.architecture)) if is_model_file(config.architecture) else None
    if found is None or config.name.strip():
        return config
    weights = " · fine-tune" if config.arch_options.get("weights") == "file" else ""
    return replace(config, name=f"{found.title}{weights} · {config.dataset} · {config.optimizer} "
                                f"lr={config.learning_rate:g}")


def remove(model_id: int, settings: Settings | None = None, actor: Actor | None = None) -> ModelFile:
    """Remove a model file (its owner, or a teacher): its row, then its file. Runs that trained it keep their own
    trained models and scores; a queued run of it fails with one line; its leaderboard rows say it was removed."""
    settings = settings or load_settings()
    store = RunStore(settings.store_location)
    found = model_file(store, model_id)
    if found is None:
        raise ModelRefused(f"model: there is no model file #{model_id}; `python -m core models list` shows them")
    require_change(acting(actor, settings), found.owner, f"model file #{model_id}", "remove")
    remove_model_file(store, model_id)
    (settings.models_dir / f"{model_id}.keras").unlink(missing_ok=True)
    return found


def titles(settings: Settings | None = None) -> dict[str, str]:
    """Every model file's architecture key and title ("file:3" -> "amy / my-cnn"), for tables of runs."""
    settings = settings or load_settings()
    return {row.key: row.title for row in model_files(RunStore(settings.store_location))}


def titled(text: str, files: dict[int, ModelFile]) -> str:
    """`text` (a sweep trial's name or architecture label) with each "file:ID" of `files` as its title."""
    return re.sub(r"file:(\d+)", lambda m: files[int(m[1])].title if int(m[1]) in files else m[0], text)


def share(model_id: int, shared: bool, settings: Settings | None = None, actor: Actor | None = None) -> ModelFile:
    """Share a model file with the class (every student may then train and score it), or stop; teachers only."""
    settings = settings or load_settings()
    if not acting(actor, settings).is_teacher:
        raise PermissionDenied("model: only a teacher may share a model file with the class")
    store = RunStore(settings.store_location)
    if model_file(store, model_id) is None:
        raise ModelRefused(f"model: there is no model file #{model_id}; `python -m core models list` shows them")
    set_shared(store, model_id, shared)
    return model_file(store, model_id)


def name_from_file(filename: str) -> str:
    """A model name made from an uploaded file's name ("My CNN (v2).keras" -> "My CNN v2")."""
    stem = " ".join(re.sub(r"[^A-Za-z0-9 _.-]", " ", Path(str(filename)).stem).split()).strip(" .-_")[:40].strip()
    return stem or "model"


def add_upload(filename: str, stream, name: str, settings: Settings | None = None,
               actor: Actor | None = None) -> ModelFile:
    """`add` for a file uploaded on a page by `actor` (None: the laptop's user): only a `.keras` name, copied to a
    temporary file in pieces and refused past the upload limit (TRAINLAB_MAX_UPLOAD_MB) before anything reads it."""
    settings = settings or load_settings()
    actor = acting(actor, settings)
    if not str(filename).lower().endswith(".keras"):
        raise ModelRefused(f"file: {str(filename)[:60]!r} is not a .keras file; save your model with "
                           "model.save('mine.keras') (an .h5 file's loading ignores Keras' safe mode)")
    limit = settings.max_upload_mb * 2**20
    folder = settings.home / "tmp"
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=folder, suffix=".keras") as temporary:
        copied = 0
        while chunk := stream.read(1 << 20):
            copied += len(chunk)
            if copied > limit:
                raise ModelRefused(f"file: over the {settings.max_upload_mb} MB upload limit (TRAINLAB_MAX_UPLOAD_MB); "
                                   "a course model is a few MB")
            temporary.write(chunk)
        temporary.flush()
        return add(Path(temporary.name), name, settings, actor)


def architecture_choices(settings: Settings, actor: Actor | None) -> tuple[dict[str, str], dict[str, ModelFile]]:
    """(key -> title of every architecture `actor` may train: the course's, then their model files and the shared
    ones; key -> model file)."""
    files = {row.key: row for row in listed(settings, acting(actor, settings))}
    titles = {key: arch.title for key, arch in ARCHITECTURES.items()}
    titles.update({key: f"{row.title} (model file{', shared' if row.shared else ''})" for key, row in files.items()})
    return titles, files


def fitting(model: ModelFile, datasets: list[DatasetInfo], max_params: int) -> list[DatasetInfo]:
    """The datasets whose images and classes model file `model` takes (an image folder at the file's side)."""
    found = []
    for info in datasets:
        if info.resizable and len(model.input_shape) == 3 and model.input_shape[0] == model.input_shape[1] and \
                isinstance(model.input_shape[0], int) and 16 <= model.input_shape[0] <= 512:
            info = info.with_image_size(model.input_shape[0])
        try:
            check_fits(model, info.input_shape, info.num_classes, max_params)
        except ArchitectureError:
            continue
        found.append(info)
    return found


def feature_maps(model_id: int, image, settings: Settings | None = None, actor: Actor | None = None,
                 limit: int = 16) -> list:
    """Model file `model_id`'s conv and pooling layers' outputs for `image` (uint8, any size: prepared as training
    batches are), with its own weights, made in a process of its own; ModelRefused when it is not one `actor` may
    use."""
    from core.data.images import to_model_input
    from core.training.loading_process import maps_in_process

    settings = settings or load_settings()
    found = usable_file(model_id, settings, actor)
    if found is None:
        raise ModelRefused(f"model: model file #{model_id} is not one you may use here")
    return maps_in_process(settings.models_dir / f"{model_id}.keras", settings.max_params,
                           to_model_input(image, tuple(found.input_shape)), limit)
