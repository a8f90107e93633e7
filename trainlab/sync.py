"""`python -m core sync`: send the requests a tracked script could not send before it ended (Train Lab was
away or locked then), in order, from the spool files. A request sent before is stored once (starts are
found by their key, reports by their number). A run whose script is gone without saying how its fit ended
is ended failed, with why."""
from __future__ import annotations

import json
import os
from pathlib import Path

from trainlab.reporter import spool_dir
from trainlab.sinks import HttpSink, LocalSink, Refused, Unreachable


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def send_spooled(folder: Path | None = None) -> list[str]:
    """Send every spool file's requests; one line per file on what happened."""
    folder = folder or spool_dir()
    said = []
    for path in sorted(folder.glob("*.jsonl")) if folder.is_dir() else []:
        said.append(f"{path.name}: {_send_file(path)}")
    return said


def _send_file(path: Path) -> str:
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    header, requests = lines[0], lines[1:]
    if _alive(int(header.get("pid", 0))) and header.get("pid") != os.getpid():
        return f"its script (process {header['pid']}) still runs and sends them itself"
    if header.get("sink") == "http":
        key = os.environ.get("TRAINLAB_KEY", "").strip()
        if not key:
            return f"for the server {header.get('url')}: set TRAINLAB_KEY to your key first; left as it is"
        sink = HttpSink(header["url"], key)
    else:
        sink = LocalSink()
        if header.get("home") != sink.home:
            return f"written for the Train Lab in {header.get('home')}, not this one ({sink.home}); left as it is"
    run_id, ended, epoch = header.get("run"), False, 0
    try:
        for request in requests:
            op, payload = request["op"], request["payload"]
            if op == "start":
                run_id = sink.call("start", payload)["run"]
                continue
            if run_id is None:
                return "its run was never started; left as it is"
            sink.call(op, {"run": run_id, "key": header["key"], **payload})
            ended = ended or op == "end"
            epoch = payload.get("epoch", epoch) if op == "report" else epoch
        if not ended and run_id is not None:
            sink.call("end", {"run": run_id, "key": header["key"], "status": "failed", "error":
                              f"the script stopped at epoch {max(1, epoch)}; its last points were sent later by "
                              "python -m core sync"})
    except Unreachable as exc:
        return f"Train Lab still cannot take them ({exc}); try again later"
    except Refused as exc:
        path.unlink()
        return f"refused ({exc}); the file is removed"
    path.unlink()
    return f"sent {len(requests)} requests of run #{run_id}"
