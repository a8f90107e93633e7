"""What a reporter may say about a run it trains outside Train Lab (a student's own script or notebook,
core/services/tracking.py), checked before anything is stored: every field bounded, every name from a small
alphabet, every number finite. The same checks serve a reporter on this machine and one on the class's server's
JSON API, so a request from a student's laptop is never trusted more than a page's form."""
from __future__ import annotations

import math
from typing import Annotated, Literal, Union

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, ValidationError, model_validator

from core.domain.statuses import CANCELLED, FAILED, SUCCEEDED
from core.domain.strict import WORDS as _WORDS
from core.errors import Refusal

MAX_POINTS_PER_REPORT = 2000  # one report carries at most this many points (a reporter sends every half second)
MAX_POINTS_PER_RUN = 200_000  # a run of 100 epochs of 2,000 points each: a script cannot fill the disk
MAX_LAYERS = 1000
MAX_METRICS_PER_RUN = 64  # distinct metric names: Keras' compile metrics, each also as val_
CLIENT_KEY = r"^[0-9a-f]{32}$"  # a reporter's own name for one fit call (a uuid4's hex): a start sent again finds it
METRIC_NAME = r"^[A-Za-z][A-Za-z0-9_./-]{0,63}$"

MAX_VALUE = 1e12  # a metric's magnitude: past it a chart's axis is useless (the client leaves such points out)
MAX_POINTS_PER_OWNER = 2_000_000  # every tracked run of one student together (~100 MB): the disk stays bounded
MAX_STARTS_PER_HOUR = 120  # tracked runs one student may start in an hour


def _printable(text: str) -> str:
    """Refuse control and direction characters (NUL, a right-to-left override): a name must read as it is."""
    if not text.isprintable():
        raise ValueError("must be printable text (no control or direction characters)")
    return text


Text = Annotated[str, StringConstraints(max_length=200), AfterValidator(_printable)]
ShortText = Annotated[str, StringConstraints(max_length=64), AfterValidator(_printable)]
MetricName = Annotated[str, StringConstraints(pattern=METRIC_NAME)]
Finite = Annotated[float, Field(allow_inf_nan=False, ge=-MAX_VALUE, le=MAX_VALUE)]
Count = Annotated[int, Field(ge=0, le=10**12)]
Setting = Union[bool, int, Finite, ShortText, None]
_TYPE_TAGS = {"bool", "int", "float", "str", "none", "list", "dict"}


class TrackedRunRefused(Refusal, ValueError):
    """A reporter's request that cannot be stored as it is; the message names the field and the fix."""


class _Strict(BaseModel):
    # strict: `true` is not an epoch count and "5" not a number, as a page's form would not take them either
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


def is_share(name: str) -> bool:
    """Whether metric `name` is a share between 0 and 1 (an accuracy, validation's too, in any case; Keras' combined
    compile metrics, which a test result may name its accuracy): more is a lie."""
    lowered = name.lower()
    return "acc" in lowered or lowered == "compile_metrics"


BLANKS = {"\u115f", "\u1160", "\u3164", "\u2800", "\uffa0", "\u2063", "\u180e"}  # letters that show nothing


def _visible(text: str) -> str:
    """Refuse a name that shows nothing (spaces, or letters drawn blank such as the Hangul filler)."""
    if not any(not ch.isspace() and ch not in BLANKS for ch in text):
        raise ValueError("must show something (it is blank, or made of characters drawn blank)")
    return text


class Layer(_Strict):
    """One row of the model's layer table, as Keras' summary shows it."""

    name: Text
    type: ShortText
    output: Text = ""
    params: Count = 0


class RunStart(_Strict):
    """What a reporter knows when `fit` begins: the run's name, where it came from and its settings."""

    key: Annotated[str, StringConstraints(pattern=CLIENT_KEY)]
    name: Annotated[str, StringConstraints(min_length=1, max_length=120), AfterValidator(_printable),
                    AfterValidator(_visible)]
    script: Text = ""  # the script's file name ("" in a notebook)
    args: Annotated[list[Text], Field(max_length=50)] = []
    dataset: ShortText = ""
    model_name: ShortText = ""
    epochs: Annotated[int, Field(ge=1, le=100_000)]
    steps: Annotated[int, Field(ge=0, le=10_000_000)] = 0  # batches per epoch (0: not known)
    batch_size: Annotated[int, Field(ge=1, le=10**7)] | None = None
    optimizer: ShortText = ""
    learning_rate: Annotated[float, Field(ge=0, le=1e6, allow_inf_nan=False)] | None = None
    optimizer_settings: Annotated[dict[ShortText, Setting], Field(max_length=40)] = {}
    train_samples: Annotated[int, Field(ge=0, le=10**10)] | None = None
    validation_samples: Annotated[int, Field(ge=0, le=10**10)] | None = None
    input_shape: Annotated[list[Annotated[int, Field(ge=0, le=10**7)] | None], Field(max_length=8)] = []
    param_count: Count = 0
    layers: Annotated[list[Layer], Field(max_length=MAX_LAYERS)] = []
    pid: Annotated[int, Field(ge=0, le=2**31)] = 0
    host: Annotated[str, StringConstraints(max_length=100), AfterValidator(_printable)] = ""
    keras_version: ShortText = ""

    @model_validator(mode="after")
    def _layers_within_count(self):
        """The parameter count the class's limit is checked against is at least its layers' own."""
        if sum(layer.params for layer in self.layers) > self.param_count:
            raise ValueError("param_count: fewer than its layers' parameters together; send the model's count")
        return self


class Point(_Strict):
    """One metric value at one moment of training (core.store.runs.MetricPoint's fields)."""

    kind: Literal["batch", "epoch", "system"]  # test figures come with a test request, counted by the server
    step: Annotated[int, Field(ge=0, le=10**10)]
    epoch: Annotated[float, Field(ge=0, le=10**6, allow_inf_nan=False)]
    elapsed: Annotated[float, Field(ge=0, le=10**8, allow_inf_nan=False)]
    name: MetricName
    value: Finite

    @model_validator(mode="after")
    def _shares_within_one(self):
        if is_share(self.name) and not 0 <= self.value <= 1:
            raise ValueError(f"value: {self.name} is a share between 0 and 1; got {self.value}")
        return self


class Report(_Strict):
    """A batch of points and where training is, sent every half second or so; it is also the heartbeat.
    `seq` numbers a reporter's reports from 1: one sent again (its answer was lost) is not stored twice."""

    run: Annotated[int, Field(ge=1, le=2**62)]
    key: Annotated[str, StringConstraints(pattern=CLIENT_KEY)]
    seq: Annotated[int, Field(ge=0, le=10**9)]  # 0: a heartbeat without points
    points: Annotated[list[Point], Field(max_length=MAX_POINTS_PER_REPORT)] = []
    epoch: Annotated[int, Field(ge=0, le=100_000)] = 0
    batch: Annotated[int, Field(ge=0, le=10_000_000)] = 0
    progress: Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)] = 0.0
    eta_seconds: Annotated[float, Field(ge=0, le=10**8, allow_inf_nan=False)] | None = None
    offline_seconds: Annotated[float, Field(ge=0, le=10**8, allow_inf_nan=False)] = 0.0


class RunEnd(_Strict):
    """How `fit` ended, said by the reporter itself."""

    run: Annotated[int, Field(ge=1, le=2**62)]
    key: Annotated[str, StringConstraints(pattern=CLIENT_KEY)]
    status: Literal[SUCCEEDED, FAILED, CANCELLED]
    error: Annotated[str, StringConstraints(max_length=2000)] | None = None
    train_seconds: Annotated[float, Field(ge=0, le=10**8, allow_inf_nan=False)] | None = None


class TestResult(_Strict):
    """What `model.evaluate` returned after `fit`: the run's test metrics (loss, accuracy, …)."""

    run: Annotated[int, Field(ge=1, le=2**62)]
    key: Annotated[str, StringConstraints(pattern=CLIENT_KEY)]
    metrics: Annotated[dict[MetricName, Finite], Field(max_length=MAX_METRICS_PER_RUN)]

    @model_validator(mode="after")
    def _shares_within_one(self):
        for name, value in self.metrics.items():
            if is_share(name) and not 0 <= value <= 1:
                raise ValueError(f"metrics.{name}: a share between 0 and 1; got {value}")
        return self


def checked(model: type[_Strict], data: object, what: str):
    """`data` (a request's JSON) as `model`, or TrackedRunRefused naming the first field that is wrong."""
    if not isinstance(data, dict):
        raise TrackedRunRefused(f"{what}: must be a JSON object; got {type(data).__name__}")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
    # The path to the value, nested fields and list indexes kept, the names pydantic gives a union's members
    # ("constrained-float", "int") left out.
    path = ".".join(str(p) for p in error["loc"] if isinstance(p, int) or p.isidentifier() and p not in _TYPE_TAGS)
    if error["type"] == "value_error":  # one of this module's own rules: its message names the field already
        rule = str(error["ctx"]["error"])
        field, _, words = rule.partition(": ") if rule.split(":")[0].replace(".", "").isidentifier() else ("", "", rule)
        path = ".".join(part for part in (path, field) if part)
        raise TrackedRunRefused(f"{what}{'.' if path else ''}{path}: {words}"[:300]) from None
    words = _WORDS.get(error["type"], error["msg"][:1].lower() + error["msg"][1:]).replace("{what}", what)
    raise TrackedRunRefused(f"{what}.{path}: {words}; got {error.get('input')!r}"[:300]) from None


def run_config(start: RunStart) -> dict:
    """The run's settings as the Runs page compares them: the keys a Train Lab run has (dataset, architecture,
    optimizer, learning rate, batch size, epochs) where they apply, and what only a script has."""
    return {
        "dataset": start.dataset,
        "architecture": f"{start.model_name or 'model'} (own code)",
        "optimizer": start.optimizer,
        "learning_rate": start.learning_rate,
        "batch_size": start.batch_size,
        "epochs": start.epochs,
        "script": start.script,
        "script_args": list(start.args),
        "input_shape": list(start.input_shape),
        "train_samples": start.train_samples,
        "validation_samples": start.validation_samples,
        "optimizer_settings": dict(start.optimizer_settings),
    }


def stopped_reporting(epoch: int, silent_seconds: float) -> str:
    """Why a tracked run whose reporter went silent failed: the true reason, in the run's own words."""
    return (f"the script stopped reporting at epoch {max(1, epoch)} (no word for {silent_seconds:.0f} s: it was "
            "killed, its notebook kernel died, or its machine left the network)")


def ended_unsaid(pid: int, epoch: int) -> str:
    """Why a tracked run whose script's process ended on this machine, without saying how, failed."""
    return f"the script (process {pid}) ended at epoch {max(1, epoch)} without reporting how (killed, or it crashed)"


def offline_note(seconds: float) -> str | None:
    """'offline for 3 min; its points arrived later' for a run whose reporter could not reach the store."""
    if not math.isfinite(seconds) or seconds < 1:
        return None
    minutes = seconds / 60
    span = f"{seconds:.0f} s" if seconds < 120 else f"{minutes:.0f} min"
    return f"its script could not reach Train Lab for {span} in all; the points of that time arrived later"
