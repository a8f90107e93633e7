"""Classroom accounts and permissions, through the services and the CLI, on a real store."""
import io
import sqlite3

import pytest

from core.cli.main import main as cli
from core.domain.config import TrainConfig
from core.domain.people import OPERATOR, AccountError, Actor
from core.services import accounts, jobs, sweeps
from core.services.permissions import PermissionDenied
from core.store.runs import RunStore
from tests.conftest import AMY, BEN, TESS, on_both_databases


def _queued_run(settings, actor, name="amy's run") -> int:
    """A run queued by `actor` (no workers run in tests unless started: it stays queued)."""
    return jobs.submit(TrainConfig(name=name, epochs=1), settings, actor=actor)


@on_both_databases
def test_passwords_are_kept_only_as_argon2_hashes(classroom):
    stored = RunStore(classroom.store_location).connection().execute("SELECT name, password_hash FROM users").fetchall()
    assert {name for name, _ in stored} == {"tess", "amy", "ben"}
    for name, hashed in stored:
        assert hashed.startswith("$argon2id$") and f"{name}-password" not in hashed


def test_bad_accounts_are_refused_with_the_field_named(classroom):
    with pytest.raises(AccountError, match="^name: there is already a user 'amy'"):
        accounts.add("Amy", "student", "long enough", classroom)  # names are case-insensitive
    with pytest.raises(AccountError, match="^password: it has 5 characters; use at least 8"):
        accounts.add("cleo", "student", "short", classroom)
    with pytest.raises(AccountError, match="^role: 'admin' is not a role"):
        accounts.add("cleo", "admin", "long enough", classroom)
    with pytest.raises(AccountError, match="^name: 'a b' is not a user name"):
        accounts.add("a b", "student", "long enough", classroom)
    assert [a.name for a in accounts.accounts(classroom)] == ["tess", "amy", "ben"]


@on_both_databases
def test_sign_in_gives_a_session_that_expires_and_can_be_ended(classroom):
    done = accounts.sign_in("AMY ", "amy-password", classroom, now=1000.0)
    assert done.actor == AMY
    assert accounts.actor_for(done.token, classroom, now=1001.0) == AMY
    assert accounts.actor_for(done.token, classroom, now=1000.0 + classroom.session_hours * 3600 + 1) is None
    assert accounts.actor_for("made-up-token", classroom) is None
    live = accounts.sign_in("amy", "amy-password", classroom)
    accounts.sign_out(live.token, classroom)
    assert accounts.actor_for(live.token, classroom) is None
    tokens = RunStore(classroom.store_location).connection().execute("SELECT token_hash FROM sessions").fetchall()
    assert all(done.token not in t and live.token not in t for (t,) in tokens)  # only hashes are stored


@on_both_databases
def test_wrong_passwords_slow_down_the_next_attempts(classroom):
    free = accounts.SIGN_IN_RULES["name"].free
    for attempt in range(free):
        with pytest.raises(AccountError, match="^sign-in: wrong user name or password$"):
            accounts.sign_in("ben", "guess", classroom, now=100.0 + attempt, computer="10.0.0.7")
    # After the third wrong password even the right one is not checked for a while, from an unknown browser.
    with pytest.raises(AccountError, match=r"^sign-in: too many wrong passwords; wait 1 s and try again$"):
        accounts.sign_in("ben", "ben-password", classroom, now=102.1, computer="10.0.0.7")
    assert accounts.sign_in("ben", "ben-password", classroom, now=200.0, computer="10.0.0.7").actor == BEN
    with pytest.raises(AccountError, match="wrong user name or password"):  # the count started again
        accounts.sign_in("ben", "guess", classroom, now=201.0, computer="10.0.0.7")
    assert accounts.sign_in("ben", "ben-password", classroom, now=202.0, computer="10.0.0.7").actor == BEN
    rule = accounts.SIGN_IN_RULES["name"]
    assert [rule.wait_after(n) for n in (1, 2, 3, 4, 5, 20)] == [0, 0, 1, 2, 4, 60]


def test_unknown_names_are_slowed_down_and_answered_exactly_like_real_ones(classroom):
    answers = {}
    for name in ("tess", "zed"):  # tess has an account, zed has none
        seen = []
        for attempt in range(5):
            with pytest.raises(AccountError) as refused:
                accounts.sign_in(name, "guess-guess", classroom, now=100.0 + attempt * 0.1, computer=f"pc-{name}")
            seen.append(str(refused.value))
        answers[name] = seen
    assert answers["tess"] == answers["zed"]
    assert answers["zed"][-1] == "sign-in: too many wrong passwords; wait 1 s and try again"


def test_a_stranger_guessing_cannot_lock_a_user_out_of_her_known_browser(classroom):
    first = accounts.sign_in("tess", "tess-password", classroom, now=10.0, computer="teacher-pc")
    assert first.known_browser.startswith("tess.")
    for attempt in range(40):  # a student guesses at tess's name from their own laptop, for a long while
        with pytest.raises(AccountError):
            accounts.sign_in("tess", f"guess-{attempt}", classroom, now=100.0 + attempt, computer="student-pc")
    with pytest.raises(AccountError, match="too many wrong passwords"):  # unknown browsers must wait
        accounts.sign_in("tess", "tess-password", classroom, now=140.0, computer="another-pc")
    again = accounts.sign_in("tess", "tess-password", classroom, now=140.0, computer="teacher-pc",
                             known_browser=first.known_browser)
    assert again.actor == TESS  # her own browser is let in at once
    forged = first.known_browser[:-4] + "0000"
    with pytest.raises(AccountError, match="too many wrong passwords"):  # a forged cookie is an unknown browser
        accounts.sign_in("tess", "tess-password", classroom, now=140.5, computer="teacher-pc", known_browser=forged)
    accounts.set_password("tess", "a-new-password", classroom)  # a new password forgets every known browser
    with pytest.raises(AccountError, match="too many wrong passwords"):
        accounts.sign_in("tess", "a-new-password", classroom, now=141.0, computer="teacher-pc",
                         known_browser=first.known_browser)


def test_parallel_guesses_get_one_check_per_wait(classroom):
    from concurrent.futures import ThreadPoolExecutor

    def burst(now: float) -> list[str]:
        def guess(i: int) -> str:
            try:
                accounts.sign_in("tess", f"guess-{i}", classroom, now=now, computer="student-pc")
            except AccountError as exc:
                return "checked" if "wrong user name" in str(exc) else "refused"
            return "in"
        with ThreadPoolExecutor(30) as pool:
            return list(pool.map(guess, range(30)))

    first = burst(100.0)
    assert first.count("checked") == accounts.SIGN_IN_RULES["name"].free  # the free tries, then none
    for window, now in enumerate((101.5, 104.0, 108.5)):  # 1 s, then 2, then 4 s between checks
        assert burst(now).count("checked") == 1, f"window {window}"


@on_both_databases
def test_a_student_may_not_change_another_students_run_and_a_teacher_may(classroom):
    run_id = _queued_run(classroom, AMY)
    assert jobs.get_run(run_id, classroom, actor=TESS).owner == "amy"
    for action in (lambda: jobs.cancel(run_id, classroom, actor=BEN),
                   lambda: jobs.delete(run_id, classroom, actor=BEN),
                   lambda: jobs.relabel_run(run_id, "mine now", "", [], classroom, actor=BEN),
                   lambda: jobs.run_again(run_id, classroom, actor=BEN)):
        with pytest.raises(PermissionDenied, match=f"^run #{run_id}: it is amy's; only its owner or a teacher"):
            action()
    run = jobs.get_run(run_id, classroom, actor=TESS)
    assert (run.status, run.name) == ("queued", "amy's run")
    assert jobs.cancel(run_id, classroom, actor=TESS) == "cancelled"
    jobs.delete(run_id, classroom, actor=TESS)
    assert jobs.get_run(run_id, classroom, actor=TESS) is None
    audit = [(r.actor, r.action, r.target) for r in accounts.audit(classroom)][:2]
    assert audit == [("tess", "delete", f"run {run_id}"), ("tess", "cancel", f"run {run_id}")]


def test_a_student_acts_on_their_own_runs(classroom):
    run_id = _queued_run(classroom, AMY)
    jobs.relabel_run(run_id, "renamed", "note", ["a"], classroom, actor=AMY)
    again = jobs.run_again(run_id, classroom, actor=AMY)
    assert jobs.get_run(again, classroom, actor=TESS).owner == "amy"
    assert jobs.cancel(run_id, classroom, actor=AMY) == "cancelled"
    assert ("amy", "cancel", f"run {run_id}") in [(r.actor, r.action, r.target) for r in accounts.audit(classroom)]


def test_in_classroom_mode_an_action_without_a_signed_in_actor_is_refused(classroom):
    run_id = _queued_run(classroom, AMY)
    with pytest.raises(PermissionDenied, match="^sign-in: this needs a signed-in user"):
        jobs.cancel(run_id, classroom)
    with pytest.raises(PermissionDenied, match="^sign-in"):
        jobs.submit(TrainConfig(epochs=1), classroom)
    assert jobs.cancel(run_id, classroom, actor=OPERATOR) == "cancelled"  # the server's CLI


def test_on_a_laptop_nothing_changes(lab):
    run_id = jobs.submit(TrainConfig(epochs=1), lab)
    assert jobs.get_run(run_id, lab).owner == ""
    assert jobs.cancel(run_id, lab) == "cancelled"
    jobs.delete(run_id, lab)


@on_both_databases
def test_sweeps_have_owners_and_the_same_rules(classroom):
    from core.domain.sweep_spec import SweepSpec, Variant

    spec = SweepSpec(name="amy's sweep", datasets=("digits",), variants=(Variant("mlp", "mlp"),),
                     optimizers=("adam",), learning_rates=(1e-3,), batch_sizes=(16,), epochs=(1,))
    sweep_id = sweeps.start(spec, classroom, actor=AMY)
    assert sweeps.get(sweep_id, classroom, actor=TESS).owner == "amy"
    assert {r.owner for r in jobs.list_runs(classroom, actor=TESS)} == {"amy"}
    with pytest.raises(PermissionDenied, match=f"^sweep #{sweep_id}: it is amy's"):
        sweeps.cancel(sweep_id, classroom, actor=BEN)
    assert sweeps.cancel(sweep_id, classroom, actor=TESS) == 1


@on_both_databases
def test_the_roster_import_makes_every_account_or_none(classroom, capsys):
    made = accounts.import_roster("name,role\ncleo\ndan,teacher\n", classroom)
    assert [(n, r) for n, r, _ in made] == [("cleo", "student"), ("dan", "teacher")]
    assert all(len(p) == accounts.GENERATED_LENGTH for _, _, p in made)
    assert accounts.sign_in("cleo", made[0][2], classroom).actor == Actor("cleo", "student")
    with pytest.raises(AccountError, match="^roster line 3: name 'amy' is already taken"):
        accounts.import_roster("name\neve\namy\n", classroom)
    assert "eve" not in {a.name for a in accounts.accounts(classroom)}


def test_the_users_commands(lab, monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.StringIO("a-long-password\n"))
    assert cli(["users", "add", "Tess", "--role", "teacher"]) == 0
    assert "user tess added (teacher)" in capsys.readouterr().out
    assert accounts.sign_in("tess", "a-long-password", lab).actor == TESS
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert cli(["users", "password", "tess"]) == 2
    assert "error: password: it has 5 characters; use at least 8" in capsys.readouterr().err
    assert cli(["users", "remove", "nobody"]) == 2
    assert "error: name: there is no user 'nobody'" in capsys.readouterr().err
    assert cli(["users", "list"]) == 0
    assert capsys.readouterr().out.split()[:2] == ["tess", "teacher"]
    assert cli(["audit"]) == 0
    assert "add user" in capsys.readouterr().out
    monkeypatch.setattr("sys.stdin", io.StringIO("another-long-password\n"))  # the explicit form scripts use
    assert cli(["users", "add", "ana", "--password-stdin"]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("a-third-password\n"))
    assert cli(["users", "password", "ana", "--password-stdin"]) == 0
    assert accounts.sign_in("ana", "a-third-password", lab).actor == Actor("ana", "student")


def test_classroom_serving_refuses_to_start_without_a_teacher(lab, capsys):
    assert cli(["serve", "--classroom"]) == 2
    assert capsys.readouterr().err.strip() == ("error: classroom: there is no teacher account yet; add one first: "
                                               "python -m core users add NAME --role teacher")


def test_an_older_store_gains_owners(tmp_path):
    from core.store.schema import SCHEMA, SCHEMA_VERSION, schema_version

    path = tmp_path / "trainlab.db"
    conn = sqlite3.connect(path)
    conn.executescript(SCHEMA.replace(",\n    owner TEXT NOT NULL DEFAULT ''", ""))
    conn.execute("INSERT INTO runs (name, status, config, created_at) VALUES ('old', 'succeeded', '{}', 1.0)")
    conn.execute("PRAGMA user_version = 3")
    conn.commit()
    conn.close()
    store = RunStore(path)
    assert store.get(1).owner == "" and schema_version(store.connection()) == SCHEMA_VERSION == 10
    assert store.get(1).kind == "trained"  # version 6: a run made before kinds is one Train Lab trained
