"""What the pages and the CLI do with runs: submit, cancel, delete, list, read metrics.

This is the only door to the store for user actions, so the rules (validate before queueing, never
delete an active run) hold the same way everywhere. The store is the queue: a submitted run waits
there until the dispatcher (core/runtime/dispatcher.py) hands it to a worker. Reads never change runs
(the dispatcher settles lost ones); a read that finds a run training with no dispatcher starts one.
"""
from __future__ import annotations

import contextlib
import shutil
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from core.domain.config import MAX_NAME_LENGTH, MAX_NOTES_LENGTH, TrainConfig, validate
from core.domain.model_files import file_id, is_model_file
from core.domain.people import Actor
from core.domain.statuses import QUEUED, RUNNING, TRACKED, TRAINED
from core.domain.training_modes import describe as describe_mode
from core.errors import Refusal
from core.runtime import worker
from core.services import catalog, model_files, tracked_models
from core.services.accounts import record
from core.services.capacity import runs_at_once
from core.services.classroom import check_submission, queue_limit, visible_owner
from core.services.pacing import LIVE_BUCKET_SECONDS, SETTLED_PACE, YOUNG_RUN_SECONDS, Activity, data_version
from core.services.permissions import PermissionDenied as PermissionDenied  # pages catch it from here
from core.services.permissions import acting, owner_of, require_change
from core.settings import Settings, load_settings
from core.store.connections import waiting_at_most
from core.store.health import backup as store_backup
from core.store.queries import RunQuery, best_validation_accuracy, facets, metrics_for, query_runs, relabel
from core.store.runs import Run, RunStore
from core.store.schema import StoreError as StoreError  # pages catch it from here: they do not import the store
from core.store.training_modes import run_mode

# Pages read these through jobs; they live in pacing.py.
__all__ = ["LIVE_BUCKET_SECONDS", "SETTLED_PACE", "YOUNG_RUN_SECONDS", "Activity", "data_version"]


class JobError(Refusal):
    """A user action that cannot be done; the message says why."""




@dataclass(frozen=True)
class QueueSummary:
    """How busy the lab is right now."""

    running: int
    queued: int
    finished: int
    pool_running: bool
    workers: int  # runs at once: the local pool's workers, or what the Ray cluster's nodes hold
    on_cluster: bool = False  # the runs go to a Ray cluster's dispatcher, not the local pool


def _store(settings: Settings) -> RunStore:
    return RunStore(settings.store_location)


def submit(config: TrainConfig, settings: Settings | None = None,
           actor: Actor | None = None) -> int:
    """Validate `config`, store it as a queued run of `actor` and hand it to the workers; returns the run id.

    Raises ConfigError (nothing stored) for a bad value, JobError if the queue refused it.
    """
    settings = settings or load_settings()
    actor = acting(actor, settings)
    return submit_all([config], settings, actor)[0]


def submit_all(configs: list[TrainConfig], settings: Settings | None = None,
               actor: Actor | None = None, kind: str = TRAINED) -> list[int]:
    """Queue several runs as one request (a lesson's pair): every config's values and the class's limits are
    checked for all of them together before any is stored, so a refusal leaves none of them queued. Runs of
    `kind` EVALUATED score a model file's own weights without training."""
    settings = settings or load_settings()
    actor = acting(actor, settings)
    return _submit(configs, settings, actor, lambda store, checked: store.create_runs(
        [(c.display_name(), c.to_dict(), c.notes, c.epochs, kind) for c in checked], owner_of(actor),
        queue_limit(actor, settings)))


def submit_linked(config: TrainConfig, sweep_id: int, params: dict, role: str, settings: Settings | None = None,
                  actor: Actor | None = None) -> int:
    """Like `submit`, for a run that belongs to sweep `sweep_id` (a retrain of its best setting)."""
    from core.store.sweeps import NewRun, add_run

    settings = settings or load_settings()
    actor = acting(actor, settings)
    return _submit([config], settings, actor, lambda store, checked: [add_run(
        store, sweep_id, NewRun(checked[0].display_name(), checked[0].to_dict(), checked[0].epochs, params, role),
        owner_of(actor), queue_limit(actor, settings))])[0]


def _submit(configs: list[TrainConfig], settings: Settings, actor: Actor, create) -> list[int]:
    """Check `configs` and the class's limits, store them as queued with `create(store, configs)` (which checks the
    queued-runs limit again in its transaction) and make sure a dispatcher looks; the new runs' ids."""
    files = model_files.usable(configs, settings, actor)  # a student's own and the shared ones, by id
    for config in configs:
        validate(config, settings, files)
    configs = [model_files.named(c, files) for c in configs]
    catalog.check_visible([c.dataset for c in configs], actor, settings)  # exam mode: not another's upload
    check_submission(configs, actor, settings, model_files=files)  # a student's run over the class's limits
    check_store(settings)  # a damaged store is reported before a pool is started for nothing
    check_executor(settings)
    if settings.autostart_workers:
        worker.ensure_running(settings)  # first: a pool left from before an update is replaced now
    return create(_store(settings), configs)


def check_executor(settings: Settings) -> None:
    """JobError (one line) when the executor cannot take runs now (no Ray cluster answers): nothing is queued."""
    if settings.executor != "ray":
        return
    from core.runtime.ray_executor import check_reachable

    try:
        check_reachable(settings)
    except RuntimeError as exc:
        raise JobError(str(exc)) from None


def check_store(settings: Settings | None = None, wait_seconds: float | None = None) -> None:
    """Open the run store (creating or updating it); StoreError with one line if it is damaged, or if its
    server does not answer within `wait_seconds` (default: the 30 s a worker waits through a restart)."""
    with waiting_at_most(wait_seconds) if wait_seconds is not None else contextlib.nullcontext():
        _store(settings or load_settings()).check()


def backup(destination: Path | None = None, settings: Settings | None = None) -> Path:
    """A consistent copy of the run store, taken while the lab runs; returns where it was written."""
    settings = settings or load_settings()
    if settings.db_url:
        raise StoreError("store: the run store is on PostgreSQL (TRAINLAB_DB_URL); back it up with pg_dump "
                         "on the database server (README: Running on several machines)")
    check_store(settings)
    return store_backup(settings.db_path, destination)


def _dispatched(settings: Settings, training: bool) -> None:
    """When a read finds runs `training` and no dispatcher looks after them (the pool died under them, and
    autostart is on), start one: it settles the lost runs within seconds. Queued runs alone wait for a
    submit or a page's look at the lab's activity, so `workers stop` is not undone by any read."""
    if training and settings.autostart_workers and not worker.status(settings).running:
        worker.ensure_running(settings, warm=False)  # to settle runs, not train: workers start if a run is queued


def _changeable(store: RunStore, run_id: int, actor: Actor | None, settings: Settings, verb: str) -> tuple[Run, Actor]:
    """The run `actor` wants to `verb`, once the rules allow it (JobError if none, PermissionDenied if not theirs)."""
    run = store.get(run_id)
    if run is None:
        raise JobError(f"run: there is no run #{run_id}")
    actor = acting(actor, settings)
    require_change(actor, run.owner, f"run #{run_id}", verb)
    return run, actor


def cancel(run_id: int, settings: Settings | None = None, actor: Actor | None = None) -> str:
    """Cancel a queued run now, or ask a running one to stop; returns its status afterwards."""
    settings = settings or load_settings()
    store = _store(settings)
    run, actor = _changeable(store, run_id, actor, settings, "cancel")
    status = store.request_cancel(run_id)
    if status is None:
        raise JobError(f"run: there is no run #{run_id}")
    record(actor, "cancel", f"run {run_id}", f"{run.name} ({run.owner or 'operator'}), was {run.status}", settings)
    return status


def delete(run_id: int, settings: Settings | None = None, actor: Actor | None = None) -> None:
    """Delete a finished run, its metrics and its folder."""
    settings = settings or load_settings()
    store = _store(settings)
    run, actor = _changeable(store, run_id, actor, settings, "delete")
    if not store.delete(run_id):
        raise JobError(f"run: #{run_id} is {run.status}; cancel it first, then delete it")
    shutil.rmtree(settings.runs_dir / str(run_id), ignore_errors=True)
    record(actor, "delete", f"run {run_id}", f"{run.name} ({run.owner or 'operator'}), {run.status}", settings)


def list_runs(settings: Settings | None = None, limit: int | None = None, actor: Actor | None = None) -> list[Run]:
    """Runs newest first (in exam mode a student's own only)."""
    settings = settings or load_settings()
    store = _store(settings)
    owner = visible_owner(actor, settings)
    if owner is None:
        runs = store.list_runs(limit=limit)
    else:
        runs = query_runs(store, RunQuery(owner=owner, page_size=limit or 1_000_000))[0]
    _dispatched(settings, any(r.status == RUNNING for r in runs))
    return runs


def get_run(run_id: int, settings: Settings | None = None, actor: Actor | None = None) -> Run | None:
    """One run, or None (also for another's run in exam mode)."""
    settings = settings or load_settings()
    run = _store(settings).get(run_id)
    _dispatched(settings, run is not None and run.status == RUNNING)
    owner = visible_owner(actor, settings)
    return None if run is None or (owner is not None and run.owner != owner) else run


def training_mode_text(run: Run, settings: Settings | None = None) -> str | None:
    """How `run`'s training step was compiled and why ("XLA: 1.52 × faster than Keras' default here …"), or None
    (not started, from a script, or trained before modes were kept). The caller read `run` with its own actor (a
    page's run view), as for its metrics."""
    return describe_mode(run_mode(_store(settings or load_settings()), run.id))


def run_metrics(run_id: int, settings: Settings | None = None, actor: Actor | None = None) -> pd.DataFrame:
    """A run's metric points as a DataFrame (kind, step, epoch, elapsed, name, value); none for another's run
    in exam mode."""
    settings = settings or load_settings()
    store = _store(settings)
    points = store.metrics(run_id) if _visible(store, run_id, actor, settings) else []
    columns = ["kind", "step", "epoch", "elapsed", "name", "value"]
    return pd.DataFrame([p.__dict__ for p in points], columns=columns)


def summary(settings: Settings | None = None, actor: Actor | None = None) -> QueueSummary:
    """Counts of running/queued/finished runs (in exam mode a student's own) and whether workers are up."""
    settings = settings or load_settings()
    counts = _store(settings).count_by_status(visible_owner(actor, settings))
    pool = worker.status(settings)
    active = counts.get(RUNNING, 0) + counts.get(QUEUED, 0)
    return QueueSummary(
        running=counts.get(RUNNING, 0), queued=counts.get(QUEUED, 0),
        finished=sum(counts.values()) - active, pool_running=pool.running, workers=runs_at_once(settings),
        on_cluster=settings.executor == "ray",
    )


def activity(settings: Settings | None = None) -> Activity:
    """The lab's activity (a look that finds work waiting and no dispatcher starts one)."""
    settings = settings or load_settings()
    current = Activity(*_store(settings).activity())
    _dispatched(settings, bool(current.active))  # queued runs too: the lab's pages bring the pool back
    return current


def ensure_workers(settings: Settings | None = None) -> bool:
    """Start the worker pool if queued work is waiting and autostart is on; True if started.

    Covers a machine that rebooted with runs still queued: opening a page brings workers back.
    """
    settings = settings or load_settings()
    if not settings.autostart_workers:
        return False
    if not _store(settings).count_by_status().get(QUEUED):
        return False
    return worker.ensure_running(settings)


def warm_workers(settings: Settings | None = None) -> bool:
    """Start the worker pool ahead of the first run (autostart on), so Start meets workers that have
    TensorFlow loaded instead of waiting seconds for it; True if started."""
    settings = settings or load_settings()
    return settings.autostart_workers and worker.ensure_running(settings)


def query(run_query: RunQuery, settings: Settings | None = None, actor: Actor | None = None) -> tuple[list[Run], int]:
    """One page of runs matching the filters, and the total that match; in exam mode a student's own runs only."""
    settings = settings or load_settings()
    owner = visible_owner(actor, settings)
    runs, total = query_runs(_store(settings), run_query if owner is None else replace(run_query, owner=owner))
    _dispatched(settings, any(r.status == RUNNING for r in runs))
    return runs, total


def filter_values(settings: Settings | None = None, actor: Actor | None = None) -> dict[str, list[str]]:
    """Values in use for each filter (datasets, architectures, optimizers, tags); in exam mode those of a
    student's own runs only."""
    settings = settings or load_settings()
    return facets(_store(settings), visible_owner(actor, settings))


def relabel_run(run_id: int, name: str, notes: str, tags: list[str], settings: Settings | None = None,
                actor: Actor | None = None) -> None:
    """Rename, re-note and re-tag a run (names and notes are stored as typed; shown as text)."""
    settings = settings or load_settings()
    store = _store(settings)
    run, actor = _changeable(store, run_id, actor, settings, "rename or tag")
    name = name.strip()
    if not name or len(name) > MAX_NAME_LENGTH:
        raise JobError(f"name: give the run a name of 1 to {MAX_NAME_LENGTH} characters; got {len(name)}")
    if len(notes) > MAX_NOTES_LENGTH:
        raise JobError(f"notes: at most {MAX_NOTES_LENGTH} characters; got {len(notes)}")
    tags = [t.strip() for t in tags if t.strip()]
    if len(tags) > 20 or any(len(t) > 40 for t in tags):
        raise JobError("tags: at most 20 tags of up to 40 characters each, separated by commas")
    if not relabel(store, run_id, name, notes, tags):
        raise JobError(f"run: there is no run #{run_id}")
    if actor.name != run.owner:  # a teacher changing a student's run is worth a line in the audit
        record(actor, "relabel", f"run {run_id}", f"{run.name} -> {name}", settings)


def runs_by_id(run_ids: list[int], settings: Settings | None = None, actor: Actor | None = None) -> list[Run]:
    """The runs with these ids, in the given order (missing ids, and in exam mode others' runs, are skipped)."""
    settings = settings or load_settings()
    store = _store(settings)
    owner = visible_owner(actor, settings)
    return [r for r in (store.get(i) for i in run_ids) if r is not None and owner in (None, r.owner)]


def validation_accuracy(runs: list[Run], settings: Settings | None = None) -> dict[int, float]:
    """The best validation accuracy of each of `runs` (read through a door that checked who may see them)."""
    return best_validation_accuracy(_store(settings or load_settings()), [r.id for r in runs])


def _visible(store: RunStore, run_id: int, actor: Actor | None, settings: Settings) -> bool:
    """Whether `actor` may see run `run_id` (a missing run counts as visible: there is nothing to show)."""
    owner = visible_owner(actor, settings)
    if owner is None:
        return True
    run = store.get(run_id)
    return run is None or run.owner == owner


def metrics_of(run_ids: list[int], settings: Settings | None = None, actor: Actor | None = None) -> pd.DataFrame:
    """Metric points of several runs in one query (in exam mode a student's own runs only)."""
    from core.views.compare import metrics_frame

    settings = settings or load_settings()
    if visible_owner(actor, settings) is not None:
        run_ids = [r.id for r in runs_by_id(run_ids, settings, actor)]
    return metrics_frame(metrics_for(_store(settings), run_ids))


def run_again(run_id: int, settings: Settings | None = None, actor: Actor | None = None) -> int:
    """Queue a new run with the same config as run `run_id`, owned by `actor`; returns the new id."""
    settings = settings or load_settings()
    run, actor = _changeable(_store(settings), run_id, actor, settings, "retrain")
    if run.kind == TRACKED:
        raise JobError(f"run: #{run_id} trained in your own code, not in Train Lab; run your script again instead")
    return submit_all([TrainConfig.from_dict(run.config_dict)], settings, actor, kind=run.kind)[0]  # a score: again


def model_file(run_id: int, settings: Settings | None = None, actor: Actor | None = None):
    """The trained model's file, or None if the run saved none (or is another's, in exam mode, or trained or sent a
    student's model file that `actor` may not use: a download would hand its architecture over)."""
    settings = settings or load_settings()
    path = run_folder(run_id, settings, actor)
    if path is None or not (path / "model.keras").is_file():
        return None
    run = _store(settings).get(run_id)
    key = run.config_dict.get("architecture", "") if run is not None else ""
    # A student's model file: the one the run trained, or the one its script sent from a laptop.
    student_file = file_id(key) if is_model_file(key) else tracked_models.linked_model_file(run_id, settings)
    if student_file is not None:
        who = acting(actor, settings)
        usable = who.is_teacher or who.name == run.owner or \
            model_files.usable_file(student_file, settings, who) is not None
        return path / "model.keras" if usable else None
    return path / "model.keras"


def run_folder(run_id: int, settings: Settings | None = None, actor: Actor | None = None) -> Path | None:
    """The run's folder (model, predictions, TensorBoard events); None for another's run in exam mode."""
    settings = settings or load_settings()
    if not _visible(_store(settings), run_id, actor, settings):
        return None
    return settings.runs_dir / str(run_id)
