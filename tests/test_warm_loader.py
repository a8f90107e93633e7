"""The warm loader (core/training/loading_server.py): a student's model file is still loaded in a bounded process
of its own that ends with its answer, forked from one process per server that imported Keras once; that process
holds none of the server's secrets, kills a child that takes too long, and ends with the server process."""
import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from core.errors import Refusal
from tests.conftest import PROJECT_ROOT, child_pids, wait_for

pytestmark = pytest.mark.xdist_group("model_file_checks")


def _saved(folder: Path, name: str, hidden: int) -> Path:
    """A Sequential model for 8×8 images with `hidden` Dense layers, saved by Keras as `name`."""
    import keras

    keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(),
                      *[keras.layers.Dense(16, activation="relu") for _ in range(hidden)],
                      keras.layers.Dense(10, activation="softmax")]).save(folder / name)
    return folder / name


@pytest.fixture(scope="module")
def model_file(tmp_path_factory) -> Path:
    return _saved(tmp_path_factory.mktemp("warm"), "small.keras", 0)


@pytest.fixture(scope="module")
def deep_file(tmp_path_factory) -> Path:
    """40 Dense layers: loading it takes its child most of a second, long enough to catch it."""
    return _saved(tmp_path_factory.mktemp("warm"), "deep.keras", 40)


def _children(pid: int) -> list[int]:
    return child_pids(pid, live_only=True)  # a child ended and not yet reaped is no longer loading


SCRIPT = """
import json, os, sys
from core.training.loading_process import _warm, load_in_process
answers = [load_in_process(sys.argv[1], 1_000_000)["params"] for _ in range(3)]
loader = _warm._process.pid
environ = open(f"/proc/{loader}/environ", "rb").read().decode(errors="replace")
print(json.dumps({"params": answers, "loader": loader, "secret_seen": "hunter2" in environ, "folder": _warm._folder}),
      flush=True)
os.kill(os.getpid(), 9)  # a server process killed: no exit handler of its own runs
"""


def test_files_load_in_children_of_one_loader_with_no_secret_that_ends_with_its_killed_server(model_file):
    env = {**os.environ, "TRAINLAB_DB_URL": "postgresql://teacher:hunter2@127.0.0.1/lab", "TRAINLAB_KEY": "hunter2"}
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(model_file)], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == -signal.SIGKILL, done.stderr[-2000:]
    said = json.loads(done.stdout.strip().splitlines()[-1])
    assert said["params"] == [650, 650, 650] and not said["secret_seen"]
    # The server process is gone: its loader goes with it (its stdin closed), leaving no process nor folder behind.
    wait_for(lambda: not Path(f"/proc/{said['loader']}").exists(), 30, what="the warm loader to end with its server")
    wait_for(lambda: not Path(said["folder"]).exists(), 10, what="the loader's folder to be removed")


def test_a_load_that_takes_too_long_is_killed_and_said_in_one_line(model_file, deep_file):
    from core.training.loading_process import _warm, load_in_process

    assert load_in_process(model_file, 1_000_000)["params"] == 650  # the loader is up
    loader = _warm._process.pid
    stopped = []

    def stop_the_child() -> None:  # a child that hangs, as a hostile file might make it
        child = wait_for(lambda: _children(loader), 30, interval=0.01, what="a loading child")[0]
        os.kill(child, signal.SIGSTOP)
        stopped.append(child)

    stopper = threading.Thread(target=stop_the_child)
    stopper.start()
    with pytest.raises(Refusal, match=r"^model: loading it took longer than 5 s; it is not loaded$"):
        load_in_process(deep_file, 1_000_000, timeout=5)
    stopper.join()
    wait_for(lambda: not _children(loader), 30, what="the stopped child to be killed")
    assert stopped and load_in_process(model_file, 1_000_000)["params"] == 650  # the same loader answers again
    assert _warm._process.pid == loader


def test_two_loads_at_once_and_a_loader_that_died_is_started_again_in_a_private_folder(model_file, deep_file):
    import stat
    from concurrent.futures import ThreadPoolExecutor

    from core.training.loading_process import _warm, load_in_process

    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda path: load_in_process(path, 1_000_000)["params"], (model_file, deep_file)))
    assert answers[0] == 650 and answers[1] > 650
    folder, loader = Path(_warm._folder), _warm._process.pid
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700  # no other user may reach its socket
    os.kill(loader, signal.SIGKILL)  # the kernel's OOM killer, say
    wait_for(lambda: _warm._process.poll() is not None, 30, what="the loader to be gone")
    assert load_in_process(model_file, 1_000_000)["params"] == 650
    assert _warm._process.pid != loader and not folder.exists()  # a new one, the old folder removed
