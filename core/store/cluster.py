"""The Ray cluster as the dispatcher last saw it, kept in the run store: each node's CPUs and GPUs.

The pages need the cluster's size (how many runs train at once, for the queue's likely starts and a
sweep's duration; what a run may ask for) on every rerun, and joining the cluster as a Ray driver from
the web process for that would cost a second or more each time. The dispatcher, which looks at the
nodes anyway, writes what it sees here instead, and the pages read one small table.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

from core.store.runs import RunStore


@dataclass(frozen=True)
class SeenNode:
    """One alive node of the cluster, as the dispatcher saw it at `seen_at` (time.time())."""

    node_id: str
    hostname: str
    cpus: float
    gpus: float
    seen_at: float


def save_cluster(store: RunStore, nodes: list[tuple[str, str, float, float]], now: float | None = None) -> None:
    """Replace the snapshot with the alive nodes (node id, hostname, CPUs, GPUs) seen now."""
    now = time.time() if now is None else now
    with store.transaction() as conn:
        conn.execute("DELETE FROM cluster_nodes")
        conn.executemany("INSERT INTO cluster_nodes (node_id, hostname, cpus, gpus, seen_at) VALUES (?, ?, ?, ?, ?)",
                         [(node_id, hostname, cpus, gpus, now) for node_id, hostname, cpus, gpus in nodes])


def seen_cluster(store: RunStore, since: float) -> list[SeenNode]:
    """The alive nodes of the last snapshot, if it was taken after `since` (else none: no dispatcher looks)."""
    rows = store.connection().execute(
        "SELECT node_id, hostname, cpus, gpus, seen_at FROM cluster_nodes WHERE seen_at > ? ORDER BY node_id", (since,))
    return [SeenNode(r["node_id"], r["hostname"], r["cpus"], r["gpus"], r["seen_at"]) for r in rows]
