"""A damaged store or queue file gets one line naming the file and the fix, everywhere; backups."""
import os
import sqlite3
import subprocess
import sys

import pytest
from streamlit.testing.v1 import AppTest

from core.domain.config import TrainConfig
from core.runtime import worker
from core.services import jobs
from core.settings import load_settings
from core.store.runs import RunStore
from core.store.schema import StoreError
from tests.conftest import PROJECT_ROOT


def _damage(path) -> None:
    """Random bytes over the file's first page, where SQLite keeps its header."""
    with open(path, "r+b") as fh:
        fh.write(os.urandom(4096))


@pytest.fixture
def damaged_store(lab, store):
    store.create_run("before the damage", TrainConfig().to_dict())
    store.close()
    _damage(lab.db_path)
    return lab


def _cli(*args, settings) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "core", *args], cwd=PROJECT_ROOT, capture_output=True, text=True,
                          env={**os.environ, "TRAINLAB_HOME": str(settings.home)}, timeout=60)


def test_a_damaged_store_is_one_line_in_the_cli_and_no_pool_starts(damaged_store, monkeypatch):
    with pytest.raises(StoreError, match=r"store: .*trainlab.db is damaged \(file is not a database\); stop the app"):
        RunStore(damaged_store.db_path).connection()
    listed = _cli("list", settings=damaged_store)
    assert listed.returncode == 2 and listed.stderr.count("\n") == 1 and "Traceback" not in listed.stderr
    assert "trainlab.db is damaged" in listed.stderr and "README: Backing up" in listed.stderr
    for teachers_command in (["users", "list"], ["limits"], ["audit"]):  # the classroom's commands say the same
        answer = _cli(*teachers_command, settings=damaged_store)
        assert answer.returncode == 2 and "trainlab.db is damaged" in answer.stderr, teachers_command
        assert "Traceback" not in answer.stderr
    monkeypatch.setenv("TRAINLAB_AUTOSTART_WORKERS", "1")
    settings = load_settings()
    with pytest.raises(StoreError):
        jobs.submit(TrainConfig(), settings)
    assert not worker.status(settings).running  # nothing was started for a submit that could not be stored
    started = _cli("workers", "start", settings=damaged_store)  # said "started" while the pool ended at once
    assert started.returncode == 2 and "trainlab.db is damaged" in started.stderr and not started.stdout
    assert not worker.status(settings).running


def test_a_store_that_cannot_be_opened_and_a_run_number_too_large_are_one_line_each(lab):
    lab.home.mkdir(parents=True)
    lab.db_path.mkdir()  # a folder where the store's file should be
    listed = _cli("list", settings=lab)
    assert listed.returncode == 2 and listed.stderr.startswith(f"error: store: cannot open {lab.db_path}")
    assert listed.stderr.count("\n") == 1 and "a bug" not in listed.stderr
    shown = _cli("show", "99999999999999999999999", settings=lab)  # more than SQLite's integers hold
    assert shown.returncode == 2 and "invalid run_number value" in shown.stderr and "Traceback" not in shown.stderr


@pytest.mark.parametrize("page", ["app.py", "pages/runs.py", "pages/train.py", "pages/sweeps.py"])
def test_every_page_says_which_file_is_damaged_instead_of_a_traceback(damaged_store, page):
    at = AppTest.from_file(str(PROJECT_ROOT / "app.py"), default_timeout=60)
    if page != "app.py":
        at.switch_page(page)
    at.run()
    assert not at.exception
    assert len(at.error) == 1 and "trainlab.db is damaged (file is not a database)" in at.error[0].value


def test_backup_copies_the_store_while_it_is_open(lab, store):
    ids = [store.create_run(f"run {i}", TrainConfig().to_dict()) for i in range(3)]
    store.connection().execute("BEGIN")  # a reader holds a transaction open meanwhile
    result = _cli("backup", str(lab.home / "copies"), settings=lab)
    store.connection().execute("COMMIT")
    assert result.returncode == 0, result.stderr
    copy = next((lab.home / "copies").glob("trainlab-*.db"))
    assert str(copy) in result.stdout and str(lab.runs_dir) in result.stdout
    rows = sqlite3.connect(copy).execute("SELECT id, name FROM runs ORDER BY id").fetchall()
    assert rows == [(i, f"run {i - 1}") for i in ids]


def test_a_backup_to_a_place_that_cannot_take_it_is_one_line(lab, store, tmp_path):
    store.create_run("run", TrainConfig().to_dict())
    in_the_way = tmp_path / "not-a-folder"
    in_the_way.write_text("a file where the backup's folder would go")
    for destination in (in_the_way, in_the_way / "copy.db"):  # found by a hostile probe with /dev/full: a bug
        with pytest.raises(StoreError, match=f"^backup: cannot write {destination}.*; give a folder or a .db file"):
            jobs.backup(destination, lab)
    assert not (lab.logs_dir / "errors.log").exists()
