"""What the Sweeps page and the CLI do with sweeps: plan, start, follow, cancel, retrain the best.

A sweep's trials are ordinary queued runs (see `jobs`), linked to the sweep in the store, so
the Runs page, comparison and the workers need nothing special for them. The best trial is
chosen by validation accuracy, never by test accuracy: the test split stays untouched until
the chosen setting is retrained on train+validation and evaluated once.
"""
from __future__ import annotations

import shutil
from dataclasses import dataclass, field, replace

import pandas as pd

from core.domain.config import ConfigError, TrainConfig, validate
from core.domain.people import Actor
from core.domain.statuses import CANCELLED, FAILED, QUEUED, RUNNING, SUCCEEDED
from core.domain.sweep_spec import (
    ASSIGNMENT_TARGETS,
    OPTIMIZER_LABELS,
    PARAM_COLUMNS,
    SCORE,
    SweepError,
    SweepSpec,
    Trial,
    expand,
)
from core.errors import Refusal
from core.runtime import worker
from core.services import model_files
from core.services.accounts import record
from core.services.capacity import cluster_nodes_seen, runs_at_once
from core.services.classroom import check_submission, may_see, queue_limit, visible_owner
from core.services.estimates import Estimate, estimate
from core.services.jobs import JobError, check_executor, submit_linked
from core.services.permissions import acting, owner_of, require_change
from core.settings import Settings, load_settings
from core.store.runs import RunStore
from core.store.sweeps import (
    RETRAIN,
    TRIAL,
    NewRun,
    SweepRow,
    active_run_ids,
    create_sweep,
    delete_sweep,
    get_sweep,
    list_sweeps,
    membership,
    sweep_runs,
)
from core.views.csv_export import spreadsheet_csv


@dataclass(frozen=True)
class Plan:
    """A checked sweep, ready to start: its trials and how long they should take."""

    spec: SweepSpec
    trials: list[Trial]
    estimate: Estimate
    workers: int  # its trials at once: the pool's workers, or what the Ray cluster's nodes hold of them
    on_cluster: bool = False  # `workers` is what the Ray cluster's nodes, as its dispatcher last saw them, hold
    model_files: dict = field(default_factory=dict)  # the model files its trials may use, by id

    @property
    def wall_seconds(self) -> float:
        """Expected wall time with `workers` trials at once."""
        return self.estimate.wall_seconds(self.workers)


@dataclass(frozen=True)
class Progress:
    """Where a sweep stands."""

    total: int
    done: int  # succeeded, failed or cancelled
    running: int
    queued: int
    failed: int
    eta_seconds: float | None
    cancelled: int = 0

    @property
    def active(self) -> bool:
        """True while some trial is queued or running."""
        return self.running + self.queued > 0

    def text(self) -> str:
        """'17 / 72 done, 2 running, 3 failed' ('36 / 36 done, 36 cancelled': a cancelled sweep trained none)."""
        parts = [f"{self.done} / {self.total} done"]
        if self.running:
            parts.append(f"{self.running} running")
        if self.failed:
            parts.append(f"{self.failed} failed")
        if self.cancelled:
            parts.append(f"{self.cancelled} cancelled")
        return ", ".join(parts)


def _store(settings: Settings) -> RunStore:
    return RunStore(settings.store_location)


def plan(spec: SweepSpec, settings: Settings | None = None, actor: Actor | None = None) -> Plan:
    """Expand and check every trial (nothing is stored); SweepError or ConfigError says what to fix. A trial's
    model file must be one `actor` may use."""
    settings = settings or load_settings()
    trials = expand(spec, settings.max_sweep_runs)
    files = model_files.usable([t.config for t in trials], settings, acting(actor, settings))
    if files:  # a model file's trials are named by its title, not its number
        trials = [replace(t, config=replace(t.config, name=model_files.titled(t.config.name, files)),
                          params={**t.params, "architecture": model_files.titled(t.params["architecture"], files)})
                  for t in trials]
    if spec.halving and not spec.shared.get("validation_split", TrainConfig.validation_split):
        raise SweepError("early stopping: successive halving compares validation accuracy; "
                         "set a validation split above 0 or turn it off")
    checked = set()
    for trial in trials:
        key = trial.config.to_dict()
        key.pop("name")
        signature = repr(sorted(key.items()))
        if signature in checked:
            continue
        checked.add(signature)
        try:
            validate(trial.config, settings, files)
        except ConfigError as exc:
            raise ConfigError(exc.field, f"{str(exc).removeprefix(exc.field + ': ')} "
                                         f"(in trial {trial.params['architecture']} · {trial.params['dataset']})") \
                from None
    nodes = cluster_nodes_seen(settings)
    at_once = runs_at_once(settings, spec.shared.get("cpus"), spec.shared.get("gpus"), nodes=nodes)
    return Plan(spec, trials, estimate([t.config for t in trials], _store(settings), settings), at_once,
                on_cluster=bool(nodes), model_files=files)


def start(spec: SweepSpec, settings: Settings | None = None, actor: Actor | None = None) -> int:
    """Plan the sweep and store all its runs as queued under one sweep of `actor` (the store is the queue), with
    the retrains its `retrain_epochs` asks for (queued by the dispatcher when the search ends:
    core/services/sweep_retrains.py); returns the sweep id."""
    settings = settings or load_settings()
    actor = acting(actor, settings)
    checked = plan(spec, settings, actor)
    check_submission([t.config for t in checked.trials], actor, settings, in_one_sweep=True,
                     model_files=checked.model_files)
    _check_retrain(spec, checked, settings, actor)
    check_executor(settings)
    if settings.autostart_workers:
        worker.ensure_running(settings)
    store = _store(settings)
    new_runs = [NewRun(t.config.display_name(), t.config.to_dict(), t.config.epochs, t.params)
                for t in checked.trials]
    sweep_id, _ = create_sweep(store, spec.name or "sweep", spec.to_dict(), new_runs, owner_of(actor),
                               queue_limit(actor, settings), spec.datasets if spec.retrain_epochs else ())
    return sweep_id


def _check_retrain(spec: SweepSpec, checked: Plan, settings: Settings, actor: Actor) -> None:
    """Refuse, before anything is queued, a retrain its owner could never run (epochs past the server's or the
    class's limit): its trials' settings on all the training data for `retrain_epochs` epochs."""
    if spec.retrain_epochs is None or not checked.trials:
        return
    config = replace(checked.trials[0].config, epochs=spec.retrain_epochs, validation_split=0.0, train_subset=None)
    try:
        validate(config, settings, checked.model_files)
        check_submission([config], actor, settings, model_files=checked.model_files)
    except Refusal as exc:
        raise SweepError(f"retrain the best: {exc}") from None


def sweeps(settings: Settings | None = None, actor: Actor | None = None) -> list[SweepRow]:
    """Every sweep, newest first (in exam mode a student's own only)."""
    settings = settings or load_settings()
    owner = visible_owner(actor, settings)
    return [row for row in list_sweeps(_store(settings)) if owner in (None, row.owner)]


def get(sweep_id: int, settings: Settings | None = None, actor: Actor | None = None) -> SweepRow:
    """One sweep; JobError if there is none (another's, in exam mode, is as if there were none)."""
    settings = settings or load_settings()
    row = get_sweep(_store(settings), sweep_id)
    if row is None or not may_see(actor, row.owner, settings):
        raise JobError(f"sweep: there is no sweep #{sweep_id}")
    return row


def is_active(sweep_id: int, settings: Settings | None = None, actor: Actor | None = None) -> bool:
    """Whether some run of the sweep is queued or running (one cheap query)."""
    settings = settings or load_settings()
    get(sweep_id, settings, actor)
    return bool(active_run_ids(_store(settings), sweep_id))


def _changeable(sweep_id: int, actor: Actor | None, settings: Settings, verb: str) -> tuple[SweepRow, Actor]:
    sweep = get(sweep_id, settings, actor)
    actor = acting(actor, settings)
    require_change(actor, sweep.owner, f"sweep #{sweep_id}", verb)
    return sweep, actor


def cancel(sweep_id: int, settings: Settings | None = None, actor: Actor | None = None) -> int:
    """Cancel the sweep's queued runs and ask its running ones to stop; returns how many were active."""
    settings = settings or load_settings()
    sweep, actor = _changeable(sweep_id, actor, settings, "cancel")
    store = _store(settings)
    ids = active_run_ids(store, sweep_id)
    for run_id in ids:
        store.request_cancel(run_id)
    record(actor, "cancel", f"sweep {sweep_id}", f"{sweep.name} ({sweep.owner or 'operator'}), {len(ids)} active runs",
           settings)
    return len(ids)


def delete(sweep_id: int, settings: Settings | None = None, actor: Actor | None = None) -> None:
    """Delete a finished sweep, its runs and their folders."""
    settings = settings or load_settings()
    sweep, actor = _changeable(sweep_id, actor, settings, "delete")
    store = _store(settings)
    if active_run_ids(store, sweep_id):
        raise JobError(f"sweep: #{sweep_id} still has queued or running runs; cancel it first, then delete it")
    deleted = delete_sweep(store, sweep_id)
    for run_id in deleted:
        shutil.rmtree(settings.runs_dir / str(run_id), ignore_errors=True)
    record(actor, "delete", f"sweep {sweep_id}", f"{sweep.name} ({sweep.owner or 'operator'}), {len(deleted)} runs",
           settings)


def sweep_note(run_id: int, settings: Settings | None = None, actor: Actor | None = None) -> str | None:
    """One line on the sweep a run belongs to (and whether halving stopped it), or None (also for a sweep
    that is another's, in exam mode)."""
    settings = settings or load_settings()
    found = membership(_store(settings), run_id)
    if found is None:
        return None
    sweep_id, name, role, stopped_at = found
    try:
        get(sweep_id, settings, actor)
    except JobError:
        return None
    text = f"{'Retrain of the best setting' if role == RETRAIN else 'Trial'} of sweep #{sweep_id} {name}"
    if stopped_at:
        text += f"; stopped early after epoch {stopped_at} by successive halving (outside the top trials)"
    return text


def runs_frame(sweep_id: int, settings: Settings | None = None, actor: Actor | None = None) -> pd.DataFrame:
    """Every run of the sweep (trials and retrains) with its hyperparameters and metrics; JobError for a sweep
    that is not there (or is another's, in exam mode)."""
    settings = settings or load_settings()
    get(sweep_id, settings, actor)
    rows = sweep_runs(_store(settings), sweep_id)
    columns = ["run", "role", "status", *PARAM_COLUMNS, "val_accuracy", "val_loss", "test_accuracy",
               "parameters", "train_seconds", "stopped_at", "progress", "eta_seconds", "error", "config"]
    return pd.DataFrame([{
        "run": r["id"], "role": r["role"], "status": r["status"], **{c: r["params"].get(c) for c in PARAM_COLUMNS},
        "val_accuracy": r["val_accuracy"], "val_loss": r["val_loss"], "test_accuracy": r["test_accuracy"],
        "parameters": r["param_count"], "train_seconds": r["train_seconds"], "stopped_at": r["stopped_at"],
        "progress": r["progress"], "eta_seconds": r["eta_seconds"], "error": r["error"], "config": r["config"],
    } for r in rows], columns=columns)


def trials_table(runs: pd.DataFrame) -> pd.DataFrame:
    """The trials with a `best` flag on the highest validation accuracy of each dataset."""
    trials = runs[runs["role"] == TRIAL].drop(columns=["role", "progress", "eta_seconds", "config"]).copy()
    trials["best"] = False
    done = trials[(trials["status"] == SUCCEEDED) & trials[SCORE].notna()]
    for _, group in done.groupby("dataset"):
        trials.loc[group[SCORE].idxmax(), "best"] = True
    return trials.reset_index(drop=True)


def best_trials(runs: pd.DataFrame) -> dict[str, pd.Series]:
    """The best finished trial of each dataset, by validation accuracy."""
    table = trials_table(runs)
    return {row["dataset"]: row for _, row in table[table["best"]].iterrows()}


def progress(runs: pd.DataFrame, settings: Settings | None = None) -> Progress:
    """Counts and an ETA for the sweep's runs (retrains included)."""
    settings = settings or load_settings()
    status = runs["status"]
    running, queued = int((status == RUNNING).sum()), int((status == QUEUED).sum())
    eta = None
    if running or queued:
        # A running trial's own ETA once it has one; otherwise what similar runs took.
        known = runs[(status == RUNNING) & runs["eta_seconds"].notna()]
        guessed = runs[status.isin((QUEUED, RUNNING)) & ~runs["run"].isin(known["run"])]
        configs = [TrainConfig.from_json(text) for text in guessed["config"]]
        left = (1.0 - guessed["progress"].fillna(0.0).clip(0.0, 1.0)).tolist()  # a running one is partly done
        seconds = ([full * part for full, part in zip(estimate(configs, _store(settings), settings).run_seconds,
                                                      left)]
                   + [float(e) for e in known["eta_seconds"]])
        # A sweep's trials share their CPUs and GPUs (SHARED_FIELDS): what one asks, all ask.
        size = TrainConfig.from_json(runs.loc[status.isin((QUEUED, RUNNING)), "config"].iloc[0])
        eta = Estimate(tuple(seconds), True).wall_seconds(runs_at_once(settings, size.cpus, size.gpus))
    return Progress(total=len(runs), done=int(status.isin((SUCCEEDED, FAILED, CANCELLED)).sum()), running=running,
                    queued=queued, failed=int((status == FAILED).sum()), eta_seconds=eta,
                    cancelled=int((status == CANCELLED).sum()))


def retrain_best(sweep_id: int, dataset: str, epochs: int, all_training_data: bool = True,
                 settings: Settings | None = None,
                 actor: Actor | None = None) -> int:
    """Queue the best trial's setting on `dataset` again, trained on train+validation (no
    validation split) for `epochs` epochs and evaluated on the test split; returns the run id."""
    settings = settings or load_settings()
    sweep, actor = _changeable(sweep_id, actor, settings, "retrain")
    best = best_trials(runs_frame(sweep_id, settings, actor)).get(dataset)
    if best is None:
        raise JobError(f"retrain: no trial on {dataset} has finished with a validation score yet")
    source = _store(settings).get(int(best["run"]))
    config = TrainConfig.from_json(source.config)
    config = replace(config, validation_split=0.0, epochs=epochs, test_subset=None,  # as typed: validation refuses 2.5
                     train_subset=None if all_training_data else config.train_subset,
                     name=f"{sweep.name} · retrain best #{source.id} on {dataset}"[:120])
    params = {**{c: best[c] for c in PARAM_COLUMNS}, "epochs": epochs, "retrained_from": int(source.id)}
    return submit_linked(config, sweep_id, params, RETRAIN, settings, actor=actor)


def retrain_report(runs: pd.DataFrame) -> pd.DataFrame:
    """Per dataset: the best trial's validation accuracy, the latest retrain's test accuracy and the target."""
    best = best_trials(runs)
    retrains = runs[runs["role"] == RETRAIN]
    rows = []
    for dataset in sorted(set(best) | set(retrains["dataset"])):
        trial = best.get(dataset)
        latest = retrains[retrains["dataset"] == dataset].tail(1)
        test = latest["test_accuracy"].iloc[0] if len(latest) else None
        target = ASSIGNMENT_TARGETS.get(dataset)
        rows.append({
            "dataset": dataset,
            "best setting": _setting_text(trial) if trial is not None else "",
            "best val accuracy": trial[SCORE] if trial is not None else None,
            "retrain run": int(latest["run"].iloc[0]) if len(latest) else None,
            "retrain status": latest["status"].iloc[0] if len(latest) else "not started",
            "test accuracy": test,
            "target": target,
            "reached": None if target is None or test is None or pd.isna(test) else bool(test >= target),
        })
    frame = pd.DataFrame(rows, columns=["dataset", "best setting", "best val accuracy", "retrain run",
                                        "retrain status", "test accuracy", "target", "reached"])
    for column in ("best val accuracy", "test accuracy", "target"):  # missing values as NaN, shown blank
        frame[column] = pd.to_numeric(frame[column])
    return frame


def _setting_text(row: pd.Series) -> str:
    return (f"{row['architecture']} · {OPTIMIZER_LABELS.get(row['optimizer'], row['optimizer'])} "
            f"lr={row['learning_rate']:g} · batch {row['batch_size']} · {row['epochs']} epochs")


def results_csv(runs: pd.DataFrame) -> str:
    """The trials table as CSV (one row per run, every hyperparameter and metric)."""
    return spreadsheet_csv(trials_table(runs))
