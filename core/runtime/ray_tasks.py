"""What a Ray cluster's nodes run for Train Lab (started by core/runtime/ray_executor.py): the task that trains
one run, the one that readies a warm worker, and the options that hold each to its node with its CPUs and GPUs."""
from __future__ import annotations

import logging
import os
import socket

from core.domain.clock_skew import clock_problem
from core.domain.placement import node_label
from core.domain.statuses import FAILED
from core.settings import load_settings
from core.store.runs import RunStore


def on_node(node_id: str, cpus: int, gpus: int) -> dict:
    """The Ray task options that hold a task of `cpus` CPUs and `gpus` GPUs to node `node_id`."""
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    # Ray reuses a worker process only for tasks of the same runtime environment: one per size keeps a warm
    # worker's TensorFlow threads (fixed at its first run) equal to what each run asked for.
    return {"num_cpus": cpus, "num_gpus": gpus,
            "scheduling_strategy": NodeAffinitySchedulingStrategy(node_id, soft=False),
            "runtime_env": {"env_vars": {"TRAINLAB_TASK_SIZE": f"{cpus} CPU {gpus} GPU"}}}


def warm_worker(cpus: int) -> int:
    """The Ray task that readies a worker process for CPU-only runs of `cpus` CPUs; the process id."""
    from core.training.threads import load_tensorflow, use_threads, yield_cpu

    yield_cpu(load_settings().worker_niceness)
    load_tensorflow()
    use_threads(cpus)
    return os.getpid()


def train_on_node(run_id: int, env: dict[str, str], cpus: int) -> str | None:
    """The Ray task: claim run `run_id` and train it here with the `cpus` CPU threads Ray gave it; its status."""
    import ray

    os.environ.update(env)
    os.environ.setdefault("TF_FORCE_GPU_ALLOW_GROWTH", "true")
    from core.runtime.worker_process import grown_past_limit
    from core.training.fit import execute_run
    from core.training.threads import load_tensorflow, use_threads, yield_cpu

    settings = load_settings()
    yield_cpu(settings.worker_niceness)
    load_tensorflow()
    threads = use_threads(cpus)
    host = node_label(socket.gethostname(), ray.get_runtime_context().get_node_id())
    store = RunStore(settings.store_location)
    problem = clock_problem(store.clock_offset(), settings.heartbeat_timeout)
    if problem:  # its run would be taken for lost mid-training: say why once, here, instead
        attempt = store.claim(run_id, os.getpid(), host, threads)
        if attempt is not None:
            store.finish(run_id, FAILED, error=f"on {host}: {problem}", attempt=attempt)
        return FAILED if attempt is not None else None
    status = execute_run(run_id, settings, threads=threads, host=host)
    # A warm worker that grew past TRAINLAB_WORKER_MAX_MB ends here, its run already settled in the store
    # (the dispatcher ignores the crash of a settled run's task); Ray starts a fresh one for the next run.
    if grown_past_limit(settings):
        logging.shutdown()
        os._exit(0)
    return status
