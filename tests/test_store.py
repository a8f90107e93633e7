"""The run store on SQLite and on PostgreSQL: status transitions, atomic claims, metrics, deletes; SQLite's
migrations of older files."""
import multiprocessing

import pytest

from core.domain.statuses import CANCELLED, FAILED, QUEUED, RUNNING, SUCCEEDED
from core.store.runs import MetricPoint, RunStore
from tests.conftest import on_both_databases


def _claim_in_process(path, run_id, results):
    results.put(RunStore(path).claim(run_id, multiprocessing.current_process().pid, "host"))


@on_both_databases
def test_new_run_is_queued_with_its_config(store):
    run_id = store.create_run("first", {"dataset": "digits", "epochs": 3}, notes="n", epochs=3)
    run = store.get(run_id)
    assert (run.status, run.name, run.notes, run.epochs) == (QUEUED, "first", "n", 3)
    assert run.config_dict == {"dataset": "digits", "epochs": 3}


@on_both_databases
def test_claim_is_atomic_across_processes(store):
    run_id = store.create_run("r", {})
    ctx = multiprocessing.get_context("spawn")
    results = ctx.Queue()
    procs = [ctx.Process(target=_claim_in_process, args=(store.location, run_id, results)) for _ in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    outcomes = [results.get(timeout=5) for _ in procs]
    assert sorted(outcomes, key=str) == [1, None, None, None]  # one claim wins: attempt 1
    assert store.get(run_id).status == RUNNING


@on_both_databases
def test_cancel_queued_is_immediate_and_running_is_flagged(store):
    queued = store.create_run("q", {})
    running = store.create_run("r", {})
    assert store.claim(running, 1, "h")
    assert store.request_cancel(queued) == CANCELLED
    assert store.claim(queued, 1, "h") is None  # a cancelled run is never picked up
    assert store.request_cancel(running) == RUNNING
    assert store.cancel_requested(running) and not store.cancel_requested(queued)
    assert store.request_cancel(999) is None


@on_both_databases
def test_finish_only_moves_running_runs(store):
    run_id = store.create_run("r", {})
    assert store.finish(run_id, SUCCEEDED) is False  # still queued
    store.claim(run_id, 1, "h")
    assert store.finish(run_id, SUCCEEDED, test_accuracy=0.9, test_loss=0.3, train_seconds=2.0)
    run = store.get(run_id)
    assert (run.status, run.test_accuracy, run.progress) == (SUCCEEDED, 0.9, 1.0)
    assert store.finish(run_id, FAILED) is False  # final statuses are final
    with pytest.raises(ValueError):
        store.finish(run_id, RUNNING)


@on_both_databases
def test_report_appends_metrics_and_updates_progress(store):
    run_id = store.create_run("r", {})
    store.claim(run_id, 1, "h")
    store.report(run_id, [MetricPoint("batch", 5, 0.5, 1.0, "loss", 2.0)], epoch=1, batch=5, progress=0.25,
                 eta_seconds=3.0)
    store.report(run_id, [MetricPoint("epoch", 10, 1.0, 2.0, "loss", 1.5),
                          MetricPoint("epoch", 10, 1.0, 2.0, "val_loss", 1.7)], epoch=1, batch=10,
                 progress=0.5, eta_seconds=2.0)
    points = store.metrics(run_id)
    assert [(p.kind, p.step, p.name, p.value) for p in points] == [
        ("batch", 5, "loss", 2.0), ("epoch", 10, "loss", 1.5), ("epoch", 10, "val_loss", 1.7)]
    run = store.get(run_id)
    assert (run.batch, run.progress, run.eta_seconds) == (10, 0.5, 2.0)


@on_both_databases
def test_delete_only_finished_runs_and_their_metrics(store):
    run_id = store.create_run("r", {})
    store.claim(run_id, 1, "h")
    store.report(run_id, [MetricPoint("batch", 1, 0.1, 0.1, "loss", 1.0)], 1, 1, 0.1, None)
    assert store.delete(run_id) is False  # running
    store.fail_run(run_id, "gone")
    assert store.get(run_id).error == "gone"
    assert store.delete(run_id)
    assert store.get(run_id) is None and store.metrics(run_id) == []


@on_both_databases
def test_list_and_counts(store):
    ids = [store.create_run(f"r{i}", {}) for i in range(3)]
    store.claim(ids[0], 1, "h")
    assert [r.id for r in store.list_runs()] == ids[::-1]
    assert [r.id for r in store.list_runs(statuses=[RUNNING])] == [ids[0]]
    assert [r.id for r in store.list_runs(limit=1)] == [ids[2]]
    assert store.count_by_status() == {RUNNING: 1, QUEUED: 2}


@on_both_databases
def test_ids_are_not_reused_after_delete(store):
    first = store.create_run("a", {})
    store.request_cancel(first)
    store.delete(first)
    assert store.create_run("b", {}) > first  # links to a deleted run never show another run


def _old_store(path, with_tags: bool) -> None:
    """A trainlab.db as earlier versions left it: schema version 0 (no user_version), one run with a
    metric; `with_tags=False` is the schema from before runs had tags."""
    import sqlite3

    from core.store.schema import SCHEMA

    ddl = SCHEMA if with_tags else SCHEMA.replace(",\n    tags TEXT NOT NULL DEFAULT ''", "")
    assert with_tags or "tags" not in ddl
    conn = sqlite3.connect(path)
    conn.executescript(ddl)
    conn.execute("INSERT INTO runs (name, status, config, created_at, test_accuracy) VALUES "
                 "('kept', 'succeeded', '{\"dataset\": \"digits\"}', 1.0, 0.93)")
    conn.execute("INSERT INTO metrics VALUES (1, 'epoch', 10, 1.0, 2.0, 'val_accuracy', 0.9)")
    conn.commit()
    conn.close()


@pytest.mark.parametrize("with_tags", [False, True], ids=["before-tags", "before-versions"])
def test_an_older_store_is_migrated_without_losing_a_run(tmp_path, with_tags):
    from core.store.schema import SCHEMA_VERSION, schema_version

    path = tmp_path / "trainlab.db"
    _old_store(path, with_tags)
    store = RunStore(path)
    run = store.get(1)
    assert (run.name, run.status, run.test_accuracy, run.tags) == ("kept", SUCCEEDED, 0.93, "")
    assert [(p.name, p.value) for p in store.metrics(1)] == [("val_accuracy", 0.9)]
    assert schema_version(store.connection()) == SCHEMA_VERSION >= 1
    from core.store.queries import relabel

    relabel(store, 1, "kept", "", ["baseline"])  # the added column works
    assert store.get(1).tag_list == ["baseline"]
    store.close()
    assert schema_version(RunStore(path).connection()) == SCHEMA_VERSION  # opening again changes nothing


def test_a_store_from_a_newer_version_is_refused_with_one_line(tmp_path):
    import sqlite3

    from core.store.schema import StoreError

    path = tmp_path / "trainlab.db"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    with pytest.raises(StoreError, match="has schema version 99, newer than this Train Lab's"):
        RunStore(path).connection()
