"""Runs that train outside Train Lab and report in: a student's own Keras script or notebook (the `trainlab`
client's callback, `autolog()` or `python -m core track`). One door for a reporter on this machine and for one
on the class's server's JSON API alike: every request is checked (core/domain/tracked_runs.py) before the
store sees it, and acts only on runs its reporter started, as its owner.

A reporter's requests: `start` when `fit` begins (a run, running at once, never queued), `report` every half
second or so (points, progress; also its heartbeat, whose answer says whether a cancel was asked), `end` when
`fit` ends, and `test_result` for a `model.evaluate` after it. The dispatcher watches a tracked run's heartbeat
like a worker's: a reporter that goes silent fails its run with the true reason; one that comes back (its
machine was offline) brings it back to running with the points it kept meanwhile.
"""
from __future__ import annotations

import functools
import shutil
from pathlib import Path

from core.domain.people import OPERATOR, STUDENT, Actor
from core.domain.statuses import RUNNING, SUCCEEDED
from core.domain.tracked_runs import (
    MAX_METRICS_PER_RUN,
    MAX_POINTS_PER_OWNER,
    MAX_POINTS_PER_RUN,
    MAX_STARTS_PER_HOUR,
    Report,
    RunEnd,
    RunStart,
    TestResult,
    TrackedRunRefused,
    checked,
    offline_note,
    run_config,
)
from core.runtime import worker
from core.services.classroom import check_tracked, rules
from core.settings import Settings, load_settings
from core.store.runs import MetricPoint, RunStore
from core.store.tracked import (
    ReporterLimits,
    ReportRefused,
    Where,
    append_report,
    end_tracked_run,
    record_test_result,
    reporter,
    reporter_of_key,
    start_tracked_run,
)


@functools.lru_cache(maxsize=8)
def _store_at(location: str) -> RunStore:
    return RunStore(location)


def store_of(settings: Settings) -> RunStore:
    """The lab's store as this process's reporter requests use it."""
    # One RunStore per store for this process: its connections are per thread and stay open, so a reporter's
    # request (the API's threads, twice a second per script) does not open and set up SQLite every time.
    return _store_at(str(settings.store_location))


def _limits(actor: Actor, settings: Settings) -> ReporterLimits:
    """What `actor`'s tracked runs may hold: every reporter's run is bounded; a student's runs together too,
    and by the class's runs at once."""
    student = actor.role == STUDENT
    return ReporterLimits(points_per_run=MAX_POINTS_PER_RUN, names_per_run=MAX_METRICS_PER_RUN,
                          running=rules(settings).max_running if student else None,
                          points_per_owner=MAX_POINTS_PER_OWNER if student else None,
                          starts_per_hour=MAX_STARTS_PER_HOUR if student else None)


def _refused(what: str, exc: ReportRefused) -> TrackedRunRefused:
    text = str(exc)
    return TrackedRunRefused(text if text.startswith("limit:") else f"{what}.{text}")


def start(data: object, settings: Settings | None = None, actor: Actor = OPERATOR, remote: bool = False) -> dict:
    """A reporter's `fit` began: store its run (running) and return {"run": id}. A start sent again (its
    answer was lost) returns the same run. A student's run meets the class's limits (epochs, parameters, runs
    at once). `remote`: it reports over the class's API from another machine, so its process id means nothing
    here."""
    settings = settings or load_settings()
    request = checked(RunStart, data, "start")
    if reporter_of_key(store_of(settings), request.key) is None:  # a start sent again was checked the first time
        check_tracked(actor, request.epochs, request.param_count, settings)
    host = f"{request.host or 'a machine'} (through the class's API)" if remote else request.host
    try:
        run_id, created = start_tracked_run(
            store_of(settings), request.key, actor.name, request.name, run_config(request), epochs=request.epochs,
            steps=request.steps, param_count=request.param_count, pid=0 if remote else request.pid, host=host,
            layers=[layer.model_dump() for layer in request.layers], limits=_limits(actor, settings))
    except ReportRefused as exc:
        raise _refused("start", exc) from None
    if created and settings.autostart_workers:
        # The dispatcher watches the run's heartbeat; a cold one starts no workers (nothing is queued).
        worker.ensure_running(settings, warm=False)
    return {"run": run_id}


def reporter_run(store: RunStore, run_id: int, key: str, actor: Actor, what: str):
    """The reporter of run `run_id` when `key` and `actor` are the ones that started it; else refused alike
    (whether the run exists is not told to another reporter)."""
    found = reporter(store, run_id)
    if found is None or found.client_key != key or found.owner != actor.name:
        raise TrackedRunRefused(f"{what}.run: #{run_id} is not a run this reporter started; start one first")
    return found


def report(data: object, settings: Settings | None = None, actor: Actor = OPERATOR) -> dict:
    """Store a report (points, where training is) of a reporter's run; {"cancel": True} once someone asked
    the run to stop."""
    settings = settings or load_settings()
    request = checked(Report, data, "report")
    store = store_of(settings)
    reporter_run(store, request.run, request.key, actor, "report")
    points = [MetricPoint(p.kind, p.step, p.epoch, p.elapsed, p.name, p.value) for p in request.points]
    try:
        where = Where(request.epoch, request.batch, request.progress, request.eta_seconds, request.offline_seconds)
        cancel = append_report(store, request.run, request.seq, points, where, _limits(actor, settings),
                               back_note=offline_note(request.offline_seconds) or "its script was silent for a "
                               "while and reported again")
    except ReportRefused as exc:
        raise _refused("report", exc) from None
    return {"cancel": cancel}


def end(data: object, settings: Settings | None = None, actor: Actor = OPERATOR) -> dict:
    """The reporter says how `fit` ended; {"status": the run's status after}."""
    settings = settings or load_settings()
    request = checked(RunEnd, data, "end")
    store = store_of(settings)
    reporter_run(store, request.run, request.key, actor, "end")
    end_tracked_run(store, request.run, request.status, request.error, request.train_seconds)
    return {"status": store.get(request.run).status}


def test_result(data: object, settings: Settings | None = None, actor: Actor = OPERATOR) -> dict:
    """A `model.evaluate` after `fit`: the run's test loss and accuracy, and each value as a test point."""
    settings = settings or load_settings()
    request = checked(TestResult, data, "test")
    store = store_of(settings)
    reporter_run(store, request.run, request.key, actor, "test")
    run = store.get(request.run)
    if run.status == RUNNING:
        raise TrackedRunRefused(f"test.run: #{run.id} is still training; evaluate after fit ends")
    record_test_result(store, run.id, dict(request.metrics), step=run.epochs * max(1, run.steps),
                       epoch=float(run.epoch))
    return {"run": run.id}


MAX_MODEL_BYTES = 2 * 1024**3  # a model file a script on this machine may hand over (ResNet-50 is ~100 MB)


def attach_model_file(data: object, settings: Settings | None = None, actor: Actor = OPERATOR) -> dict:
    """A reporter on this machine hands over the trained model its script saved ({"run", "key", "path"}): it is
    copied into the run's folder, where the run's page looks inside it and offers it for download. Only the
    `trainlab` client's local sink calls this (a path on this machine); a model from a laptop comes over the
    class's API as a file and is checked first (core/services/tracked_models.py)."""
    settings = settings or load_settings()
    if not isinstance(data, dict) or not isinstance(data.get("path"), str):
        raise TrackedRunRefused("model.path: the saved model's file, as text")
    request = checked(RunEnd, {"run": data.get("run"), "key": data.get("key"), "status": SUCCEEDED}, "model")
    store = store_of(settings)
    reporter_run(store, request.run, request.key, actor, "model")
    source = Path(data["path"])
    if source.suffix != ".keras" or not source.is_file():
        raise TrackedRunRefused(f"model.path: {source} is not a .keras file here; save it with model.save(...)")
    if source.stat().st_size > MAX_MODEL_BYTES:
        raise TrackedRunRefused(f"model.path: {source} is over {MAX_MODEL_BYTES // 1024**3} GB")
    folder = settings.runs_dir / str(request.run)
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, folder / "model.part")
    (folder / "model.part").replace(folder / "model.keras")  # a page never sees half a file
    return {"run": request.run}


# A reporter's requests by name: what the `trainlab` client's sinks and the class's JSON API call.
REQUESTS = {"start": start, "report": report, "end": end, "test": test_result}


def layer_table(run_id: int, settings: Settings | None = None) -> list[dict]:
    """The layer table a tracked run's reporter sent (name, type, output, params per layer); [] for others.
    The caller has read the run with its own actor first (a page's run view), as for its metrics."""
    found = reporter(store_of(settings or load_settings()), run_id)
    return found.layers if found is not None else []


def offline_seconds(run_id: int, settings: Settings | None = None) -> float:
    """How long a tracked run's reporter could not reach Train Lab, in all (0 for other runs)."""
    found = reporter(store_of(settings or load_settings()), run_id)
    return found.offline_seconds if found is not None else 0.0
