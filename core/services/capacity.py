"""How many runs train at once: the local pool's workers, or what a Ray cluster's nodes hold.

The Train page's "at a time", the queue's likely starts and a sweep's duration all divide work by this.
On a cluster it comes from the nodes the dispatcher last saw (core/store/cluster.py), not from
TRAINLAB_WORKERS, which sizes only the local pool.
"""
from __future__ import annotations

import math
import time

from core.settings import Settings
from core.store.cluster import SeenNode, seen_cluster
from core.store.runs import RunStore

FRESH_SECONDS = 60.0  # an older snapshot is from a dispatcher that no longer looks


def cluster_nodes_seen(settings: Settings) -> list[SeenNode]:
    """The Ray cluster's alive nodes as the dispatcher last saw them (none off a cluster, or before it looked)."""
    if settings.executor != "ray":
        return []
    return seen_cluster(RunStore(settings.store_location), time.time() - FRESH_SECONDS)


def runs_at_once(settings: Settings, cpus: int | None = None, gpus: int | None = None,
                 nodes: list[SeenNode] | None = None) -> int:
    """How many runs of `cpus` CPUs and `gpus` GPUs (default: TRAINLAB_RUN_CPUS and TRAINLAB_RUN_GPUS) train
    at once: on a Ray cluster, what its nodes hold together (each node holds whole runs only); else, and
    until the dispatcher has seen the cluster, the pool's TRAINLAB_WORKERS."""
    if settings.executor != "ray":
        return settings.workers
    nodes = cluster_nodes_seen(settings) if nodes is None else nodes
    if not nodes:
        return settings.workers
    cpus = cpus or settings.run_cpus
    gpus = settings.run_gpus if gpus is None else gpus
    held = sum(min(int(n.cpus // cpus), int(n.gpus // gpus) if gpus else math.inf) for n in nodes)
    return max(1, int(held))
