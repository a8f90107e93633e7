"""Settings read from environment variables, in one place, with sane defaults.

Every knob a teacher or a test may want to turn lives here, so nothing else in the
project reads `os.environ` for configuration. The one schema is `Settings`, a pydantic-settings
model: each field is read from `TRAINLAB_<FIELD>` (the Keras cache from `KERAS_HOME`), and a value
that cannot be read is refused with one line naming the variable.
"""
from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from core.errors import Refusal

PROJECT_ROOT = Path(__file__).resolve().parent.parent  # the checkout: app.py, core/, assets/
ENV_PREFIX = "TRAINLAB_"


def _at_least(low: int) -> AfterValidator:
    """A validator that raises a value below `low` to `low` (e.g. 0 workers means one)."""
    def clamp(value: int) -> int:
        return max(low, value)

    clamp.low = low  # for the error message's range
    return AfterValidator(clamp)


def _database_url(url: str | None) -> str | None:
    """A PostgreSQL URL, or an error that says what one looks like."""
    if url is not None and not url.startswith(("postgresql://", "postgres://")):
        raise ValueError("must be a PostgreSQL URL such as postgresql://trainlab:secret@db-host:5432/trainlab "
                         "(unset it to keep the store in SQLite)")
    return url


UserPath = Annotated[Path, AfterValidator(Path.expanduser)]  # "~/lab" is the user's home's lab
AtLeastOne = Annotated[int, _at_least(1)]

# pydantic's error types in the words of a one-line message.
_WORDS = {"int_parsing": "must be a whole number", "int_from_float": "must be a whole number",
          "float_parsing": "must be a number", "bool_parsing": "must be true or false (1/0, on/off, yes/no)",
          "path_type": "must be a folder path", "extra_forbidden": "is not a setting"}


class SettingsError(Refusal, ValueError):
    """A setting (an environment variable) this Train Lab cannot use; the message names it and the fix."""


class Settings(BaseSettings):
    """Resolved configuration for one process: `Settings()` reads the environment (see `load_settings`)."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, env_ignore_empty=True, frozen=True, extra="forbid",
                                      populate_by_name=True)

    # The data folder: the run store (also the queue), run folders, logs.
    home: UserPath = Field(default_factory=lambda: Path.home() / ".trainlab")
    workers: AtLeastOne = 2  # how many runs train at the same time
    max_epochs: AtLeastOne = 200  # cap on epochs per run, so nobody queues a week-long job by accident
    max_sweep_runs: AtLeastOne = 200  # cap on the runs one sweep may queue
    # A worker holding more memory than this after a run is replaced by a fresh one.
    worker_max_mb: Annotated[int, _at_least(256)] = 1536
    heartbeat_interval: float = 2.0  # seconds between a worker's "still alive" writes
    heartbeat_timeout: float = 30.0  # a running run silent this long is marked failed
    report_interval: float = 0.5  # seconds between live metric points within an epoch
    poll_interval: float = 0.25  # seconds between the dispatcher's looks at the queue
    pool_idle_seconds: float = 1800.0  # a dispatcher with nothing queued or running this long ends (restarts on demand)
    store_busy_seconds: float = 30.0  # how long a process waits for another's write lock on the SQLite store
    autostart_workers: bool = True  # start the worker pool on demand from the app or the CLI
    # Training processes run at this niceness (0-19, as `nice`): with the cores busy, the web pages, the
    # dispatcher and your own programs go first; a run alone on an idle machine is as fast as at 0.
    worker_niceness: Annotated[int, Field(ge=0, le=19)] = 10
    # A run's training mode "auto" measures Keras' default against XLA on its first steps (once per model shape
    # and machine); off: "auto" trains as Keras' default, measuring nothing.
    measure_training_modes: bool = True
    # The Keras cache: `$KERAS_HOME` (Keras' own variable, so no TRAINLAB_ prefix), else ~/.keras.
    keras_home: UserPath = Field(default_factory=lambda: Path.home() / ".keras", validation_alias="KERAS_HOME")
    fashion_mnist_dir: Path = Path("/usr/share/datasets/fashion-mnist")  # Debian's dataset-fashion-mnist files
    # Image-folder datasets live below this; the browser can name nothing outside it. Default: home/datasets.
    data_root: UserPath = Field(default_factory=lambda data: data["home"] / "datasets")
    max_upload_mb: AtLeastOne = 200  # largest .npz / .zip a user may upload
    # Largest model (all parameters) a run or the Models page may build: 200 M float32 parameters are
    # 800 MB, about 3.2 GB while training with Adam's two moments.
    max_params: AtLeastOne = 200_000_000
    # A user's own photos, offered on the Augment page beside the shipped dog and cat (the course's
    # photos ship in assets/ and need no setting).
    samples_dir: UserPath | None = None
    # Classroom mode: sign-in, owners and permissions (README: Running a class). Off on a laptop.
    classroom: bool = False
    session_hours: Annotated[float, Field(gt=0)] = 12.0  # a sign-in lasts this long (a school day)
    # The run store on a PostgreSQL server (postgresql://user:password@host:5432/db), for a lab whose
    # workers run on several machines; unset: SQLite in `home` (README: Running on several machines).
    db_url: Annotated[str | None, AfterValidator(_database_url)] = None
    # Who trains the runs: this machine's worker pool ("local"), or a Ray cluster ("ray": the pool's
    # process becomes the cluster's dispatcher; README: Running on several machines).
    executor: Literal["local", "ray"] = "local"
    ray_address: str = "auto"  # the cluster: "auto" (the `ray start --head` on this machine), host:6379, ray://host:10001
    run_cpus: AtLeastOne = 2  # CPU threads each run asks the Ray cluster for (and trains with)
    run_gpus: Annotated[int, Field(ge=0, le=1)] = 0  # GPUs each run asks the Ray cluster for: 0 or 1
    # Models, predictions and TensorBoard files; on a cluster, a folder every node mounts at the same path.
    artifacts: UserPath | None = None

    def __init__(self, **values: Any):
        try:
            super().__init__(**values)
        except ValidationError as exc:
            raise SettingsError(_one_line(exc)) from None

    @model_validator(mode="before")
    @classmethod
    def _blank_is_unset(cls, data: Any) -> Any:
        """A variable set to spaces is left at its default, as an empty one is; values lose outer spaces."""
        if not isinstance(data, dict):
            return data
        stripped = {k: v.strip() if isinstance(v, str) else v for k, v in data.items()}
        return {k: v for k, v in stripped.items() if v != ""}

    @property
    def db_path(self) -> Path:
        """The SQLite run store (when no `db_url` is set)."""
        return self.home / "trainlab.db"

    @property
    def store_location(self) -> str | Path:
        """Where the run store is: the PostgreSQL URL if one is set, else the SQLite file."""
        return self.db_url or self.db_path

    @property
    def uploads_dir(self) -> Path:
        """Uploaded .npz datasets (zips are unpacked below `data_root/uploads`)."""
        return self.home / "uploads"

    @property
    def runs_dir(self) -> Path:
        """Folder holding one sub-folder per run (model file, predictions, TensorBoard files): `artifacts`
        when set (shared by a cluster's nodes), else home/runs."""
        return self.artifacts or self.home / "runs"

    @property
    def models_dir(self) -> Path:
        """Students' checked model files, <id>.keras, beside the runs' folders (a Ray node's workers read them where
        they write their runs: the artifacts folder when set, else home/runs)."""
        return self.runs_dir / "models"

    @property
    def logs_dir(self) -> Path:
        """Folder for the worker pool's log file."""
        return self.home / "logs"


def env_name(field: str) -> str:
    """The environment variable a setting is read from ("workers" -> "TRAINLAB_WORKERS")."""
    info = Settings.model_fields.get(field)
    if info is None:  # already a variable's name (an alias such as KERAS_HOME)
        return field
    alias = info.validation_alias
    return alias if isinstance(alias, str) else ENV_PREFIX + field.upper()


def _one_line(exc: ValidationError) -> str:
    """"TRAINLAB_WORKERS: must be a whole number; got 'two'" for the first value the model refused."""
    errors = [e for e in exc.errors() if e["type"] != "default_factory_not_called"] or exc.errors()
    error = errors[0]
    field = str(error["loc"][0]) if error["loc"] else "settings"
    words = _WORDS.get(error["type"], error["msg"][:1].lower() + error["msg"][1:])
    info = Settings.model_fields.get(field)
    lows = [m.func.low for m in (info.metadata if info else ()) if hasattr(getattr(m, "func", None), "low")]
    if lows and error["type"].startswith("int"):
        words += f" from {lows[0]} up"
    name = env_name(field)
    return f"{name}: {words}; got {error['input']!r}"[:300]


def load_settings() -> Settings:
    """The settings the environment gives now (cheap; call it where needed); ValueError names a bad variable.

    Parsing the environment with pydantic-settings takes about a millisecond, and a live page asks for
    the settings many times per refresh for every watching browser: the parsed settings are kept for as
    long as the variables they read (and HOME, behind the defaults) stay the same."""
    read = tuple(sorted((k, v) for k, v in os.environ.items()
                        if k.upper() in _READ or k.upper().startswith(ENV_PREFIX)))
    return _settings_for(read)


# Variables outside the prefix that the settings depend on; pydantic-settings reads names in any case.
_READ = frozenset({"HOME", "KERAS_HOME"})


@functools.lru_cache(maxsize=16)
def _settings_for(environment: tuple[tuple[str, str], ...]) -> Settings:
    """Settings() reads os.environ itself; `environment`, what it reads there, is only the cache key."""
    return Settings()


# Settings that describe the node itself: a task keeps the node's own values, never the head's.
NODE_LOCAL = frozenset({"TRAINLAB_HOME", "TRAINLAB_DATA_ROOT", "TRAINLAB_FASHION_MNIST_DIR", "TRAINLAB_SAMPLES_DIR",
                        "TRAINLAB_EXECUTOR", "TRAINLAB_RAY_ADDRESS", "KERAS_HOME"})


def settings_for_node(settings: Settings, environ: dict[str, str] | None = None) -> dict[str, str]:
    """The settings a run's task on another machine (a Ray node) takes from the head: every TRAINLAB_ variable
    except the node-local ones, and where artifacts go (the head's folder: a shared mount, or this machine).
    On SQLite (one machine) the head's home travels too, since the store is a file in it."""
    environ = dict(os.environ if environ is None else environ)
    env = {k: v for k, v in environ.items() if k.startswith(ENV_PREFIX) and k not in NODE_LOCAL}
    env["TRAINLAB_ARTIFACTS"] = str(settings.runs_dir)
    if not settings.db_url:
        env["TRAINLAB_HOME"] = str(settings.home)
    return env
