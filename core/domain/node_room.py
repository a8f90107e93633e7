"""Where on a Ray cluster a run goes: the room each node has left, and the node a run of a given size takes.

The dispatcher places each run on a node itself (Ray then holds it to that node) instead of leaving it to
Ray: it counts each node's room from what it handed out, so a run never waits inside Ray, hidden from the
classroom's fair order, for room that only the cluster's totals promised. Pure functions over `ray.nodes()`
dicts, so they are tested without a cluster.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from core.domain.wording import counted


@dataclass
class Room:
    """What one alive node has: its totals and what is still free of them."""

    node_id: str
    cpus: float
    gpus: float
    free_cpus: float
    free_gpus: float

    def holds(self, cpus: int, gpus: int) -> bool:
        """Whether a run asking for `cpus` and `gpus` fits in what is free now."""
        return self.free_cpus >= cpus and self.free_gpus >= gpus


def resources(node: dict) -> tuple[float, float]:
    """The CPUs and GPUs of one `ray.nodes()` entry."""
    resources = node.get("Resources", {})
    return float(resources.get("CPU", 0)), float(resources.get("GPU", 0))


def free_room(nodes: list[dict], handed: Iterable[tuple[str, int, int]]) -> dict[str, Room]:
    """Each alive node's room, less the (node, CPUs, GPUs) of the runs handed to it and not yet ended."""
    room = {}
    for node in nodes:
        if node.get("Alive"):
            cpus, gpus = resources(node)
            room[node["NodeID"]] = Room(node["NodeID"], cpus, gpus, cpus, gpus)
    for node_id, cpus, gpus in handed:
        if node_id in room:
            room[node_id].free_cpus -= cpus
            room[node_id].free_gpus -= gpus
    return room


def choose_node(room: dict[str, Room], cpus: int, gpus: int) -> str | None:
    """The node a run asking for `cpus` and `gpus` goes to now, or None when none has that free.

    A CPU-only run keeps off the GPU machines while others have room (a GPU run then finds its machine's
    CPUs free), and takes the emptiest machine, so a lab's runs spread over its PCs instead of crowding
    one. A GPU run takes the machine whose free GPUs it fits most tightly, then the one with the most CPUs
    free. Ties go to the lower node id, so the choice does not depend on dict order."""
    fits = [r for r in room.values() if r.holds(cpus, gpus)]
    if not fits:
        return None
    if gpus:
        best = min(fits, key=lambda r: (r.free_gpus, -r.free_cpus, r.node_id))
    else:
        best = min(fits, key=lambda r: (r.gpus > 0, -r.free_cpus, r.node_id))
    return best.node_id


def node_to_hold(room: dict[str, Room], cpus: int, gpus: int) -> str | None:
    """The node to keep for a run that has waited too long for room: of the nodes big enough for it in all,
    the one nearest to having it free (a CPU-only run keeps off the GPU machines here too). Only that node
    stops taking the runs behind it; the others go on training them."""
    big_enough = [r for r in room.values() if r.cpus >= cpus and r.gpus >= gpus]
    if not big_enough:
        return None
    return min(big_enough, key=lambda r: (not gpus and r.gpus > 0, -min(r.free_gpus, gpus),
                                          -min(r.free_cpus, cpus), r.node_id)).node_id


def placeable(nodes: list[dict], cpus: int, gpus: int) -> bool:
    """Whether one alive node has `cpus` CPUs and `gpus` GPUs in all (whatever it runs now)."""
    return any(node.get("Alive") and resources(node)[0] >= cpus and resources(node)[1] >= gpus for node in nodes)


def too_big(cpus: int, gpus: int, nodes: list[dict]) -> str:
    """Why a run was cancelled: no node of the cluster has what it asks for."""
    alive = [resources(node) for node in nodes if node.get("Alive")]
    most_cpus = max((c for c, _ in alive), default=0)
    most_gpus = max((g for _, g in alive), default=0)
    return (f"it asks for {counted(cpus, 'CPU')} and {counted(gpus, 'GPU')}, and no node of the Ray cluster has "
            f"that (the largest: {counted(most_cpus, 'CPU')}, {counted(most_gpus, 'GPU')}); run it again with fewer "
            "(cpus, gpus), or add a node that has them")
