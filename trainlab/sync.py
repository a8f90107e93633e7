"""`python -m core sync`: send the requests a tracked script could not send before it ended (Train Lab was
away or locked then), in order, from the spool files. A request sent before is stored once (starts are
found by their key, reports by their number). A run whose script is gone without saying how its fit ended
is ended failed, with why."""
from __future__ import annotations

import contextlib
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


MAX_SPOOL_BYTES = 200 * 1024 * 1024  # a spool file of more was not written by the client (a run holds far less)


def send_spooled(folder: Path | None = None) -> list[str]:
    """Send every spool file's requests; one line per file on what happened. A file the client could not have
    written (a line cut by a kill mid-write, or not a spool file at all) is set aside as <name>.bad, named,
    and the others are still sent."""
    folder = folder or spool_dir()
    said = []
    for path in sorted(folder.glob("*.jsonl")) if folder.is_dir() else []:
        try:
            said.append(f"{path.name}: {_send_file(path)}")
        except (ValueError, KeyError, TypeError, IndexError, AttributeError, OSError) as exc:
            with contextlib.suppress(OSError):
                path.rename(path.with_name(path.name + ".bad"))
            said.append(f"{path.name}: not a spool file this client wrote ({type(exc).__name__}: {exc}"[:200]
                        + "); set aside as " + path.name + ".bad")
    return said


def _read(path: Path) -> tuple[dict, list[dict]]:
    """A spool file's header and requests; ValueError when it is not one."""
    if path.stat().st_size > MAX_SPOOL_BYTES:
        raise ValueError(f"over {MAX_SPOOL_BYTES // 2**20} MB")
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if not lines or not all(isinstance(line, dict) for line in lines):
        raise ValueError("not lines of JSON objects")
    header, requests = lines[0], lines[1:]
    pid = header.get("pid")
    if not isinstance(header.get("key"), str) or not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
        raise ValueError("no key or process in its first line")
    if any(r.get("op") not in ("start", "report", "end", "test", "model") or not isinstance(r.get("payload"), dict)
           for r in requests):
        raise ValueError("a line that is not a request")
    return header, requests


def _send_file(path: Path) -> str:
    header, requests = _read(path)
    if header["pid"] != os.getpid() and _alive(header["pid"]):
        return f"its script (process {header['pid']}) still runs and sends them itself"
    if header.get("sink") == "http":
        key, url = os.environ.get("TRAINLAB_KEY", "").strip(), os.environ.get("TRAINLAB_URL", "").strip().rstrip("/")
        if not key or not url:
            return f"for the server {header.get('url')}: set TRAINLAB_URL and TRAINLAB_KEY first; left as it is"
        if header.get("url") != url:  # the key goes only to the server this laptop is set to report to
            return f"written for the server {header.get('url')}, not TRAINLAB_URL ({url}); left as it is"
        sink = HttpSink(url, key)
    else:
        sink = LocalSink()
        if header.get("home") != sink.home:
            return f"written for the Train Lab in {header.get('home')}, not this one ({sink.home}); left as it is"
    run_id, ended, epoch, refused = header.get("run"), False, 0, []
    try:
        for request in requests:
            op, payload = request["op"], request["payload"]
            if op == "start":
                run_id = sink.call("start", payload)["run"]
                continue
            if run_id is None:
                return "its run was never started; left as it is"
            try:
                sink.call(op, {"run": run_id, "key": header["key"], **payload})
            except Refused as exc:  # that request alone, as the live reporter does: the rest still goes
                refused.append(str(exc))
                continue
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
    if refused:
        return f"sent {len(requests) - len(refused)} requests of run #{run_id}; {len(refused)} refused ({refused[0]})"
    return f"sent {len(requests)} requests of run #{run_id}"
