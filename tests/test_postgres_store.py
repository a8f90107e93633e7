"""The run store on a PostgreSQL server started by the test: its SQL, its schema, a server restart under
a live store, and real worker processes training into it. (The store's own tests run on both databases:
`on_both_databases` in test_store.py, test_accounts.py, test_sweeps.py, test_liveness.py, ...)"""
import gc
import multiprocessing
import threading
import time

import pytest

from core.domain.config import TrainConfig
from core.domain.statuses import QUEUED, RUNNING, SUCCEEDED
from core.runtime import worker
from core.services import jobs
from core.settings import load_settings
from core.store.connections import waiting_at_most
from core.store.postgres import describe, translate
from core.store.runs import MetricPoint, RunStore
from core.store.schema import SCHEMA_VERSION, StoreBusy, StoreError, schema_version
from pages.common.nav import PAGE_WAIT_SECONDS
from tests.conftest import on_both_databases, start_pool, wait_for


def test_store_sql_becomes_postgresql():
    assert translate("SELECT id FROM runs WHERE status=? AND name LIKE ?") == \
        "SELECT id FROM runs WHERE status=%s AND name ILIKE %s"
    assert translate("SELECT json_extract(r.config, '$.dataset') FROM runs r") == \
        "SELECT (r.config::jsonb ->> 'dataset') FROM runs r"
    assert translate("ORDER BY run_id, step, rowid") == "ORDER BY run_id, step, seq"
    assert translate("SELECT '100%' || ?") == "SELECT '100%%' || %s"  # a literal % is not a placeholder
    assert translate("BEGIN IMMEDIATE") == "BEGIN"
    assert describe("postgresql://lab:s3cret@db:5432/trainlab") == "postgresql://lab:***@db:5432/trainlab"


@on_both_databases
def test_a_new_store_is_made_at_the_current_schema_version_and_opened_again(store, db):
    store.create_run("r", {"dataset": "digits"})
    assert schema_version(store.connection()) == SCHEMA_VERSION
    again = RunStore(store.location)  # a second process opening it finds the tables and the version
    assert [r.name for r in again.list_runs()] == ["r"]
    again.close()


def test_the_store_outlives_a_database_restart(postgres_server, lab, monkeypatch):
    url = postgres_server.new_database()
    store = RunStore(url)
    run_id = store.create_run("before", {})
    assert store.claim(run_id, 1, "h") == 1
    postgres_server.restart()  # every connection is dropped
    store.report(run_id, [MetricPoint("batch", 1, 0.1, 0.1, "loss", 2.0)], 0, 1, 0.1, None, attempt=1)
    assert [p.value for p in store.metrics(run_id)] == [2.0]
    assert store.get(run_id).status == RUNNING
    store.close()


def test_a_write_cut_off_by_a_restart_is_a_busy_store_and_nothing_of_it_is_kept(postgres_server, lab):
    url = postgres_server.new_database()
    store = RunStore(url)
    run_id = store.create_run("before", {})
    with pytest.raises(StoreBusy, match="^store: the connection to PostgreSQL dropped during a write"):
        with store.transaction() as conn:
            conn.execute("UPDATE runs SET name=? WHERE id=?", ("half-written", run_id))
            postgres_server.restart()  # the transaction's connection dies under it
            conn.execute("UPDATE runs SET notes=? WHERE id=?", ("never", run_id))
    assert store.get(run_id).name == "before"  # the next statement reconnects; the lost write left nothing
    store.close()


def test_an_unreachable_database_is_one_line_naming_it_and_a_page_says_so_within_seconds(lab, monkeypatch):
    url = "postgresql://nobody:secret@127.0.0.1:9/none"  # port 9: nothing listens
    with waiting_at_most(0.5), pytest.raises(StoreError, match=r"^store: cannot reach PostgreSQL at "
                                             r"postgresql://nobody:\*\*\*@127.0.0.1:9/none \(.*\); check "
                                             r"TRAINLAB_DB_URL") as caught:
        RunStore(url).connection()
    assert "\n" not in str(caught.value) and "secret" not in str(caught.value)

    from tests.test_pages import _page

    monkeypatch.setenv("TRAINLAB_DB_URL", url)
    asked = time.monotonic()
    at = _page("pages/runs.py").run()
    assert time.monotonic() - asked < PAGE_WAIT_SECONDS + 3  # not the 30 s a worker waits through a restart
    # As shown: the page keeps "nobody:***@127.0.0.1" from becoming an e-mail link (an invisible word joiner).
    assert not at.exception and [e.value.replace("\u2060", "") for e in at.error] == [str(caught.value)]


def _backend(store: RunStore) -> int:
    """The server process behind the calling thread's connection of `store`."""
    return store.connection().execute("SELECT pg_backend_pid()").fetchone()[0]


def test_a_process_keeps_a_released_connection_for_the_next_store(postgres_server):
    url = postgres_server.new_database()
    first = RunStore(url)
    backend = _backend(first)
    del first  # a service's store goes at the end of its call
    assert _backend(RunStore(url)) == backend  # the next call's store reuses it: no new connection

    def in_a_thread():
        seen.append(_backend(shared))

    seen, shared = [], RunStore(url)
    thread = threading.Thread(target=in_a_thread)
    thread.start()
    thread.join()
    assert seen == [backend]  # the connection kept went to the new thread...
    del thread
    gc.collect()  # ...and comes back when the thread is gone
    assert _backend(RunStore(url)) == backend

    stale = RunStore(url)
    before = _backend(stale)
    del stale
    postgres_server.restart()  # the kept connection dies with the server
    after = RunStore(url)
    assert [r.name for r in after.list_runs()] == [] and _backend(after) != before  # replaced on first use


def _child_uses_the_store(url: str, answers) -> None:
    """In a forked child: a store of its own, while the parent's kept connection is left alone."""
    store = RunStore(url)
    answers.put((_backend(store), len(store.list_runs())))
    del store
    gc.collect()  # the child's objects, the inherited ones among them, go now


def test_a_forked_child_never_uses_or_closes_its_parents_connections(postgres_server):
    url = postgres_server.new_database()
    parent = RunStore(url)
    parent.create_run("kept", {})
    backend = _backend(parent)
    del parent  # kept open in this process, as the pool's process may hold one when it forks its workers
    context = multiprocessing.get_context("fork")
    answers = context.Queue()
    child = context.Process(target=_child_uses_the_store, args=(url, answers))
    child.start()
    child_backend, runs = answers.get(timeout=60)
    child.join(60)
    assert child.exitcode == 0 and runs == 1 and child_backend != backend
    again = RunStore(url)
    assert _backend(again) == backend and [r.name for r in again.list_runs()] == ["kept"]  # still open and ours


def test_a_database_url_that_is_not_postgresql_names_the_setting(monkeypatch):
    monkeypatch.setenv("TRAINLAB_DB_URL", "mysql://x@y/z")
    with pytest.raises(ValueError, match="^TRAINLAB_DB_URL: .*must be a PostgreSQL URL"):
        load_settings()


@pytest.mark.integration
@pytest.mark.parametrize("db", ["postgresql"], indirect=True)
def test_worker_processes_train_into_postgresql_and_survive_its_restart(lab, db, monkeypatch, postgres_server):
    settings = start_pool(monkeypatch, TRAINLAB_HEARTBEAT_TIMEOUT="20")
    try:
        run_id = jobs.submit(TrainConfig(name="into postgres", train_subset=600, epochs=30, batch_size=8), settings)
        wait_for(lambda: jobs.get_run(run_id, settings).batch > 0, 120, what="live points in PostgreSQL")
        points_before = len(jobs.run_metrics(run_id, settings))
        postgres_server.restart()  # the app's and the workers' connections all drop mid-run
        run = wait_for(lambda: (r := jobs.get_run(run_id, settings)).status not in (QUEUED, RUNNING) and r, 240,
                       what="the run to end")
        assert run.status == SUCCEEDED, run.error
        assert len(jobs.run_metrics(run_id, settings)) > points_before
        assert run.test_accuracy > 0.5
        assert not settings.db_path.exists()  # nothing went to a SQLite file
    finally:
        assert worker.stop(settings)


def test_a_process_checks_a_postgresql_schema_once(postgres_server):
    import psycopg

    url = postgres_server.new_database()
    RunStore(url).create_run("first", {})
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute("UPDATE store_version SET version = version + 1")  # as a newer Train Lab would leave it
    assert [r.name for r in RunStore(url).list_runs()] == ["first"]  # this process checked it already
    from core.store import connections

    connections._CURRENT.discard(url)  # a process starting now checks it, and refuses a newer store
    with pytest.raises(StoreError, match=r"has schema version \d+, newer than this Train Lab's"):
        RunStore(url).connection()
