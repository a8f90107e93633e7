"""The Train page's fields as a user sets them, and the run config they stand for (both ways).

The page's widgets hold a `TrainForm`'s fields under the same names; `to_config` is what Start
queues and `from_config` is how "Clone and edit" fills the page, so a cloned run's settings come
back unchanged (a test round-trips them) and no page writes another page's widget keys.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields

from core.domain.augment import preset
from core.domain.config import ConfigError, TrainConfig

AUGMENTATION_CHOICES = {"none": "none", "dog": "course dog preset", "cat": "course cat preset",
                        "augment_page": "from the Augment page"}
_DEFAULTS = TrainConfig()
# How the Train page labels the fields a refusal may name (the CLI says the config's own names).
FIELD_LABELS = {
    "dataset": "Dataset", "architecture": "Architecture", "arch_options": "Architecture options",
    "optimizer": "Optimizer", "learning_rate": "Learning rate", "lr_schedule": "Learning-rate schedule",
    "momentum": "Momentum", "nesterov": "Nesterov", "batch_size": "Batch size", "epochs": "Epochs",
    "validation_split": "Validation split",
    "split_mode": "Split", "labels": "Labels", "train_subset": "Training samples", "test_subset": "Test samples",
    "image_size": "Image size", "augmentation": "Augmentation", "seed": "Seed", "cpus": "Cluster CPUs",
    "gpus": "Cluster GPUs", "name": "Run name", "notes": "Notes", "training_mode": "Training mode",
}
# The settings a comparison shows: the Train page's fields, and those only a run from the user's own code has
# (core/domain/tracked_runs.py run_config).
SETTING_LABELS = {**FIELD_LABELS, "script": "Script", "script_args": "Script arguments", "input_shape": "Input shape",
                  "train_samples": "Training examples", "validation_samples": "Validation examples",
                  "optimizer_settings": "Optimizer settings"}
NUMBER_FIELDS = ("learning_rate", "momentum", "batch_size", "epochs", "train_subset", "test_subset", "image_size",
                 "seed")


@dataclass
class TrainForm:
    """The Train page's fields: 0 subsets mean all samples; momentum and Nesterov count only for SGD;
    augmentation is a named choice, "augment_page" taking `train_augmentation` (the Augment page's or a clone's)."""

    dataset: str = _DEFAULTS.dataset
    architecture: str = _DEFAULTS.architecture
    arch_options: dict = field(default_factory=dict)
    optimizer: str = _DEFAULTS.optimizer
    learning_rate: float = _DEFAULTS.learning_rate
    lr_schedule: str = _DEFAULTS.lr_schedule
    momentum: float = 0.9  # shown once SGD is chosen: the course's momentum
    nesterov: bool = True
    batch_size: int = _DEFAULTS.batch_size
    epochs: int = _DEFAULTS.epochs
    validation_split: float = _DEFAULTS.validation_split
    split_mode: str = _DEFAULTS.split_mode
    labels: str = _DEFAULTS.labels
    train_subset: int = 0
    test_subset: int = 0
    image_size: int = _DEFAULTS.image_size
    augmentation: str = "none"
    train_augmentation: list = field(default_factory=list)
    seed: int = _DEFAULTS.seed
    training_mode: str = _DEFAULTS.training_mode
    cpus: int = 0  # a Ray cluster's CPUs for the run; 0: TRAINLAB_RUN_CPUS (the field shows on a cluster only)
    gpus: str = "default"  # a Ray cluster's GPUs for the run: "0", "1", or "default" (TRAINLAB_RUN_GPUS)
    name: str = ""
    notes: str = ""

    def widget_values(self) -> dict:
        """The page's widget state for this form (architecture options have their own widgets)."""
        values = asdict(self)
        values.pop("arch_options")
        return values

    def pipeline(self) -> list[dict]:
        """The augmentation steps the chosen pipeline stands for."""
        if self.augmentation == "augment_page":
            return list(self.train_augmentation)
        return preset(self.augmentation) if self.augmentation in ("dog", "cat") else []

    def to_config(self, resizable: bool = True) -> TrainConfig:
        """The run this form queues; numbers go as typed, for validation to refuse a bad one.

        `resizable`: the dataset is an image folder, so the image size field applies. An emptied number field is
        refused by name (ConfigError) rather than read as 0, "all" or a default the student does not see."""
        sgd = self.optimizer == "sgd"
        for name in NUMBER_FIELDS:
            if getattr(self, name) is None and (name != "momentum" or sgd) and (name != "image_size" or resizable):
                raise ConfigError(name, "the field is empty; type a number" + (" (0 for all)" if "subset" in name
                                                                               else ""))
        return TrainConfig(
            dataset=self.dataset, architecture=self.architecture, arch_options=dict(self.arch_options),
            optimizer=self.optimizer, learning_rate=self.learning_rate, lr_schedule=self.lr_schedule,
            momentum=self.momentum if sgd else 0.0, nesterov=bool(self.nesterov) if sgd else False,
            batch_size=self.batch_size, epochs=self.epochs, validation_split=float(self.validation_split),
            split_mode=self.split_mode, labels=self.labels,
            train_subset=self.train_subset or None, test_subset=self.test_subset or None,  # 0 means all
            image_size=self.image_size if resizable else _DEFAULTS.image_size,
            augmentation=self.pipeline(), seed=self.seed, training_mode=self.training_mode, name=self.name,
            notes=self.notes,
            cpus=self.cpus or None, gpus=None if self.gpus == "default" else int(self.gpus))

    @classmethod
    def from_config(cls, config: dict, name: str) -> TrainForm:
        """The form that queues `config` again (a stored run's settings), under run name `name`."""
        known = {f.name for f in fields(cls)} - {"augmentation", "train_augmentation", "name"}
        values = {k: v for k, v in config.items() if k in known}
        gpus = config.get("gpus")
        values.update(train_subset=config.get("train_subset") or 0, test_subset=config.get("test_subset") or 0,
                      cpus=config.get("cpus") or 0, gpus="default" if gpus is None else str(gpus))
        if config.get("optimizer") != "sgd":  # keep the page's SGD defaults for when the user switches
            values.pop("momentum", None), values.pop("nesterov", None)
        steps = list(config.get("augmentation") or [])
        choice = next((key for key in ("dog", "cat") if steps and steps == preset(key)), None)
        if steps and choice is None:
            values.update(augmentation="augment_page", train_augmentation=steps)
        else:
            values["augmentation"] = choice or "none"
        return cls(**values, name=name)
