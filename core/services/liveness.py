"""Find runs whose worker died and mark them failed, so nothing stays `running` forever."""
from __future__ import annotations

import os
import socket
import time

from core.store.runs import RUNNING, RunStore


def process_alive(pid: int) -> bool:
    """True if process `pid` exists on this machine and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            # The state follows the parenthesised command name, which may hold spaces.
            state = fh.read().rsplit(")", 1)[1].split()[0]
        return state not in ("Z", "X")
    except FileNotFoundError:
        return False
    except OSError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def reap_dead_runs(store: RunStore, heartbeat_timeout: float, now: float | None = None) -> list[int]:
    """Fail running runs whose worker process is gone or silent; return their ids."""
    now = time.time() if now is None else now
    host = socket.gethostname()
    reaped = []
    for run in store.list_runs(statuses=[RUNNING]):
        reason = None
        if run.worker_host == host and run.worker_pid and not process_alive(run.worker_pid):
            reason = f"worker process {run.worker_pid} died (killed, or out of memory)"
        elif run.heartbeat_at is not None and now - run.heartbeat_at > heartbeat_timeout:
            reason = f"no heartbeat from worker {run.worker_pid} for {now - run.heartbeat_at:.0f} s; it probably died"
        if reason and store.fail_run(run.id, reason):
            reaped.append(run.id)
    return reaped
