"""The warm loader: one process that imported Keras once, forking a fresh child for each student's model file to
load (core/training/model_loading.py runs in that child). The file is still loaded in a process of its own that is
bounded in memory and ends with its answer, as with a process started per file; only the seconds of importing
TensorFlow are paid once per server process instead of once per file (a check takes ~1 s instead of ~5).

`python -m core.training.loading_server SOCKET`: started by core/training/loading_process.py with the loading
child's filtered environment (no secret of the server's), it listens on the Unix socket SOCKET (in a folder only its
owner may enter), says "ready" on stdout, and ends when its parent closes its stdin. A request is one JSON line,
{"argv": [...], "scratch": FOLDER, "memory": BYTES}; the child answers on the same connection: its pid on the first
line, then what model_loading.main prints. Nothing of a file ever reaches this process: it only forks."""
from __future__ import annotations

import json
import os
import resource
import selectors
import signal
import socket
import sys
import tempfile

MAX_REQUEST = 64 * 1024


def _read_request(conn: socket.socket) -> dict:
    """The request line (from the server process that started this one), bounded."""
    received = b""
    while b"\n" not in received and len(received) < MAX_REQUEST:
        chunk = conn.recv(4096)
        if not chunk:
            break
        received += chunk
    return json.loads(received.split(b"\n", 1)[0])


def _answer(conn: socket.socket) -> None:
    """In a forked child: bound this process, point its stdout at the connection, load, end (whatever happens)."""
    try:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        request = _read_request(conn)
        resource.setrlimit(resource.RLIMIT_AS, (request["memory"], request["memory"]))
        os.environ["TMPDIR"] = tempfile.tempdir = request["scratch"]  # removed by the caller, even if this is killed
        os.dup2(conn.fileno(), 1)
        os.dup2(os.open(os.devnull, os.O_WRONLY), 2)  # TensorFlow's and Keras' chatter: not part of the answer
        print(os.getpid(), flush=True)
        from core.training.model_loading import main

        main([str(arg) for arg in request["argv"]])
        sys.stdout.flush()
    finally:
        os._exit(0)


def serve(path: str) -> None:
    """Import Keras and the loading code, then fork a child per connection on `path` until stdin closes."""
    from core.training.threads import import_keras

    import_keras()
    import h5py  # noqa: F401 - the weights' check, in every child

    import core.training.inspection  # noqa: F401 - feature maps
    import core.training.model_loading  # noqa: F401

    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel: none lingers as a zombie
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(8)
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ)
    selector.register(sys.stdin, selectors.EVENT_READ)
    print("ready", flush=True)
    while True:
        for key, _ in selector.select():
            if key.fileobj is sys.stdin:
                if not os.read(sys.stdin.fileno(), 1024):  # the server process closed it, or ended
                    return
                continue
            conn, _ = listener.accept()
            if os.fork() == 0:
                selector.close()
                listener.close()
                _answer(conn)
            conn.close()


if __name__ == "__main__":
    serve(sys.argv[1])
