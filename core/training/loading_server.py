"""The warm loader: one process that imported Keras once, forking a fresh child for each student's model file to
load (core/training/model_loading.py runs in that child). The file is still loaded in a process of its own that is
bounded in memory and time and ends with its answer, as with a process started per file; only the seconds of
importing TensorFlow are paid once per server process instead of once per file (a check takes 0.2–0.7 s instead
of 4–5 s here).

`python -m core.training.loading_server SOCKET`: started by core/training/loading_process.py with the loading
child's filtered environment (no secret of the server's), it listens on the Unix socket SOCKET (in a folder only its
owner may enter), says "ready" on stdout, and ends when its parent closes its stdin. A request is one JSON line,
{"argv": [...], "scratch": FOLDER, "memory": BYTES, "seconds": LIMIT}; the child answers on the same connection with
what model_loading.main prints. This process kills a child still running after its LIMIT (and each child dies with
it), reaps every child, and never reads a file itself: it only forks."""
from __future__ import annotations

import contextlib
import ctypes
import json
import os
import resource
import selectors
import shutil
import signal
import socket
import sys
import tempfile
import time

MAX_REQUEST = 64 * 1024
REQUEST_SECONDS = 5  # the server process sends its one line at once
_PR_SET_PDEATHSIG, _PR_SET_DUMPABLE = 1, 4
_LOADER_PID = os.getpid()


def _prctl(option: int, value: int) -> None:
    """Linux's prctl, where there is one (elsewhere the guard is simply not there)."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(option, value, 0, 0, 0)


def _read_request(conn: socket.socket) -> dict:
    """The request line (from the server process that started this one), bounded in size and time."""
    conn.settimeout(REQUEST_SECONDS)
    received = b""
    while b"\n" not in received and len(received) < MAX_REQUEST:
        chunk = conn.recv(4096)
        if not chunk:
            break
        received += chunk
    conn.settimeout(None)
    return json.loads(received.split(b"\n", 1)[0])


def _answer(conn: socket.socket, request: dict, loader: int) -> None:
    """In a forked child: bound this process, point its stdout at the connection, load, end (whatever happens)."""
    try:
        _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)  # the loader gone, nothing would bound this child any more
        if os.getppid() != loader:
            return
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        resource.setrlimit(resource.RLIMIT_AS, (request["memory"], request["memory"]))
        os.environ["TMPDIR"] = tempfile.tempdir = request["scratch"]  # removed by the caller, even if this is killed
        os.dup2(conn.fileno(), 1)
        os.dup2(os.open(os.devnull, os.O_WRONLY), 2)  # TensorFlow's and Keras' chatter: not part of the answer
        from core.training.model_loading import main

        main([str(arg) for arg in request["argv"]])
        sys.stdout.flush()
    finally:
        os._exit(0)


def _settle(children: dict[int, float]) -> None:
    """Reap the children that ended; kill those past their deadline (reaped at the next look)."""
    for pid, deadline in list(children.items()):
        with contextlib.suppress(ChildProcessError):
            if os.waitpid(pid, os.WNOHANG)[0] == pid:
                del children[pid]
                continue
        if time.monotonic() > deadline:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)  # not reaped yet: the pid is still this child's


def serve(path: str) -> None:
    """Import Keras and the loading code, then fork a child per request on `path` until stdin closes; then remove
    the socket's folder (its server process may have ended without a chance to)."""
    try:
        _serve(path)
    finally:
        if os.getpid() == _LOADER_PID:  # not in a child that returned here
            shutil.rmtree(os.path.dirname(path), ignore_errors=True)


def _serve(path: str) -> None:
    # No other process of this user may read or trace this long-lived one, nor its children: a child that a hostile
    # file took over cannot reach into the loader that later students' files are loaded from.
    _prctl(_PR_SET_DUMPABLE, 0)
    from core.training.threads import import_keras

    import_keras()
    import h5py  # noqa: F401 - the weights' check, in every child

    import core.training.inspection  # noqa: F401 - feature maps
    import core.training.model_loading  # noqa: F401

    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(8)
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ)
    selector.register(sys.stdin, selectors.EVENT_READ)
    children: dict[int, float] = {}  # pid -> when it is killed
    print("ready", flush=True)
    while True:
        for key, _ in selector.select(timeout=0.5 if children else None):
            if key.fileobj is sys.stdin:
                if not os.read(sys.stdin.fileno(), 1024):  # the server process closed it, or ended
                    for pid in children:
                        with contextlib.suppress(ProcessLookupError):
                            os.kill(pid, signal.SIGKILL)
                    return
                continue
            conn, _ = listener.accept()
            with conn:
                try:
                    request = _read_request(conn)
                except (OSError, ValueError):
                    continue
                loader = os.getpid()
                pid = os.fork()
                if pid == 0:
                    selector.close()
                    listener.close()
                    _answer(conn, request, loader)
                children[pid] = time.monotonic() + float(request.get("seconds", 120))
        _settle(children)


if __name__ == "__main__":
    serve(sys.argv[1])
