"""Command-line entry point: `python -m core submit|list|follow|cancel|delete|sweep|worker|workers|cluster|users|serve`.

It calls the same `core` functions as the pages, so a run started here shows up there.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
import typing
from dataclasses import Field, fields
from pathlib import Path

from core.cli.classroom import CLASSROOM_COMMANDS, add_classroom_commands
from core.cli.cluster import CLUSTER_COMMANDS, add_cluster_commands
from core.cli.models import MODEL_COMMANDS, add_model_commands
from core.cli.tracking import TRACKING_COMMANDS, add_tracking_commands
from core.data.datasets import catalog
from core.data.keras_cache import KERAS_DATASETS, download
from core.domain.augment import PRESETS, preset
from core.domain.config import ConfigError, TrainConfig, parse_config
from core.domain.people import OPERATOR
from core.domain.run_query import run_number as parse_run_number
from core.domain.statuses import SUCCEEDED
from core.errors import Refusal
from core.runtime import worker
from core.services import jobs
from core.services.bugs import report_bug
from core.settings import load_settings
from core.views.display import count, duration, percent, progress_text


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m core", description="Train Lab from the command line.")
    sub = parser.add_subparsers(dest="command", required=True)
    _add_submit(sub)
    sub.add_parser("list", help="list runs").add_argument("--limit", type=int, default=20)
    for name, text in (("show", "a run's details as JSON"), ("follow", "print progress until the run ends"),
                       ("cancel", "cancel a queued or running run"), ("delete", "delete a finished run")):
        sub.add_parser(name, help=text).add_argument("run_id", type=run_number)
    _add_sweep(sub)
    add_classroom_commands(sub)
    add_cluster_commands(sub)
    add_tracking_commands(sub)
    add_model_commands(sub)
    sub.add_parser("datasets", help="datasets and whether this machine has them")
    sub.add_parser("download", help="download a Keras dataset into the Keras cache (needs network)").add_argument(
        "dataset", choices=sorted(KERAS_DATASETS))
    sub.add_parser("worker", help="run the worker pool in the foreground").add_argument(
        "--cold", action="store_true", help="start its workers only once a run is queued (it watches tracked runs)")
    pool = sub.add_parser("workers", help="start, stop or inspect the background worker pool")
    pool.add_argument("action", choices=("start", "stop", "status"))
    sub.add_parser("backup", help="copy the run store while the lab runs (SQLite online backup)").add_argument(
        "destination", nargs="?", type=Path, default=None, help="a file or folder (default: <home>/backups/)")
    return parser


def _add_submit(sub) -> None:
    submit = sub.add_parser("submit", help="queue a training run")
    submit.add_argument("--config", type=argparse.FileType("r"), default=None,
                        help="a run's config JSON (the Runs page's download); other flags given override it")
    add_config_flags(submit)
    submit.add_argument("--follow", action="store_true", help="follow the run until it ends")


# Flags a field has besides --field-name (the short names the course notes use).
ALIASES = {"architecture": ("--arch",), "learning_rate": ("--lr",), "arch_options": ("--options",),
           "augmentation": ("--augment",)}


def pipeline(text: str) -> list:
    """'dog', 'cat', or JSON steps like '[{"layer": "RandomFlip", "params": {}}]'."""
    return preset(text) if text in PRESETS else json.loads(text)


# Fields whose flag text is read by a reader of their own (else by their type; JSON for a dict or a
# list), with what the text may be.
READERS = {"augmentation": (pipeline, f"{', '.join(PRESETS)} (the course presets) or a JSON list of steps")}


def _flag_type(cls, f: Field) -> type:
    """The type a field's flag reads: its annotation, without the None of an optional field."""
    hint = typing.get_type_hints(cls)[f.name]
    kinds = [k for k in typing.get_args(hint) if k is not type(None)] or [hint]
    return typing.get_origin(kinds[0]) or kinds[0]


def add_config_flags(parser: argparse.ArgumentParser, cls=TrainConfig) -> None:
    """One flag per field of `cls` (`--batch-size` for batch_size), made from the dataclass itself: the
    type from the annotation, the help and the allowed keys from the field's metadata. A flag keeps the
    text it was given (parsed by `config_values`) and is absent from the namespace unless typed, so only
    the flags a user gave override a --config file."""
    defaults = cls()
    for f in fields(cls):
        kind = _flag_type(cls, f)
        names = (f"--{f.name.replace('_', '-')}", *ALIASES.get(f.name, ()))
        words = [f.metadata.get("help", "")]
        choices = f.metadata.get("choices", ())
        if f.name in READERS:
            words.append(READERS[f.name][1])
        elif kind in (dict, list):
            words.append("as JSON")
        elif getattr(defaults, f.name) not in (None, ""):
            words.append(f"default {getattr(defaults, f.name)}")
        text = "; ".join(w for w in words if w).replace("%", "%%")
        if kind is bool:
            parser.add_argument(*names, dest=f.name, action=argparse.BooleanOptionalAction, default=argparse.SUPPRESS,
                                help=text)
        else:
            metavar = "{" + ",".join(sorted(choices)) + "}" if choices else f.name.upper()
            parser.add_argument(*names, dest=f.name, default=argparse.SUPPRESS, metavar=metavar, help=text)


def _read(cls, f: Field, text):
    """A flag's text as the field's type; ConfigError naming the field if it cannot be read."""
    kind = _flag_type(cls, f)
    if not isinstance(text, str) or kind is str:  # a flag (--nesterov / --no-nesterov) or text
        return text
    reader, allowed = READERS.get(f.name, (json.loads, "JSON") if kind in (dict, list) else (kind, ""))
    try:
        return reader(text)
    except ValueError as exc:  # json.JSONDecodeError is one too
        words = {int: "must be a whole number", float: "must be a number"}.get(kind) or f"must be {allowed} ({exc})"
        raise ConfigError(f.name, f"{words}; got {text!r}") from None


def config_values(args: argparse.Namespace, cls=TrainConfig) -> dict:
    """The fields of `cls` whose flags were given, read as their types."""
    return {f.name: _read(cls, f, getattr(args, f.name)) for f in fields(cls) if hasattr(args, f.name)}


def _add_sweep(sub) -> None:
    sweep = sub.add_parser("sweep", help="start, list, show, cancel or retrain hyperparameter sweeps")
    sweep.add_argument("action", choices=("start", "list", "show", "cancel", "retrain"))
    sweep.add_argument("sweep_id", type=run_number, nargs="?", help="show, cancel, retrain: which sweep")
    sweep.add_argument("--spec", type=argparse.FileType("r"), help="start: a sweep spec as JSON")
    sweep.add_argument("--preset", choices=("assignment",), help="start: the course assignment's grid")
    sweep.add_argument("--datasets", nargs="+", help="start: replace the spec's datasets")
    sweep.add_argument("--epochs", type=int, help="start: epochs per trial; retrain: epochs of the retrain")
    sweep.add_argument("--train-subset", type=int, help="start: training samples per trial")
    sweep.add_argument("--halving", type=int, metavar="EPOCH", help="start: stop poor trials from this epoch on")
    sweep.add_argument("--cpus", type=int, help="start: CPUs each trial asks the Ray cluster for")
    sweep.add_argument("--gpus", type=int, help="start: GPUs each trial asks the Ray cluster for (0 or 1)")
    sweep.add_argument("--dry-run", action="store_true", help="start: print the runs and the estimate only")
    sweep.add_argument("--dataset", help="retrain: the dataset whose best trial to retrain")
    sweep.add_argument("--retrain-best", type=int, metavar="EPOCHS",
                       help="start: once a dataset's trials have all ended, retrain its best setting on all its "
                            "training data for EPOCHS epochs, by itself")


def _config_from(args: argparse.Namespace) -> TrainConfig:
    given = config_values(args)
    if args.config is None:
        return parse_config(given)
    try:
        base = json.load(args.config)
    except json.JSONDecodeError as exc:
        raise ConfigError("config", f"{args.config.name} is not JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(base, dict):
        raise ConfigError("config", f"{args.config.name} must hold one JSON object of settings")
    return parse_config({**base, **given})  # the flags the user typed override the file


def _follow(run_id: int, interval: float = 1.0) -> int:
    last = None
    while True:
        run = jobs.get_run(run_id)
        if run is None:
            print(f"run: there is no run #{run_id}", file=sys.stderr)
            return 2
        line = f"#{run.id} {progress_text(run)}"
        if line != last:
            print(line, flush=True)
            last = line
        if run.is_finished:
            if run.error:
                print(f"#{run.id} {run.status}: {run.error}")
            else:
                print(f"#{run.id} {run.status}: test accuracy {percent(run.test_accuracy)}, "
                      f"test loss {run.test_loss if run.test_loss is not None else '—'}, "
                      f"{count(run.param_count)} parameters, trained in {duration(run.train_seconds)}")
            return 0 if run.status == SUCCEEDED else 1
        time.sleep(interval)


def _submit(args, parser) -> int:
    run_id = jobs.submit(_config_from(args), actor=OPERATOR)
    print(f"run #{run_id} queued")
    return _follow(run_id) if args.follow else 0


def _list(args, parser) -> int:
    for run in jobs.list_runs(limit=args.limit, actor=OPERATOR):  # the server's shell: a teacher's rights
        print(f"#{run.id:<5} {run.status:<10} {percent(run.test_accuracy):>9}  {run.name}  [{progress_text(run)}]")
    return 0


def _show(args, parser) -> int:
    run = jobs.get_run(args.run_id, actor=OPERATOR)
    if run is None:
        raise jobs.JobError(f"run: there is no run #{args.run_id}")
    print(json.dumps({**run.__dict__, "config": run.config_dict}, indent=2))
    mode = jobs.training_mode_text(run)
    if mode:
        print(f"training mode: {mode}")
    return 0


def _cancel(args, parser) -> int:
    print(f"run #{args.run_id}: {jobs.cancel(args.run_id, actor=OPERATOR)}")
    return 0


def _delete(args, parser) -> int:
    jobs.delete(args.run_id, actor=OPERATOR)
    print(f"run #{args.run_id} deleted")
    return 0


def _sweep(args, parser) -> int:
    from core.cli.sweeps import sweep_command

    return sweep_command(args)


def _datasets(args, parser) -> int:
    for d in catalog():
        state = "available" if d.available else f"missing: {d.hint}"
        print(f"{d.key:<14} {d.title:<32} {state}  ({d.location})")
    return 0


def _download(args, parser) -> int:
    print(f"{args.dataset} is in {download(args.dataset, load_settings())}")
    return 0


def run_number(text: str) -> int:
    """A run's or a sweep's number as typed (the rule is run_query's); argparse names this type in its one line."""
    value = parse_run_number(text)
    if value is None:
        raise ValueError(text)
    return value


def _worker(args, parser) -> int:
    from core.services import sweep_retrains

    # Between looks the dispatcher queues the retrains sweeps asked for once their search ends.
    return worker.run_pool(cold=args.cold, housekeeping=sweep_retrains.queue_due)


def _workers(args, parser) -> int:
    if args.action == "start":
        jobs.check_store()  # a damaged store is one line here, not a pool that starts and ends at once
        if not worker.ensure_running():
            print("worker pool already running")
            return 0
        pool = worker.wait_until_running()  # so that a `workers status` right after says the same
        if not pool.running:
            print(f"worker pool did not start; see {load_settings().logs_dir / 'workers.log'}")
            return 1
        print("worker pool started" + (f" (pid {pool.pid})" if pool.pid else ""))
    elif args.action == "stop":
        print("worker pool stopped" if worker.stop() else "worker pool did not stop")
    else:
        pool = worker.status()
        print(f"running (pid {pool.pid}, {pool.workers} workers)" if pool.running else "not running")
    return 0


def _backup(args, parser) -> int:
    settings = load_settings()
    copy = jobs.backup(args.destination, settings)
    print(f"run store copied to {copy}")
    print(f"models, predictions and TensorBoard files are in {settings.runs_dir}: copy that folder too "
          "(README: Backing up)")
    return 0


COMMANDS = {"submit": _submit, "list": _list, "show": _show, "follow": lambda args, parser: _follow(args.run_id),
            "cancel": _cancel, "delete": _delete, "sweep": _sweep, "datasets": _datasets, "download": _download,
            "worker": _worker, "workers": _workers, "backup": _backup,
            **CLASSROOM_COMMANDS, **CLUSTER_COMMANDS, **TRACKING_COMMANDS,
            **MODEL_COMMANDS}


def main(argv: list[str] | None = None) -> int:
    """Run one CLI command; returns the process exit code (2 with a one-line error for a refusal)."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return COMMANDS[args.command](args, parser)
    except Refusal as exc:  # every refusal is one line naming the field and the fix
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # the reader stopped early (`| head`): `run` ends quietly, this is no bug
        raise
    except Exception:  # anything else is a bug: one line here, the traceback in the log it names
        print(f"error: {report_bug('python -m core ' + args.command)}", file=sys.stderr)
        return 1


def run(argv: list[str] | None = None) -> int:
    """`main` for a process of its own: a reader that stops early (`| head -1`) ends it quietly."""
    try:
        code = main(argv)
        sys.stdout.flush()  # buffered output meets the closed pipe here, inside the try, not at exit
        return code
    except BrokenPipeError:
        # Python's recipe (docs, "Note on SIGPIPE"): point stdout at devnull so that the flush at exit
        # cannot raise again; exit 1, as a process killed by SIGPIPE would also report a failure.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
