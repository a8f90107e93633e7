"""A hyperparameter sweep's definition and its expansion into run configs.

A `SweepSpec` names the values to try on each axis (datasets, architecture variants,
optimizers, learning rates, batch sizes, epochs, seeds). Grid mode tries every combination
(scikit-learn's `ParameterGrid`); random mode draws a budget of trials from the same space
(`ParameterSampler`, log-uniform for a learning-rate range). Learning rates may be given per
optimizer, since SGD and Adam want different ones. Expansion is refused above a cap before
anything is built, so a typo cannot queue a million runs.
"""
from __future__ import annotations

import functools
from dataclasses import asdict, dataclass, field, fields, replace

from core.domain.config import MAX_LEARNING_RATE, OPTIMIZERS, TrainConfig, whole
from core.domain.strict import first_error, strict_model
from core.domain.sweep_parsing import (
    OPTIMIZER_CHOICES,
    SGD_MOMENTUM,
    SweepError,
    Variant,
    parse_learning_rates,
    parse_numbers,
    parse_per_optimizer_lr,
    parse_variant,
    parse_variants,
)

OPTIMIZER_LABELS = {"sgd": "SGD", "sgd_momentum": f"SGD + momentum {SGD_MOMENTUM:g}",
                    "sgd_nesterov": f"SGD + Nesterov {SGD_MOMENTUM:g}",
                    **{k: v for k, v in OPTIMIZERS.items() if k != "sgd"}}
# A refusal's field as the Sweeps page labels it (a trial's own check names TrainConfig's fields).
SWEEP_FIELD_LABELS = {"name": "Sweep name", "dataset": "Datasets", "architecture": "Architectures",
                      "optimizer": "Optimizers", "learning_rate": "Learning rates", "batch_size": "Batch sizes",
                      "epochs": "Epochs", "seed": "Seeds", "train_subset": "Training samples",
                      "test_subset": "Test samples", "validation_split": "Validation split", "split_mode": "Split",
                      "lr_schedule": "Learning-rate schedule", "mode": "Search", "trials": "Trials",
                      "cpus": "Cluster CPUs per trial", "gpus": "Cluster GPUs per trial",
                      "architectures": "Architectures", "optimizers": "Optimizers", "learning rates": "Learning rates",
                      "learning rates per optimizer": "Learning rates per optimizer", "search seed": "Search seed",
                      "batch sizes": "Batch sizes", "seeds": "Seeds",
                      "early stopping": "Stop poor trials early", "retrain the best": "Retrain the best"}
# Fields of TrainConfig every trial shares (the axes are set per trial).
# cpus and gpus: what each trial asks a Ray cluster for (README: Running on several machines).
SHARED_FIELDS = ("train_subset", "test_subset", "validation_split", "split_mode", "labels", "image_size",
                 "lr_schedule", "cpus", "gpus")


@dataclass(frozen=True)
class Halving:
    """Successive halving: at epochs min_epochs·eta^k a trial goes on only if its validation
    accuracy is in the top 1/eta of the sweep's trials (same dataset) that reached that epoch."""

    eta: int = 3
    min_epochs: int = 1

    def rungs(self, epochs: int) -> list[int]:
        """Epochs (before the last) at which a trial of `epochs` epochs is judged."""
        out, rung = [], self.min_epochs
        while rung < epochs:
            out.append(rung)
            rung *= self.eta
        return out


@dataclass(frozen=True)
class SweepSpec:
    """What to try. Lists are the values of each axis; `lr_range` (low, high, count) replaces
    `learning_rates` with log-spaced points (grid) or a log-uniform draw (random)."""

    name: str = ""
    mode: str = "grid"  # "grid" or "random"
    datasets: tuple[str, ...] = ("digits",)
    variants: tuple[Variant, ...] = (Variant("mlp", "mlp"),)
    optimizers: tuple[str, ...] = ("adam",)  # keys of OPTIMIZER_CHOICES
    learning_rates: tuple[float, ...] = (1e-3,)
    lr_range: tuple[float, float, int] | None = None
    per_optimizer_lr: dict = field(default_factory=dict)  # optimizer choice -> its own learning rates
    batch_sizes: tuple[int, ...] = (32,)
    epochs: tuple[int, ...] = (10,)
    seeds: tuple[int, ...] = (42,)
    trials: int = 20  # random mode: how many runs to draw
    search_seed: int = 0  # random mode: the draw's seed
    shared: dict = field(default_factory=dict)  # SHARED_FIELDS values every trial uses
    halving: Halving | None = None
    # When set, the best trial's setting on each dataset is retrained by itself on all its training data for this
    # many epochs as soon as that dataset's trials have all ended (`sweep start --retrain-best EPOCHS`).
    retrain_epochs: int | None = None

    def to_dict(self) -> dict:
        """Plain dict for JSON storage."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "SweepSpec":
        """Rebuild a spec from `to_dict()` output (unknown keys ignored)."""
        known = {f.name for f in fields(cls)}
        data = {k: v for k, v in data.items() if k in known}
        if "variants" in data:  # stored variants, or lines as typed on the page ("mlp 512-256 bn")
            data["variants"] = tuple(parse_variant(v) if isinstance(v, str) else Variant(**v) for v in data["variants"])
        if data.get("halving"):
            data["halving"] = Halving(**data["halving"])
        for key in ("datasets", "optimizers", "learning_rates", "batch_sizes", "epochs", "seeds", "lr_range"):
            if data.get(key) is not None:
                data[key] = tuple(data[key])
        return cls(**data)


@functools.cache
def _schema():
    """SweepSpec's own annotations as a strict pydantic model for JSON: an architecture may be a line
    ("mlp 512-256 bn") or a mapping, and halving a mapping."""
    return strict_model(SweepSpec, "SweepSpecSchema", variants=tuple[str | dict, ...], halving=dict | None)


def parse_spec(data) -> SweepSpec:
    """A sweep spec from JSON (`python -m core sweep start --spec`), checked for types and unknown
    keys first, so "epochs": ["ten"] or a misspelt key is refused in one line naming the field."""
    if not isinstance(data, dict):
        raise SweepError("spec: must be one JSON object of settings")
    error = first_error(_schema(), {**SweepSpec().to_dict(), **data}, "a sweep", as_json=True)
    if error:
        raise SweepError(f"{error[0]}: {error[1]}")
    return SweepSpec.from_dict(data)


@dataclass(frozen=True)
class Trial:
    """One run of a sweep: its config and the hyperparameter values it stands for."""

    config: TrainConfig
    params: dict  # axis -> value as shown in the results table


# -- expansion ---------------------------------------------------------------------------------
def _check_axes(spec: SweepSpec) -> None:
    for name, label in (("datasets", "datasets"), ("variants", "architectures"), ("optimizers", "optimizers"),
                        ("batch_sizes", "batch sizes"), ("epochs", "epochs"), ("seeds", "seeds")):
        if not getattr(spec, name):
            raise SweepError(f"{label}: choose at least one")
    unknown = [o for o in spec.optimizers if o not in OPTIMIZER_CHOICES]
    if unknown:
        raise SweepError(f"optimizers: unknown {unknown[0]!r}; choose from {', '.join(OPTIMIZER_CHOICES)}")
    if spec.mode not in ("grid", "random"):
        raise SweepError(f"mode: must be 'grid' or 'random'; got {spec.mode!r}")
    for rates in (spec.learning_rates, *spec.per_optimizer_lr.values()):
        if not rates:
            raise SweepError("learning rates: choose at least one")
        if not all(_rate(lr) for lr in rates):
            raise SweepError(f"learning rates: every value must be a number above 0 and at most {MAX_LEARNING_RATE:g}")
    if spec.lr_range is not None and not (len(spec.lr_range) == 3 and _rate(spec.lr_range[0]) and
                                          _rate(spec.lr_range[1]) and spec.lr_range[0] < spec.lr_range[1] and
                                          _whole_in(spec.lr_range[2], 2, 20)):
        raise SweepError(f"lr_range: must be [low, high, points] with 0 < low < high ≤ {MAX_LEARNING_RATE:g} and 2 "
                         f"to 20 points; got {list(spec.lr_range)!r}")
    for name, value, low, high in (("trials", spec.trials, 1, None), ("search seed", spec.search_seed, 0, 2**31 - 1)):
        if not _whole_in(value, low, high):
            raise SweepError(f"{name}: must be a whole number from {low}{f' to {high}' if high else ' up'}; "
                             f"got {value!r}")
    if spec.retrain_epochs is not None and not _whole_in(spec.retrain_epochs, 1, None):
        raise SweepError(f"retrain the best: epochs must be a whole number from 1 up; got {spec.retrain_epochs!r}")
    if spec.halving and not (_whole_in(spec.halving.eta, 2, 10) and _whole_in(spec.halving.min_epochs, 1, None)):
        raise SweepError("early stopping: keep 1 in η (a whole number from 2 to 10) at rungs from epoch 1 or "
                         f"later; got η={spec.halving.eta!r}, first check at epoch {spec.halving.min_epochs!r}")


MAX_SWEEP_NAME = 60


def _sweep_name(text: str) -> str:
    name = text.strip()
    if len(name) > MAX_SWEEP_NAME:
        raise SweepError(f"name: must be at most {MAX_SWEEP_NAME} characters; got {len(name)}")
    return name


def _rate(value) -> bool:
    """A learning rate a run takes (TrainConfig's rule: above 0, at most MAX_LEARNING_RATE)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value <= MAX_LEARNING_RATE


def _whole_in(value, low: int, high: int | None) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= (high if high else value)


def _param_grid(spec: SweepSpec, sample: bool) -> list[dict]:
    """scikit-learn parameter dicts: one per optimizer, each with its learning rates."""
    from scipy.stats import loguniform

    grids = []
    for optimizer in spec.optimizers:
        if optimizer in spec.per_optimizer_lr:
            rates = list(spec.per_optimizer_lr[optimizer])
        elif sample and spec.lr_range:
            rates = loguniform(spec.lr_range[0], spec.lr_range[1])
        else:
            rates = list(spec.learning_rates)
        grids.append({"dataset": list(spec.datasets), "variant": list(range(len(spec.variants))),
                      "optimizer": [optimizer], "learning_rate": rates, "batch_size": list(spec.batch_sizes),
                      "epochs": list(spec.epochs), "seed": list(spec.seeds)})
    return grids


def run_count(spec: SweepSpec) -> int:
    """How many runs the spec makes, without building them."""
    from sklearn.model_selection import ParameterGrid

    _check_axes(spec)
    grid_size = len(ParameterGrid(_param_grid(spec, sample=False)))
    if spec.mode == "grid":
        return grid_size
    # Drawing from a continuous range can go on for ever; from lists only, each point is drawn once.
    continuous = spec.lr_range is not None and any(o not in spec.per_optimizer_lr for o in spec.optimizers)
    return spec.trials if continuous else min(spec.trials, grid_size)


def expand(spec: SweepSpec, max_runs: int) -> list[Trial]:
    """Every trial of the sweep, in a stable order; SweepError above `max_runs` (nothing built)."""
    from sklearn.model_selection import ParameterGrid, ParameterSampler

    count = run_count(spec)
    if spec.mode == "random" and not 1 <= spec.trials <= max_runs:
        raise SweepError(f"trials: must be from 1 to {max_runs} (TRAINLAB_MAX_SWEEP_RUNS); got {spec.trials}")
    if count > max_runs:
        raise SweepError(f"sweep: {count:,} runs is more than the cap of {max_runs} (TRAINLAB_MAX_SWEEP_RUNS); "
                         "drop some values or use random search with a trial budget")
    if spec.mode == "grid":
        points = list(ParameterGrid(_param_grid(spec, sample=False)))
    else:
        points = list(ParameterSampler(_param_grid(spec, sample=True), n_iter=count, random_state=spec.search_seed))
    return [_trial(spec, point) for point in points]


def _trial(spec: SweepSpec, point: dict) -> Trial:
    variant = spec.variants[point["variant"]]
    optimizer, momentum, nesterov = OPTIMIZER_CHOICES[point["optimizer"]]
    lr = float(f"{float(point['learning_rate']):.3g}")
    config = TrainConfig(
        dataset=point["dataset"], architecture=variant.architecture, arch_options=dict(variant.options),
        optimizer=optimizer, momentum=momentum, nesterov=nesterov, learning_rate=lr,
        batch_size=int(point["batch_size"]), epochs=int(point["epochs"]), seed=int(point["seed"]),
        **{k: v for k, v in spec.shared.items() if k in SHARED_FIELDS},
    )
    params = {"dataset": point["dataset"], "architecture": variant.label, "optimizer": point["optimizer"],
              "learning_rate": lr, "batch_size": int(point["batch_size"]), "epochs": int(point["epochs"]),
              "seed": int(point["seed"])}
    name = f"{spec.name or 'sweep'} · {variant.label} · {point['optimizer']} lr={lr:g} · bs {point['batch_size']}"
    return Trial(replace(config, name=name[:120]), params)


# -- presets -----------------------------------------------------------------------------------
ETA_HELP = ("Successive halving keeps the best 1 in η trials at each check (by validation accuracy) and stops "
            "the rest: η = 3 keeps a third, then a third of those, and so on.")
ASSIGNMENT_TARGETS = {"mnist": 0.985, "fashion_mnist": 0.905}


def assignment_preset(datasets: tuple[str, ...] = ("mnist", "fashion_mnist")) -> SweepSpec:
    """The course assignment: three structures (one with Dropout, one with BatchNormalization,
    one CNN with both) × SGD+momentum, Adam and RMSprop × two learning rates each, with a
    random (stratified, seeded) train/validation split; the rate decays (cosine) over each run."""
    return SweepSpec(
        name="assignment", mode="grid", datasets=datasets,
        variants=parse_variants("mlp 512-256 dropout=0.2\nmlp 512-256 bn\n"
                                "cnn 32x1p-64x1p bn dropout=0.3 flatten dense=128"),
        optimizers=("sgd_momentum", "adam", "rmsprop"),
        learning_rates=(1e-3, 3e-4),
        per_optimizer_lr={"sgd_momentum": (0.05, 0.01), "adam": (1e-3, 3e-4), "rmsprop": (1e-3, 3e-4)},
        batch_sizes=(128,), epochs=(10,), seeds=(42,),
        shared={"validation_split": 0.2, "split_mode": "random", "lr_schedule": "cosine"},
        halving=None,
    )


ASSIGNMENT_DATASETS = {"mnist": "MNIST", "fashion_mnist": "Fashion-MNIST"}


def assignment_for(available: list[str], titles: dict[str, str]) -> tuple[SweepSpec, str]:
    """The assignment preset on the assignment's datasets this machine has (else on the first one it
    has), and a one-line note of what was left out and why ("" when nothing was)."""
    chosen = tuple(d for d in ASSIGNMENT_DATASETS if d in available)
    missing = [ASSIGNMENT_DATASETS[d] for d in ASSIGNMENT_DATASETS if d not in available]
    if not chosen:
        chosen = tuple(available[:1])
    note = ""
    if missing:
        used = " and ".join(titles.get(d, d) for d in chosen)
        note = (f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} not on this machine, so the preset "
                f"runs on {used} only; get {'it' if len(missing) == 1 else 'them'} on the Data page to sweep the "
                "assignment's datasets.")
    return assignment_preset(chosen), note


# The hyperparameters a trial is described by, and the score trials are ranked on (never test accuracy).
PARAM_COLUMNS = ("dataset", "architecture", "optimizer", "learning_rate", "batch_size", "epochs", "seed")
SCORE = "val_accuracy"


# -- the Sweeps page's form ----------------------------------------------------------------------
@dataclass(frozen=True)
class SweepForm:
    """A sweep as typed on the Sweeps page: lists as text, one architecture per line."""

    name: str = ""
    mode: str = "grid"
    datasets: tuple[str, ...] = ()
    architectures: str = "mlp\nmlp_bn"
    optimizers: tuple[str, ...] = ("sgd_momentum", "adam")
    learning_rates: str = "0.01, 0.001"
    per_optimizer_lr: str = ""
    batch_sizes: str = "64"
    epochs: str = "5"
    seeds: str = "42"
    trials: int = 20
    search_seed: int = 0
    shared: dict = field(default_factory=dict)
    halving: bool = False
    eta: int = 3
    min_epochs: int = 1

    def to_spec(self) -> SweepSpec:
        """Parse every field; SweepError names the first one that does not parse."""
        rates, lr_range = parse_learning_rates(self.learning_rates)
        return SweepSpec(
            name=_sweep_name(self.name), mode=self.mode, datasets=tuple(self.datasets),
            variants=parse_variants(self.architectures), optimizers=tuple(self.optimizers),
            learning_rates=rates, lr_range=lr_range, per_optimizer_lr=parse_per_optimizer_lr(self.per_optimizer_lr),
            batch_sizes=_positive(parse_numbers(self.batch_sizes, "batch sizes", int), "batch sizes"),
            epochs=_positive(parse_numbers(self.epochs, "epochs", int), "epochs"),
            # Numbers as typed (whole where whole): a value out of range is refused, never cut or replaced.
            seeds=parse_numbers(self.seeds, "seeds", int), trials=whole(self.trials),
            search_seed=whole(self.search_seed), shared=dict(self.shared),
            halving=Halving(whole(self.eta), whole(self.min_epochs)) if self.halving else None,
        )

    @classmethod
    def from_spec(cls, spec: SweepSpec) -> "SweepForm":
        """The form that shows `spec` (to load a preset or repeat a sweep)."""
        def join(values):
            return ", ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in values)

        rates = f"{spec.lr_range[0]:g}..{spec.lr_range[1]:g} x{spec.lr_range[2]}" if spec.lr_range \
            else join(spec.learning_rates)
        return cls(
            name=spec.name, mode=spec.mode, datasets=tuple(spec.datasets),
            architectures="\n".join(v.label for v in spec.variants), optimizers=tuple(spec.optimizers),
            learning_rates=rates,
            per_optimizer_lr="\n".join(f"{k}: {join(v)}" for k, v in spec.per_optimizer_lr.items()),
            batch_sizes=join(spec.batch_sizes), epochs=join(spec.epochs), seeds=join(spec.seeds),
            trials=spec.trials, search_seed=spec.search_seed, shared=dict(spec.shared),
            halving=spec.halving is not None, eta=spec.halving.eta if spec.halving else 3,
            min_epochs=spec.halving.min_epochs if spec.halving else 1,
        )


def _positive(values: tuple, field_name: str) -> tuple:
    if any(v < 1 for v in values):
        raise SweepError(f"{field_name}: every value must be 1 or more; got {', '.join(map(str, values))}")
    return values
