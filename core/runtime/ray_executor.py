"""A Ray cluster's nodes as the dispatcher's slots (`TRAINLAB_EXECUTOR=ray`), for a lab of several machines.

The dispatcher runs as a Ray driver and hands the fairest queued run to a node with room for its CPUs and GPUs
(core/domain/node_room.py), as one Ray task (core/runtime/ray_tasks.py) that trains it into the shared store and
artifacts folder. A task whose node left or whose worker died re-queues its run once, naming the node, then
fails it. README: "Running on several machines"."""
from __future__ import annotations

import logging
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path

from core.domain.node_room import choose_node, free_room, node_to_hold, placeable, resources, too_big
from core.domain.statuses import RUNNING
from core.errors import Refusal
from core.runtime.dispatcher import Dispatcher
from core.runtime.ray_tasks import on_node, train_on_node, warm_worker
from core.settings import PROJECT_ROOT, Settings, settings_for_node
from core.store.attempts import requeue_or_fail
from core.store.cluster import save_cluster
from core.store.queue import FairQueue

log = logging.getLogger(__name__)
NAMESPACE = "trainlab"
TASK_PREFIX = "trainlab-run-"
MAX_PASSED = 20  # queued runs too big for the room left that one look passes over before it waits
HOLD_AFTER = 60.0  # seconds a run may be passed over for smaller ones before the room is held for it
PUBLISH_EVERY = 15.0  # seconds between the dispatcher's writes of the cluster's nodes (core/store/cluster.py)
WARM_RUNS = 50  # CPU-only runs one warm worker process trains before Ray replaces it (memory: grown_past_limit)


class ClusterUnreachable(Refusal, RuntimeError):
    """No Ray cluster answers at the configured address; the message says what to do."""


def resolve_address(address: str) -> str:
    """The cluster's address: as given, or for "auto" the head `ray start --head` started on this machine."""
    if address != "auto":
        return address
    marker = Path(os.environ.get("RAY_TMPDIR", "/tmp")) / "ray" / "ray_current_cluster"
    try:
        found = marker.read_text().strip()
    except OSError:
        found = ""
    if not found:
        raise ClusterUnreachable("executor: TRAINLAB_RAY_ADDRESS is auto, but no Ray cluster was started on this "
                                 "machine; start one (ray start --head) or set TRAINLAB_RAY_ADDRESS=head-host:6379; "
                                 "nothing was queued")
    return found


def check_reachable(settings: Settings, timeout: float = 3.0) -> str:
    """The cluster's address once something answers there (a TCP connection: no Ray driver in the web
    process); ClusterUnreachable in one line otherwise."""
    address = resolve_address(settings.ray_address)
    host, _, port = address.removeprefix("ray://").rpartition(":")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except (OSError, ValueError) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc) or type(exc).__name__
        raise ClusterUnreachable(f"executor: no Ray cluster answers at {address} ({why}); start it "
                                 "(ray start --head) or fix TRAINLAB_RAY_ADDRESS; nothing was queued") from None
    return address


def connect(settings: Settings, ship_code: bool = True) -> None:
    """Join the cluster as a driver, shipping the project's `core` package to the nodes with the tasks
    (`ship_code`; a driver that only looks at the cluster sends nothing)."""
    address = check_reachable(settings)
    host = address.removeprefix("ray://").rpartition(":")[0]
    loopback = {}
    if host in ("127.0.0.1", "localhost"):
        # Ray swaps a loopback address for this machine's network one, where a cluster started on loopback
        # only (one machine, as the tests start it) does not listen; this variable, read when Ray is
        # imported, keeps it on loopback.
        os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
        loopback = {"_node_ip_address": "127.0.0.1"}
    import ray

    code = {"runtime_env": {"py_modules": [str(PROJECT_ROOT / "core")]}} if ship_code else {}
    ray.init(address=address, namespace=NAMESPACE, log_to_driver=False, logging_level=logging.WARNING,
             **code, **loopback)


@dataclass(frozen=True)
class Handed:
    """A run handed to the cluster: the node the dispatcher placed it on and what it asked for."""

    run_id: int
    cpus: int
    gpus: int
    node_id: str
    attempt: int = 0  # the run's attempts when it was handed out (its claim makes one more)


@dataclass(frozen=True)
class Node:
    """One machine of the cluster as Ray sees it."""

    node_id: str
    address: str
    hostname: str
    alive: bool
    cpus: float
    gpus: float


def cluster_nodes(settings: Settings) -> list[Node]:
    """The cluster's nodes, alive ones first (a short-lived driver; ClusterUnreachable if none answers)."""
    connect(settings, ship_code=False)
    import ray

    try:
        nodes = [Node(n["NodeID"], n.get("NodeManagerAddress", ""), n.get("NodeManagerHostname", ""),
                      bool(n.get("Alive")), *resources(n)) for n in ray.nodes()]
    finally:
        ray.shutdown()
    return sorted(nodes, key=lambda n: (not n.alive, n.address, n.node_id))


class RayDispatcher(Dispatcher):
    """The cluster's driver: keeps every node's free room busy with the fairest queued runs and settles each
    task's end (its run's status is the worker's; a lost task re-queues or fails its run)."""

    def __init__(self, settings: Settings, lock_path: Path | None = None):
        super().__init__(settings, lock_path)
        self.in_flight: dict = {}  # Ray ObjectRef -> Handed
        self._attempts: dict[int, int] = {}  # runs planned to start: their attempts so far
        self.waiting_since: dict[int, float] = {}  # queued runs passed over for want of room: since when
        self.kept_for: dict[int, str] = {}  # runs that waited too long: the node kept for each until it starts
        self._fresh = self._warm = None
        self._published: list = []  # the nodes last written for the pages, and when
        self._published_at = -PUBLISH_EVERY

    def open(self) -> None:
        """Join the cluster and warm a worker for each default-size run its nodes hold."""
        connect(self.settings)  # first: it sets what Ray reads when it is imported
        import ray

        # A GPU run gets a fresh process (the GPU's memory comes back when it ends); CPU-only runs reuse a warm one.
        self._fresh = ray.remote(max_calls=1, max_retries=0)(train_on_node)
        self._warm = ray.remote(max_calls=WARM_RUNS, max_retries=0)(train_on_node)
        self._prewarm(ray.nodes())
        log.info("dispatching runs to the Ray cluster at %s (%d CPU, %d GPU a run)", self.settings.ray_address,
                 self.settings.run_cpus, self.settings.run_gpus)

    def busy(self) -> bool:
        """Whether a run's task is out on the cluster."""
        return bool(self.in_flight)

    def hand_out(self) -> None:
        """Start the fairest queued runs that a node has room for now."""
        import ray

        nodes = ray.nodes()
        self._publish(nodes)
        room = free_room(nodes, [(h.node_id, h.cpus, h.gpus) for h in self.in_flight.values()])
        for run_id, cpus, gpus, node_id in self.plan(nodes, room):
            self._start(run_id, cpus, gpus, node_id)

    def plan(self, nodes: list[dict], room: dict, now: float | None = None) -> list[tuple[int, int, int, str]]:
        """The (run, CPUs, GPUs, node) to start now, in fair order, each on the node `choose_node` picks. A run
        no node has room for is passed over (a smaller fair run may fit) until it has waited HOLD_AFTER seconds;
        then the node nearest to holding it is kept for it, so the room freed there adds up to what it needs.
        A run no node could ever hold is cancelled in one line."""
        now = time.monotonic() if now is None else now
        passed: set[int] = set()
        starts = []
        looked_at_all = False
        # No run asks for less than one CPU: with none free anywhere, nothing to read from the store.
        if not any(r.free_cpus >= 1 for r in room.values()):
            return starts
        # The queue and its owners' loads are read once for the whole look (a few statements), not per run.
        queue = FairQueue(self.store, handed={h.run_id: h.attempt for h in self.in_flight.values()})
        while len(passed) < MAX_PASSED and any(r.free_cpus >= 1 for r in room.values()):
            run_id = queue.next()
            if run_id is None:
                looked_at_all = True
                break
            cpus, gpus = self._demand(queue.config(run_id))
            node_id = choose_node(room, cpus, gpus)
            if node_id is not None:
                starts.append((run_id, cpus, gpus, node_id))
                self._attempts[run_id] = queue.attempt(run_id)
                queue.take(run_id)
                room[node_id].free_cpus -= cpus
                room[node_id].free_gpus -= gpus
                self.waiting_since.pop(run_id, None)
                self.kept_for.pop(run_id, None)
            elif not placeable(nodes, cpus, gpus):
                self.store.cancel_unqueued([run_id], too_big(cpus, gpus, nodes))
                queue.skip(run_id)
            else:
                passed.add(run_id)
                queue.skip(run_id)
                if now - self.waiting_since.setdefault(run_id, now) >= HOLD_AFTER:
                    self._keep_node(run_id, room, cpus, gpus)
        if looked_at_all:  # a run waiting that this look did not pass over was started, cancelled or deleted
            for gone in set(self.waiting_since) - passed:
                self.waiting_since.pop(gone, None)
                self.kept_for.pop(gone, None)
        return starts

    def _keep_node(self, run_id: int, room: dict, cpus: int, gpus: int) -> None:
        """Take a node out of `room` for run `run_id`, which waited too long: the one kept at the last look
        while it is there, else the one nearest to holding it."""
        node_id = self.kept_for.get(run_id)
        if node_id not in room:
            node_id = node_to_hold(room, cpus, gpus)
        if node_id is not None:
            self.kept_for[run_id] = node_id
            room.pop(node_id)

    def _publish(self, nodes: list[dict]) -> None:
        """Write the alive nodes into the store for the pages when they change, and every PUBLISH_EVERY s."""
        alive = sorted((n["NodeID"], n.get("NodeManagerHostname", ""), *resources(n)) for n in nodes if n.get("Alive"))
        now = time.monotonic()
        if alive != self._published or now - self._published_at >= PUBLISH_EVERY:
            save_cluster(self.store, alive)
            self._published, self._published_at = alive, now

    def _start(self, run_id: int, cpus: int, gpus: int, node_id: str) -> None:
        """Hand run `run_id` to its node as one Ray task asking for its CPUs and GPUs."""
        task = self._fresh if gpus else self._warm
        ref = task.options(name=f"{TASK_PREFIX}{run_id}", **on_node(node_id, cpus, gpus)) \
            .remote(run_id, settings_for_node(self.settings), cpus)
        self.in_flight[ref] = Handed(run_id, cpus, gpus, node_id, self._attempts.pop(run_id, 0))

    def _prewarm(self, nodes: list[dict]) -> None:
        """Ready a worker process (TensorFlow imported) for each default-size CPU run each node holds, as the
        local pool warms its workers; a run handed out meanwhile trains in that process once it is warm."""
        import ray

        cpus = self.settings.run_cpus
        if self.settings.run_gpus:
            return  # GPU runs take a fresh process each
        warm = ray.remote(max_retries=0)(warm_worker)
        rooms = free_room(nodes, []).values()
        # CPU runs keep off the GPU machines while there are others (choose_node): warm only those others.
        cpu_only = [room for room in rooms if not room.gpus] or list(rooms)
        for room in cpu_only:
            for _ in range(int(room.cpus // cpus)):
                # Its ref is dropped: the warm-up runs on, and its end matters to no one.
                warm.options(name="trainlab-warm-up", **on_node(room.node_id, cpus, 0)).remote(cpus)

    def _demand(self, config: dict) -> tuple[int, int]:
        """The CPUs and GPUs a run of `config` asks for: its own, else the settings' defaults."""
        cpus, gpus = config.get("cpus"), config.get("gpus")
        return (self.settings.run_cpus if cpus is None else int(cpus),
                self.settings.run_gpus if gpus is None else int(gpus))

    def settle(self) -> None:
        """Settle the tasks that ended: a task lost without settling its run re-queues it once, or fails it."""
        import ray

        if not self.in_flight:
            return
        done, _ = ray.wait(list(self.in_flight), num_returns=len(self.in_flight), timeout=0)
        for ref in done:
            run_id = self.in_flight.pop(ref).run_id
            try:
                ray.get(ref)
            except ray.exceptions.RayError as exc:
                self._lost(run_id, f"its Ray task ended without finishing it ({type(exc).__name__}: "
                                   f"{' '.join(str(exc).split())[:120]})")

    def _lost(self, run_id: int, what: str, stopped: bool = False) -> None:
        """A task that ended (or is `stopped`) without settling its run: re-queue the run once, or fail it."""
        run = self.store.get(run_id)
        if run is None or run.status != RUNNING:
            return  # never started (still queued: handed out again) or already settled
        where = run.worker_host or "its node"
        outcome = requeue_or_fail(self.store, run_id, run.attempt, what if stopped else f"{where} was lost: {what}")
        log.warning("run %s on %s: %s -> %s", run_id, where, what, outcome)

    def close(self) -> None:
        """Re-queue the runs still training (for the next dispatcher) and end their tasks."""
        import ray

        for ref, handed in list(self.in_flight.items()):
            self._lost(handed.run_id, f"the Ray dispatcher (pid {os.getpid()}) was stopped while this run trained",
                       stopped=True)
            ray.cancel(ref, force=True)
        ray.shutdown()
