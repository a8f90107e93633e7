"""What the cluster is doing (`python -m core cluster status`): its nodes, their CPUs and GPUs, and the runs
each one trains, from Ray's view of the nodes and the store's running runs."""
from __future__ import annotations

from dataclasses import dataclass

from core.domain.placement import on_node
from core.domain.statuses import QUEUED, RUNNING
from core.errors import Refusal
from core.runtime.ray_executor import Node, cluster_nodes
from core.settings import Settings, load_settings
from core.store.runs import Run, RunStore


@dataclass(frozen=True)
class NodeLoad:
    """A node and the runs training on it now."""

    node: Node
    runs: tuple[Run, ...]


@dataclass(frozen=True)
class ClusterStatus:
    """The cluster at one moment: nodes with their runs, queued runs, and running runs on no known node."""

    address: str
    nodes: tuple[NodeLoad, ...]
    queued: int
    elsewhere: tuple[Run, ...]  # running, but on a node Ray no longer lists (about to be re-queued)


def status(settings: Settings | None = None) -> ClusterStatus:
    """The cluster's nodes and what each trains; a Refusal (one line) when the executor is not Ray or no
    cluster answers."""
    settings = settings or load_settings()
    if settings.executor != "ray":
        raise Refusal("cluster: this lab trains on its own worker pool (TRAINLAB_EXECUTOR=local); set "
                           "TRAINLAB_EXECUTOR=ray and TRAINLAB_RAY_ADDRESS to use a Ray cluster "
                           "(README: Running on several machines)")
    nodes = cluster_nodes(settings)
    store = RunStore(settings.store_location)
    running = store.list_runs(statuses=[RUNNING])
    placed: set[int] = set()
    loads = []
    for node in nodes:
        mine = tuple(r for r in running if on_node(r.worker_host, node.node_id))
        placed.update(r.id for r in mine)
        loads.append(NodeLoad(node, mine))
    queued = store.count_by_status().get(QUEUED, 0)
    return ClusterStatus(settings.ray_address, tuple(loads), queued, tuple(r for r in running if r.id not in placed))
