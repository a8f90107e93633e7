"""TrainConfig: everything that defines one training run, and its validation.

Validation happens before anything is queued: `validate()` raises `ConfigError` whose message
names the field, the allowed range and what was received.
"""
from __future__ import annotations

import functools
import json
from dataclasses import MISSING, asdict, dataclass, field, fields
from typing import Any, Iterable, Mapping

from core.data.datasets import DEFAULT_IMAGE_SIZE, DatasetInfo, get_info
from core.domain.architectures import ARCHITECTURES, ArchitectureError, Recipe, check_input
from core.domain.augment import AugmentError, output_side, training_layers
from core.domain.augment import check as check_pipeline
from core.domain.model_files import ModelFile, check_file_options, check_fits, file_id, is_model_file
from core.domain.param_counts import check_size, parameter_count
from core.domain.strict import first_error, strict_model
from core.errors import Refusal
from core.settings import Settings, load_settings

# key -> the Keras class name (keras.optimizers.<name>); Muon and LossScaleOptimizer are left out
# (Muon needs a per-layer setup, the other wraps an optimizer rather than being one).
OPTIMIZERS = {
    "sgd": "SGD",
    "adam": "Adam",
    "rmsprop": "RMSprop",
    "adamw": "AdamW",
    "nadam": "Nadam",
    "adagrad": "Adagrad",
    "adadelta": "Adadelta",
    "adamax": "Adamax",
    "adafactor": "Adafactor",
    "ftrl": "Ftrl",
    "lion": "Lion",
    "lamb": "Lamb",
}
LR_SCHEDULES = {"constant": "constant", "cosine": "cosine decay to 0 over the run"}
MAX_LEARNING_RATE = 10.0
MAX_NAME_LENGTH = 120
MAX_NOTES_LENGTH = 5000
# short: a select shows ~20 characters at 1024 px
TRAINING_MODES = {"auto": "Fastest, measured", "keras": "Keras' default", "xla": "XLA", "spe": "16 steps a call",
                  "xla_spe": "XLA, 16 steps a call"}
SPLIT_MODES = {"random": "random, stratified", "keras": "last share (Keras)"}  # short: a select shows ~20 characters
LABEL_ENCODINGS = {"integer": "integers · sparse cross-entropy", "one_hot": "one-hot · categorical cross-entropy"}
LABELS_HELP = ("Class ids as integers with sparse categorical cross-entropy, or one-hot vectors with categorical "
               "cross-entropy: the same loss written two ways (the course uses both).")
IMAGE_SIZE_RANGE = (16, 512)
MAX_RUN_CPUS = 256
# Fields that say where a run trains, not what it learns: runs differing only in these are the same experiment.
PLACEMENT_FIELDS = ("cpus", "gpus")


class ConfigError(Refusal, ValueError):
    """A config value a user can fix; `str()` is the one-line message to show."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field


def got(value) -> str:
    """How a refusal names what it received: an emptied form field says so instead of 'None'."""
    return "the field is empty" if value is None else f"got {value!r}"


def _setting(default: Any = MISSING, text: str = "", choices: Iterable[str] = (), factory: Any = MISSING):
    """A TrainConfig field with what describes it outside the code: a line of help and, for a field that
    names a key, the allowed keys (the CLI's flags are made from these; `validate` checks the values)."""
    return field(default=default, default_factory=factory, metadata={"help": text, "choices": tuple(choices)})


@dataclass(frozen=True)
class TrainConfig:
    """One training run's settings (defaults: the course MLP on the bundled digits)."""

    dataset: str = _setting("digits", "a dataset of the catalog (`python -m core datasets` lists them)")
    architecture: str = _setting("mlp", "a course preset or a custom builder", ARCHITECTURES)
    arch_options: dict = _setting(text='the architecture\'s options (custom builders), e.g. '
                                  '{"hidden_units": [512, 256], "dropout": 0.2}', factory=dict)
    optimizer: str = _setting("adam", "the Keras optimizer", OPTIMIZERS)
    learning_rate: float = _setting(1e-3, f"greater than 0, at most {MAX_LEARNING_RATE:g}")
    lr_schedule: str = _setting("constant", "constant, or cosine decay to 0 over the run", LR_SCHEDULES)
    momentum: float = _setting(0.0, "SGD only: from 0 up to (not including) 1")
    nesterov: bool = _setting(False, "SGD only, with a momentum above 0")
    batch_size: int = _setting(32, "at most the training samples left after the validation split")
    epochs: int = _setting(10, "at most the server's cap, TRAINLAB_MAX_EPOCHS")
    validation_split: float = _setting(0.2, "share of the training subset held out for validation, 0 to 0.5")
    split_mode: str = _setting("random", "random (seeded, stratified) or the last share (Keras)", SPLIT_MODES)
    train_subset: int | None = _setting(None, "train on this many samples (stratified); default all")
    test_subset: int | None = _setting(None, "evaluate on this many test samples (stratified); default all")
    labels: str = _setting("integer", "integer (sparse categorical cross-entropy) or one-hot labels", LABEL_ENCODINGS)
    image_size: int = _setting(DEFAULT_IMAGE_SIZE, "image folders only: images are resized to this square side, "
                               f"{IMAGE_SIZE_RANGE[0]} to {IMAGE_SIZE_RANGE[1]}")
    augmentation: list = _setting(text="core/domain/augment.py's steps, applied while training only", factory=list)
    seed: int = _setting(42, "drives the subset, the split, shuffling and weight initialisation")
    training_mode: str = _setting("auto", "how the training step is compiled: the fastest of Keras' default, spe and "
                                  "xla_spe with the same result, measured on the run's first steps (once per model "
                                  "shape and machine), or one forced (XLA is often faster for dense models on a CPU, "
                                  "slower for conv nets; spe: Keras' default with steps_per_execution=16, the same "
                                  "training with less Python between steps; xla_spe: both)",
                                  TRAINING_MODES)
    cpus: int | None = _setting(None, f"Ray cluster only: the CPU threads this run asks for, 1 to {MAX_RUN_CPUS}; "
                                "default TRAINLAB_RUN_CPUS")
    gpus: int | None = _setting(None, "Ray cluster only: the GPUs this run asks for, 0 or 1; default TRAINLAB_RUN_GPUS")
    name: str = _setting("", "shown as plain text; empty = generated")
    notes: str = _setting("", "shown as plain text")

    def to_dict(self) -> dict:
        """Plain dict for JSON storage."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "TrainConfig":
        """Rebuild a config from `to_dict()` output, ignoring unknown keys from newer versions."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    @classmethod
    def from_json(cls, text: str) -> "TrainConfig":
        """Rebuild a config from its stored JSON."""
        return cls.from_dict(json.loads(text))

    def display_name(self) -> str:
        """The run's name, or a readable one made from its settings."""
        if self.name.strip():
            return self.name.strip()
        return f"{self.architecture} · {self.dataset} · {self.optimizer} lr={self.learning_rate:g}"


@functools.cache
def _schema():
    """TrainConfig's own annotations as a strict pydantic model, so the dataclass stays the one schema:
    no "yes" for a bool, no text for a number, no unknown keys."""
    return strict_model(TrainConfig, "TrainConfigSchema")


def check_types(data: dict, numbers: bool = True) -> None:
    """Raise ConfigError naming the first value of the wrong type (or unknown key) in a run's settings.

    With `numbers=False` number fields are left to `validate`'s own checks, whose message gives the
    allowed range ("epochs: must be a whole number from 1 to 200 …; got 2.5").
    """
    if not numbers:
        defaults = asdict(TrainConfig())
        data = {k: defaults[k] if isinstance(defaults.get(k), (int, float)) and not isinstance(defaults[k], bool)
                else v for k, v in data.items()}
    error = first_error(_schema(), data, "a run")
    if error:
        raise ConfigError(*error)


def parse_config(data: dict) -> TrainConfig:
    """A run's settings from JSON (a downloaded config, the CLI's --config), checked for types and
    unknown keys first, so a typo or "yes" for a bool is refused instead of trained."""
    if not isinstance(data, dict):
        raise ConfigError("config", "must be one JSON object of settings")
    check_types({**asdict(TrainConfig()), **data})
    return TrainConfig(**data)


# The Train page's fields that hold a TrainConfig field as it is.
def whole(value):
    """A number from a form as an int where it is a whole number (10.0 -> 10); anything else is returned
    unchanged, so validation refuses it with the value as typed (2.5, "ten")."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_int(field: str, value, low: int, high: int, why: str = "") -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        because = f" ({why})" if why else ""
        raise ConfigError(field, f"must be a whole number from {low} to {high}{because}; {got(value)}")


def training_sizes(config: TrainConfig, info: DatasetInfo) -> tuple[int, int]:
    """(train, validation) sample counts after the subset and the validation split."""
    total = min(config.train_subset, info.train_size) if config.train_subset is not None else info.train_size
    val = int(round(total * config.validation_split))
    return total - val, val


ModelFiles = Mapping[int, ModelFile]  # the model files the person queueing may use, by id


def validate(config: TrainConfig, settings: Settings | None = None,
             model_files: ModelFiles | None = None) -> DatasetInfo:
    """Check every field; raise ConfigError naming the first bad one. Returns the dataset info. An architecture
    naming a model file ("file:7") must be one of `model_files`: those the person queueing may use."""
    settings = settings or load_settings()
    check_types(asdict(config), numbers=False)  # text, flags, lists first: the checks below read them
    info = _dataset(config, settings, model_files)
    _check_optimizer(config)
    _check_counts(config, info, settings)
    info = _check_model_input(config, info, settings, model_files)
    _check_split_and_batch(config, info)
    check_types(asdict(config))  # numbers no check above covers (e.g. image_size of a fixed-size dataset)
    if len(config.name) > MAX_NAME_LENGTH:
        raise ConfigError("name", f"must be at most {MAX_NAME_LENGTH} characters; got {len(config.name)}")
    if len(config.notes) > MAX_NOTES_LENGTH:
        raise ConfigError("notes", f"must be at most {MAX_NOTES_LENGTH} characters; got {len(config.notes)}")
    return info


def _dataset(config: TrainConfig, settings: Settings, model_files: ModelFiles | None = None) -> DatasetInfo:
    info = get_info(config.dataset, settings)
    if info is None:
        raise ConfigError("dataset", f"unknown dataset {config.dataset!r}; choose one of the catalog")
    if not info.available:
        raise ConfigError("dataset", f"{info.title} is not on this machine; {info.hint}")
    if is_model_file(config.architecture):
        model_file_of(config, model_files)
    elif config.architecture not in ARCHITECTURES:
        raise ConfigError("architecture", f"unknown {config.architecture!r}; choose one of {', '.join(ARCHITECTURES)}")
    return info


def _check_optimizer(config: TrainConfig) -> None:
    if config.optimizer not in OPTIMIZERS:
        raise ConfigError("optimizer", f"unknown {config.optimizer!r}; choose one of {', '.join(OPTIMIZERS)}")
    lr = config.learning_rate
    if not _is_number(lr) or not 0 < lr <= MAX_LEARNING_RATE:
        raise ConfigError("learning_rate", f"must be greater than 0 and at most {MAX_LEARNING_RATE:g}; {got(lr)}")
    if config.lr_schedule not in LR_SCHEDULES:
        raise ConfigError("lr_schedule", f"must be one of {', '.join(LR_SCHEDULES)}; got {config.lr_schedule!r}")
    if not _is_number(config.momentum) or not 0 <= config.momentum < 1:
        raise ConfigError("momentum", f"must be from 0 up to (not including) 1; {got(config.momentum)}")
    if config.optimizer != "sgd" and (config.momentum or config.nesterov):
        raise ConfigError("momentum", "momentum and nesterov apply to SGD only; set them to 0/off or choose sgd")
    if config.nesterov and not config.momentum:
        raise ConfigError("nesterov", "Nesterov needs a momentum above 0 (the course uses 0.9)")


def _check_counts(config: TrainConfig, info: DatasetInfo, settings: Settings) -> None:
    _check_int("epochs", config.epochs, 1, settings.max_epochs, "the server's cap, TRAINLAB_MAX_EPOCHS")
    _check_int("seed", config.seed, 0, 2**32 - 1)
    if config.train_subset is not None:
        _check_int("train_subset", config.train_subset, 1, info.train_size,
                   f"{info.title} has {info.train_size} training images; 0 in the Train page's field means all")
    if config.test_subset is not None:
        _check_int("test_subset", config.test_subset, 1, info.test_size,
                   f"{info.title} has {info.test_size} test images; 0 in the Train page's field means all")
    if config.cpus is not None:
        _check_int("cpus", config.cpus, 1, MAX_RUN_CPUS, "CPU threads the run asks the Ray cluster for")
    if config.gpus is not None:
        _check_int("gpus", config.gpus, 0, 1, "GPUs the run asks the Ray cluster for")
    if config.split_mode not in SPLIT_MODES:
        raise ConfigError("split_mode", f"must be one of {', '.join(SPLIT_MODES)}; got {config.split_mode!r}")
    if config.labels not in LABEL_ENCODINGS:
        raise ConfigError("labels", f"must be one of {', '.join(LABEL_ENCODINGS)}; got {config.labels!r}")
    if config.training_mode not in TRAINING_MODES:
        raise ConfigError("training_mode", f"must be one of {', '.join(TRAINING_MODES)}; got {config.training_mode!r}")
    if config.training_mode in ("xla", "xla_spe") and config.augmentation:
        raise ConfigError("training_mode", "XLA does not compile the augmentation layers' image operations here; "
                          "choose Keras' default (keras) or Fastest, measured (auto), or no augmentation")


def _model_input(config: TrainConfig, info: DatasetInfo) -> tuple[DatasetInfo, tuple[int, ...]]:
    """The dataset at the run's image size, and the shape the model sees (after augmentation's crops)."""
    if info.resizable:
        _check_int("image_size", config.image_size, *IMAGE_SIZE_RANGE, "pixels per side")
        info = info.with_image_size(config.image_size)
    if not isinstance(config.arch_options, dict):
        raise ConfigError("arch_options", f"must be a mapping of option to value; got {config.arch_options!r}")
    shape = info.input_shape
    if config.augmentation:
        try:
            check_pipeline(config.augmentation, shape[0], shape[1])  # the steps as given, before reading them
            h, w = output_side(training_layers(config.augmentation), shape[0], shape[1])
        except AugmentError as exc:
            raise ConfigError("augmentation", str(exc).removeprefix("augmentation: ")) from None
        shape = (h, w, shape[2])
    return info, shape


def model_file_of(config: TrainConfig, model_files: ModelFiles | None) -> ModelFile:
    """The model file a run's architecture names; ConfigError when it is not one the person may use."""
    found = (model_files or {}).get(file_id(config.architecture))
    if found is None:
        raise ConfigError("architecture", f"{config.architecture!r} is not a model file you may use here; "
                          "`python -m core models list` shows yours (add one with `models add`)")
    return found


def model_parameters(config: TrainConfig, settings: Settings | None = None,
                     model_files: ModelFiles | None = None) -> int:
    """How many parameters the model of a valid `config` has (counted, nothing built)."""
    if is_model_file(config.architecture):
        return model_file_of(config, model_files).params
    info, shape = _model_input(config, _dataset(config, settings or load_settings()))
    return parameter_count(config.architecture, shape, info.num_classes, config.arch_options)


def augmentation_effect(config: TrainConfig, settings: Settings | None = None) -> str | None:
    """One line on what the run's augmentation does to its dataset's images when it changes their size (the
    course's photo presets resize to 224×224: on 8×8 digits that makes a model of many times the parameters),
    or None when it keeps their size, or when the config cannot tell yet (a bad value is refused at Start)."""
    if not config.augmentation or is_model_file(config.architecture):
        return None  # a model file takes one input size: a pipeline that changes it is refused at Start
    try:
        info, shape = _model_input(config, _dataset(config, settings or load_settings()))
        before = info.input_shape
        if shape[:2] == before[:2]:
            return None
        plain = parameter_count(config.architecture, before, info.num_classes, config.arch_options)
        grown = parameter_count(config.architecture, shape, info.num_classes, config.arch_options)
    except (ConfigError, ArchitectureError, ValueError):
        return None
    return (f"This pipeline turns the dataset's {before[0]}×{before[1]} images into {shape[0]}×{shape[1]} before the "
            f"model sees them: {grown:,} parameters instead of {plain:,}. Choose augmentation \"none\" to train on "
            "the images as they are.")


def _check_model_input(config: TrainConfig, info: DatasetInfo, settings: Settings,
                       model_files: ModelFiles | None = None) -> DatasetInfo:
    """The image size, the augmentation and the architecture against the images they will see."""
    info, shape = _model_input(config, info)
    try:
        if is_model_file(config.architecture):
            check_file_options(config.arch_options)
            if tuple(shape) != tuple(info.input_shape):  # a model file takes one size: the pipeline must keep it
                raise ConfigError("augmentation", f"this pipeline turns {info.input_shape[0]}×{info.input_shape[1]} "
                                  f"images into {shape[0]}×{shape[1]}, and a model file takes the size it was "
                                  "saved with; choose steps that keep the size (flips, rotations, zooms)")
            check_fits(model_file_of(config, model_files), shape, info.num_classes, settings.max_params)
            return info
        check_input(config.architecture, shape, config.arch_options)
        check_size(config.architecture, shape, info.num_classes, config.arch_options, settings.max_params)
    except ArchitectureError as exc:
        raise ConfigError("architecture", str(exc).removeprefix("architecture: ")) from None
    return info


def _check_split_and_batch(config: TrainConfig, info: DatasetInfo) -> None:
    vs = config.validation_split
    if not _is_number(vs) or not 0 <= vs <= 0.5:
        raise ConfigError("validation_split", f"must be from 0 to 0.5; {got(vs)}")
    n_train, _ = training_sizes(config, info)
    if n_train < 1:
        raise ConfigError("validation_split", "leaves no training samples; lower it or raise train_subset")
    _check_int("batch_size", config.batch_size, 1, n_train, "the training samples left after the validation split")


def recipe_settings(recipe: Recipe, current_dataset: str, datasets: dict[str, DatasetInfo],
                    max_epochs: int) -> tuple[dict, str]:
    """The Train page's values for a course recipe, and a one-line note of what could not be applied
    as the course had it ("" when everything was).

    `datasets` maps keys to the catalog's entries (available or not). The lesson's subsets belong to
    its dataset: when that dataset is missing, the current one is kept with all its samples.
    """
    values: dict = dict(optimizer=recipe.optimizer, learning_rate=recipe.learning_rate,
                        batch_size=recipe.batch_size, epochs=min(recipe.epochs, max_epochs),
                        validation_split=recipe.validation_split, split_mode=recipe.split_mode, labels=recipe.labels,
                        train_subset=recipe.train_subset, test_subset=recipe.test_subset)
    if recipe.optimizer == "sgd":
        values.update(momentum=recipe.momentum, nesterov=recipe.nesterov)
    notes = []
    lesson = datasets.get(recipe.dataset) if recipe.dataset else None
    if lesson is not None and lesson.available:
        values["dataset"] = recipe.dataset
    elif recipe.dataset:
        kept = datasets[current_dataset].title if current_dataset in datasets else current_dataset
        title = lesson.title if lesson else recipe.dataset
        subsets = ""
        if recipe.train_subset or recipe.test_subset:
            subsets = (f" and uses all its samples (the lesson's {recipe.train_subset or 0:,} / "
                       f"{recipe.test_subset or 0:,} subsets are {title}'s)")
            values.update(train_subset=None, test_subset=None)
        notes.append(f"{title} is not on this machine, so the run stays on {kept}{subsets}; "
                     "get it on the Data page")
    if recipe.epochs > max_epochs:
        notes.append(f"epochs capped at {max_epochs} (TRAINLAB_MAX_EPOCHS); the course trained {recipe.epochs}")
    note = "; ".join(notes)
    return values, (note[0].upper() + note[1:] + ".") if note else ""
