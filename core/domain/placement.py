"""Where a run trained, in words: on a Ray cluster a run's worker host names the machine and its node."""
from __future__ import annotations

_MARK = " · Ray node "


def node_label(hostname: str, node_id: str) -> str:
    """A run's worker host on the cluster: "vm-12 · Ray node 3f2a9c1b"."""
    return f"{hostname}{_MARK}{node_id[:8]}"


def on_node(worker_host: str | None, node_id: str) -> bool:
    """Whether a run with this worker host trains on Ray node `node_id`."""
    return bool(worker_host) and worker_host.endswith(f"{_MARK}{node_id[:8]}")


def cluster_placement(worker_host: str | None) -> str | None:
    """The worker host when the run trained on a cluster node (None for this machine's own pool)."""
    return worker_host if worker_host and _MARK in worker_host else None
