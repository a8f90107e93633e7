"""A throwaway PostgreSQL server for the tests: Debian's binaries (`make postgres` installs them), a new
cluster in a temp folder, listening on 127.0.0.1 only, fsync off, stopped and removed after.

PostgreSQL refuses to run as root, so as root (CI) the server runs as the `postgres` account the
Debian package creates; the cluster trusts local connections (nothing else can reach it)."""
from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path


def _binary(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}")) or [shutil.which(name) or ""]
    if not found[-1]:
        raise RuntimeError(f"PostgreSQL's {name} is not installed: run `make postgres` (Debian's postgresql)")
    return found[-1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresServer:
    """One cluster: `start()`, `url(database)`, `new_database()`, `stop()`, `restart()`."""

    def __init__(self):
        self.folder = Path(tempfile.mkdtemp(prefix="trainlab-pg-"))
        self.data = self.folder / "data"
        self.port = _free_port()
        self._as_root = os.geteuid() == 0

    def _run(self, *args: str) -> None:
        command = ["runuser", "-u", "postgres", "--", *args] if self._as_root else list(args)
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if done.returncode:
            raise RuntimeError(f"{' '.join(args[:2])} failed: {done.stderr.strip()[-800:]}")

    def start(self) -> "PostgresServer":
        """Make the cluster (first time) and start the server; returns self."""
        if not self.data.exists():
            if self._as_root:
                shutil.chown(self.folder, "postgres", "postgres")
            self._run(_binary("initdb"), "-D", str(self.data), "-U", "trainlab", "--auth=trust", "--no-sync",
                      "-E", "UTF8", "--locale=C")
        options = (f"-h 127.0.0.1 -p {self.port} -k {self.data} -c fsync=off -c synchronous_commit=off "
                   "-c full_page_writes=off -c max_connections=200")
        self._run(_binary("pg_ctl"), "-D", str(self.data), "-o", options, "-l", str(self.folder / "server.log"),
                  "-w", "-t", "60", "start")
        return self

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (`immediate`: as if it crashed)."""
        self._run(_binary("pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def restart(self) -> None:
        """Stop and start again on the same port: every open connection is dropped."""
        self.stop()
        self.start()

    def url(self, database: str = "postgres") -> str:
        """The URL of one of the server's databases."""
        return f"postgresql://trainlab@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """A new empty database; its URL."""
        import psycopg

        name = "t_" + uuid.uuid4().hex[:12]
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return self.url(name)

    def remove(self) -> None:
        """Stop the server if it runs, and delete its folder."""
        try:
            self.stop("immediate")
        except RuntimeError:
            pass
        shutil.rmtree(self.folder, ignore_errors=True)
