"""Shared fixtures: every test gets its own lab folder and Keras cache, and no stray workers."""
from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pytest

from core.data.synthetic import make_cifar10, make_cifar100, make_fashion_files, write_idx_gz  # noqa: F401 (shared)
from core.domain.people import Actor
from core.settings import Settings, load_settings
from core.store.runs import RunStore

PROJECT_ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# The tests' Ray clusters listen on loopback only; Ray, when imported, would otherwise swap 127.0.0.1 for
# this machine's network address (core/runtime/ray_executor.py sets the same in a process of its own).
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
# Three test processes share two cores, each training in-process now and then: one TensorFlow thread of each kind
# apiece keeps them from crowding each other out (a pool's workers and a tracked script set their own threads).
os.environ.setdefault("TF_NUM_INTRAOP_THREADS", "1")
os.environ.setdefault("TF_NUM_INTEROP_THREADS", "1")


def pytest_configure(config):
    _scan_streamlit_components_once()
    if os.environ.get("PYTEST_XDIST_WORKER"):  # before a test module imports Keras: without scikit-learn, as a worker
        from core.training.threads import import_keras

        import_keras()


@pytest.hookimpl(trylast=True)  # after pytest-randomly has shuffled them
def pytest_collection_modifyitems(config, items):
    """The slow tests (a browser, real worker pools) first, in their shuffled order, then the rest: xdist
    hands tests out in this order, so the quick ones fill the gaps at the end instead of one slow test
    starting last and running alone while the other processes wait (measured: the three processes now end
    within two seconds of one another)."""
    items.sort(key=lambda item: not (item.get_closest_marker("browser") or item.get_closest_marker("integration")))
    if getattr(config.option, "loadgroup", False):  # set in each xdist process under --dist loadgroup
        _name_groups(items)


def _name_groups(items) -> None:
    """What pytest-xdist 3.8 does for `--dist loadgroup`, which pytest 9.2 undid: a test marked
    `xdist_group("g")` gets "@g" at the end of its node id, by which the scheduler sends a group to one process.
    xdist sets the old `_nodeid` attribute, which pytest 9.2's node ids no longer read, so every group was handed
    out test by test (the Ray tests, and each module fixture built once per process)."""
    from _pytest.nodeid import coerce_node_id  # pytest 9.2's node id type: no public way to rename a test

    for item in items:
        names = sorted({str(mark.args[0] if mark.args else mark.kwargs.get("name", "default"))
                        for mark in item.iter_markers("xdist_group")})
        if names and "@" not in item.nodeid:
            item._id = coerce_node_id(f"{item.nodeid}@{'_'.join(names)}")


def _scan_streamlit_components_once():
    """Each AppTest rescans every installed package for Streamlit components (a tenth of the page tests'
    time); the installed packages cannot change during a test session."""
    import functools

    from streamlit.components.v2 import manifest_scanner

    manifest_scanner.scan_component_manifests = functools.cache(manifest_scanner.scan_component_manifests)


@pytest.fixture(scope="session")
def postgres_server():
    """One throwaway PostgreSQL server for the whole test session, started on first use."""
    from tests.postgres_support import PostgresServer

    server = PostgresServer().start()
    yield server
    server.remove()


@pytest.fixture
def db(request) -> str:
    """The store's database: "sqlite" unless a test asks for both with `on_both_databases`."""
    return getattr(request, "param", "sqlite")


# Runs a test once on SQLite and once on PostgreSQL (a new database on the session's server).
on_both_databases = pytest.mark.parametrize("db", ["sqlite", "postgresql"], indirect=True)


@pytest.fixture
def lab(tmp_path, monkeypatch, db, request) -> Settings:
    """An empty Train Lab home in a temp folder; workers do not start by themselves. Its store is SQLite,
    or a new PostgreSQL database when the test is parametrized with `on_both_databases`."""
    if db == "postgresql":
        monkeypatch.setenv("TRAINLAB_DB_URL", request.getfixturevalue("postgres_server").new_database())
    else:
        monkeypatch.delenv("TRAINLAB_DB_URL", raising=False)
    monkeypatch.setenv("TRAINLAB_HOME", str(tmp_path / "lab"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setenv("TRAINLAB_FASHION_MNIST_DIR", str(tmp_path / "no-debian-fashion"))
    monkeypatch.setenv("TRAINLAB_AUTOSTART_WORKERS", "0")
    monkeypatch.setenv("TRAINLAB_REPORT_INTERVAL", "0.05")
    monkeypatch.setenv("TRAINLAB_DATA_ROOT", str(tmp_path / "data-root"))
    # Each test's lab is new, so `auto` would measure XLA again in every long run: seconds of compile each.
    # tests/test_training_modes.py measures with it on.
    monkeypatch.setenv("TRAINLAB_MEASURE_TRAINING_MODES", "0")
    return load_settings()


@pytest.fixture
def fashion(lab, tmp_path, monkeypatch) -> Settings:
    """The lab with a tiny stand-in for Debian's Fashion-MNIST (200 / 40 images; the real one has 60,000)."""
    folder = tmp_path / "fashion"
    make_fashion_files(folder, n_train=200, n_test=40)
    monkeypatch.setenv("TRAINLAB_FASHION_MNIST_DIR", str(folder))
    return load_settings()


TESS, AMY, BEN = Actor("tess", "teacher"), Actor("amy", "student"), Actor("ben", "student")


@pytest.fixture
def classroom(lab, monkeypatch) -> Settings:
    """The lab in classroom mode with a teacher (tess) and two students (amy, ben), passwords NAME-password."""
    from core.services import accounts

    monkeypatch.setenv("TRAINLAB_CLASSROOM", "1")
    settings = load_settings()
    with monkeypatch.context() as patched:  # the three passwords' hashes are made once per process
        patched.setattr(accounts, "_hasher", _HashOnce(accounts._hasher))
        for actor in (TESS, AMY, BEN):
            accounts.add(actor.name, actor.role, f"{actor.name}-password", settings)
    return settings


class _HashOnce:
    """argon2's hasher for the classroom fixture's accounts: each password's real salted argon2id hash is made
    once per process and reused (a hash is 0.2 s of CPU, and forty tests make three). Every check of a
    password, and every other account a test makes, is hashed as usual."""

    _made: dict[str, str] = {}

    def __init__(self, hasher):
        self._hasher = hasher

    def hash(self, password: str) -> str:
        if password not in self._made:
            self._made[password] = self._hasher.hash(password)
        return self._made[password]


@pytest.fixture
def store(lab) -> RunStore:
    """The run store of the test's lab."""
    s = RunStore(lab.store_location)
    yield s
    s.close()


def make_mnist_npz(path: Path, n_train: int = 30, n_test: int = 10) -> None:
    """A tiny `mnist.npz` in Keras' format: uint8 (N, 28, 28) images, uint8 labels."""
    rng = np.random.default_rng(1)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, x_train=rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
             y_train=(np.arange(n_train) % 10).astype(np.uint8),
             x_test=rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
             y_test=(np.arange(n_test) % 10).astype(np.uint8))


def make_image_folder(folder: Path, counts: dict[str, int], size=(32, 24), fmt="PNG") -> None:
    """Class sub-folders of small real images (each class its own colour) for image-folder tests."""
    from PIL import Image

    for i, (name, n) in enumerate(counts.items()):
        (folder / name).mkdir(parents=True, exist_ok=True)
        for j in range(n):
            colour = (40 + 80 * i, 200 - 60 * i, (j * 7) % 255)
            Image.new("RGB", size, colour).save(folder / name / f"{j}.{fmt.lower()}", fmt)


def start_pool(monkeypatch, **env: str) -> Settings:
    """A real worker pool for the test's lab (fast heartbeats and reports, plus `env`), started and up."""
    from core.runtime import worker

    for name, value in {"TRAINLAB_WORKERS": "2", "TRAINLAB_HEARTBEAT_INTERVAL": "0.5",
                        "TRAINLAB_REPORT_INTERVAL": "0.1", **env}.items():
        monkeypatch.setenv(name, value)
    settings = load_settings()
    assert worker.ensure_running(settings)
    # Up means holding its lock and its pid written (a test may read the pool's pid at once).
    wait_for(lambda: (pool := worker.status(settings)).running and pool.pid, 30, what="the worker pool to start")
    return settings


def child_pids(pid: int, live_only: bool = False) -> list[int]:
    """The processes whose parent is `pid`, from /proc; `live_only`: not those ended and not yet reaped."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            state, parent = stat.rsplit(")", 1)[1].split()[:2]
            if int(parent) == pid and not (live_only and state == "Z"):
                found.append(int(entry.name))
    return found


def wait_for(predicate, timeout: float, interval: float = 0.2, what: str = "condition"):
    """Poll `predicate` until it returns a truthy value; fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


@pytest.fixture
def server(lab, monkeypatch, tmp_path):
    """The app served on a free port, with workers starting on demand; all stopped afterwards."""
    from core.runtime import worker
    from tests.browser_support import StreamlitServer

    # One worker: these tests train one run at a time, and each worker's TensorFlow import is seconds of CPU.
    monkeypatch.setenv("TRAINLAB_AUTOSTART_WORKERS", "1")
    monkeypatch.setenv("TRAINLAB_WORKERS", "1")
    app = StreamlitServer(tmp_path / "streamlit.log")
    app.start()
    try:
        yield app
    finally:
        app.stop()
        worker.stop(load_settings())


@pytest.fixture(scope="module")
def chromium():
    """Debian's Chromium driven by Playwright, one per test module (a launch costs a second of CPU; each test
    still gets a fresh context through `page`). A module whose tests call asyncio.run must launch its own:
    Playwright's sync API keeps an event loop marked running while it is open."""
    from tests.browser_support import CHROMIUM, CHROMIUM_FLAGS

    assert Path(CHROMIUM).exists(), "browser tests need Debian's chromium: run `make browser`"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium):
    """A page of its own context (no cookies or storage from another test), 1400 × 1000."""
    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    yield context.new_page()
    context.close()
