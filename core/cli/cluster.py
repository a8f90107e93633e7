"""`python -m core cluster status`: the Ray cluster's nodes, their CPUs and GPUs, and what each trains."""
from __future__ import annotations

from core.domain.wording import counted
from core.services import cluster


def add_cluster_commands(sub) -> None:
    """The `cluster` command and its actions."""
    sub.add_parser("cluster", help="the Ray cluster: its nodes and what each trains").add_argument(
        "action", choices=("status",))


def _cluster(args, parser) -> int:
    state = cluster.status()
    alive = [load for load in state.nodes if load.node.alive]
    cpus, gpus = sum(n.node.cpus for n in alive), sum(n.node.gpus for n in alive)
    training = sum(len(n.runs) for n in state.nodes) + len(state.elsewhere)
    print(f"Ray cluster at {state.address}: {counted(len(alive), 'node')} alive, {counted(cpus, 'CPU')}, "
          f"{counted(gpus, 'GPU')}; {counted(training, 'run')} training, {state.queued} queued")
    print(f"{'node':<10} {'address':<16} {'host':<18} {'state':<6} {'CPUs':>5} {'GPUs':>5}  training")
    for load in state.nodes:
        node = load.node
        runs = ", ".join(f"#{r.id} {r.name}" + (f" ({r.owner})" if r.owner else "") for r in load.runs) or "-"
        print(f"{node.node_id[:8]:<10} {node.address:<16} {node.hostname[:18]:<18} "
              f"{'alive' if node.alive else 'gone':<6} {node.cpus:>5g} {node.gpus:>5g}  {runs}")
    for run in state.elsewhere:
        print(f"run #{run.id} {run.name} is running on {run.worker_host}, which the cluster no longer lists")
    return 0


CLUSTER_COMMANDS = {"cluster": _cluster}
