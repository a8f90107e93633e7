"""Figure 12: the Ray executor against the local worker pool on this one machine (issue 18).

Three shapes on the same two cores: the local pool on SQLite (the laptop default), the local pool on
PostgreSQL (the store alone changed), and a one-node Ray cluster on PostgreSQL (the cluster shape).
For each: submit -> first live point with the executor warm (median of `repeat`), and runs per minute
for a batch of short runs queued at once, and what one small read of the store costs a page (the Runs
list: `jobs.list_runs`, median of 200 calls; on PostgreSQL with the connections a process keeps, and with
none kept, a new connection per call as before). Two runs train at a time in every shape (2 workers; Ray:
2 CPUs, 1 a run; CPU runs reuse warm Ray workers). The PostgreSQL server and the Ray cluster are started
here, on loopback, and stopped.
"""
from __future__ import annotations

import os
import statistics
import time

from bench.common import Lab, start_pool, stop_pool, wait_finished
from core.domain.config import TrainConfig

SHORT = TrainConfig(dataset="digits", architecture="mlp", epochs=3, name="bench cluster")


def _first_point(settings, config: TrainConfig, timeout: float = 180) -> float:
    from core.services import jobs
    from core.store.runs import RunStore

    store = RunStore(settings.store_location)
    start = time.monotonic()
    run_id = jobs.submit(config, settings)
    while time.monotonic() - start < timeout:
        if store.has_metrics(run_id):
            first = time.monotonic() - start
            wait_finished([run_id], settings, timeout=timeout)
            return first
        time.sleep(0.01)
    raise RuntimeError(f"run #{run_id} wrote no metric in {timeout:.0f} s")


def _store_call_ms(settings, calls: int = 200) -> float:
    """Median milliseconds of one Runs-list read, as a page makes it (a store opened per call)."""
    from core.services import jobs

    times = []
    for _ in range(calls):
        start = time.perf_counter()
        jobs.list_runs(settings, limit=50)
        times.append((time.perf_counter() - start) * 1000)
    return round(statistics.median(times), 2)


def _measure(settings, runs: int, repeat: int) -> dict:
    from core.services import jobs

    firsts = [_first_point(settings, SHORT) for _ in range(repeat)]
    started = time.monotonic()
    ids = [jobs.submit(SHORT, settings) for _ in range(runs)]
    wait_finished(ids, settings, timeout=900)
    wall = time.monotonic() - started
    return {"first_point_median_s": round(statistics.median(firsts), 2), "first_point_max_s": round(max(firsts), 2),
            "runs": runs, "batch_wall_s": round(wall, 1), "runs_per_minute": round(runs * 60 / wall, 1),
            **_store_calls(settings)}


def _store_calls(settings) -> dict:
    """A page's small read, with the connections a process keeps and (PostgreSQL) with none kept."""
    from core.store import postgres

    figures = {"list_runs_ms": _store_call_ms(settings)}
    if settings.db_url:
        kept = postgres._Idle.KEPT
        postgres._Idle.KEPT = 0  # each released connection closed: a new one per call, as before
        try:
            figures["list_runs_ms_no_kept_connection"] = _store_call_ms(settings)
        finally:
            postgres._Idle.KEPT = kept
    return figures


def run(lab: Lab, runs: int = 8, repeat: int = 3, quick: bool = False) -> list[dict]:
    """The three shapes' latency and throughput."""
    from tests.postgres_support import PostgresServer

    if quick:
        runs, repeat = 4, 1
    os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"  # loopback only, before Ray is imported
    server = PostgresServer().start()
    rows = []
    try:
        with lab.home("cluster-local-sqlite", workers=2) as settings:
            start_pool(settings)
            rows.append({"shape": "local pool, SQLite", **_measure(settings, runs, repeat)})
            stop_pool(settings)
        os.environ["TRAINLAB_DB_URL"] = server.new_database()
        with lab.home("cluster-local-postgres", workers=2) as settings:
            start_pool(settings)
            rows.append({"shape": "local pool, PostgreSQL", **_measure(settings, runs, repeat)})
            stop_pool(settings)
        os.environ["TRAINLAB_DB_URL"] = server.new_database()
        rows.append({"shape": "Ray (1 node, 1 CPU a run), PostgreSQL", **_ray(lab, runs, repeat)})
    finally:
        for key in ("TRAINLAB_DB_URL", "TRAINLAB_EXECUTOR", "TRAINLAB_RAY_ADDRESS", "TRAINLAB_RUN_CPUS"):
            os.environ.pop(key, None)
        server.remove()
    return rows


def _ray(lab: Lab, runs: int, repeat: int) -> dict:
    from ray.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 2, "node_ip_address": "127.0.0.1",
                                                            "include_dashboard": False})
    os.environ.update(TRAINLAB_EXECUTOR="ray", TRAINLAB_RAY_ADDRESS=cluster.address, TRAINLAB_RUN_CPUS="1")
    try:
        with lab.home("cluster-ray", workers=2) as settings:
            start_pool(settings)  # the dispatcher; CPU runs reuse Ray's warm worker processes
            try:
                return _measure(settings, runs, repeat)
            finally:
                stop_pool(settings)
    finally:
        cluster.shutdown()
