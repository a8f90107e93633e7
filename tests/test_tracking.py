"""Tracked runs, the store and service side: what a reporter (a student's own script) may send, checked before
anything is stored; a start or report sent again stored once; only the reporter that started a run writes to
it; a silent reporter's run failed by the dispatcher's liveness check with the true reason, and brought back when
it reports again."""
import json
import time
import uuid

import pytest

from core.domain.people import STUDENT, Actor
from core.domain.statuses import CANCELLED, FAILED, RUNNING, SUCCEEDED, TRACKED
from core.domain.tracked_runs import MAX_POINTS_PER_REPORT, TrackedRunRefused
from core.runtime.liveness import reap_dead_runs, why_lost
from core.services import jobs, tracking
from core.store.tracked import reporter
from tests.conftest import on_both_databases

AMY, BEN = Actor("amy", STUDENT), Actor("ben", STUDENT)


def _start(**changes) -> dict:
    return {"key": uuid.uuid4().hex, "name": "ex1.py · my_cnn", "script": "ex1.py", "args": ["--epochs", "3"],
            "dataset": "fashion_mnist", "model_name": "my_cnn", "epochs": 3, "steps": 10, "batch_size": 32,
            "optimizer": "adam", "learning_rate": 0.001, "optimizer_settings": {"beta_1": 0.9, "amsgrad": False},
            "train_samples": 320, "validation_samples": 80, "input_shape": [28, 28, 1], "param_count": 1234,
            "layers": [{"name": "dense", "type": "Dense", "output": "(None, 10)", "params": 1234}],
            "pid": 999_999, "host": "elsewhere", **changes}


def _points(step: int, n: int = 2) -> list[dict]:
    return [{"kind": "batch", "step": step, "epoch": step / 10, "elapsed": 0.1 * step, "name": name, "value": 0.5}
            for name in ("loss", "accuracy")][:n]


def _report(run: int, key: str, seq: int, step: int, **changes) -> dict:
    return {"run": run, "key": key, "seq": seq, "points": _points(step), "epoch": 1, "batch": step,
            "progress": step / 30, **changes}


@on_both_databases
def test_a_tracked_run_is_started_filled_and_ended_by_its_reporter(lab, store, db):
    start = _start()
    run_id = tracking.start(start, lab)["run"]
    assert tracking.start(start, lab) == {"run": run_id}  # the start sent again (its answer was lost): one run
    run = store.get(run_id)
    assert (run.status, run.kind, run.epochs, run.steps, run.param_count, run.attempt) == (RUNNING, TRACKED, 3, 10,
                                                                                           1234, 1)
    config = run.config_dict
    assert (config["architecture"], config["dataset"], config["batch_size"], config["script_args"]) == \
        ("my_cnn (own code)", "fashion_mnist", 32, ["--epochs", "3"])
    assert tracking.layer_table(run_id, lab) == start["layers"]
    key = start["key"]
    assert tracking.report(_report(run_id, key, 1, 5), lab) == {"cancel": False}
    assert tracking.report(_report(run_id, key, 1, 5), lab) == {"cancel": False}  # sent again: stored once
    tracking.report(_report(run_id, key, 2, 10, epoch=2, progress=0.5), lab)
    tracking.report({"run": run_id, "key": key, "seq": 0, "epoch": 2, "batch": 10, "progress": 0.5}, lab)  # heartbeat
    assert [(p.step, p.name) for p in store.metrics(run_id)] == [(5, "loss"), (5, "accuracy"), (10, "loss"),
                                                                 (10, "accuracy")]
    assert (store.get(run_id).epoch, store.get(run_id).progress) == (2, 0.5)
    assert jobs.cancel(run_id, lab) == RUNNING  # a cancel from a page reaches the reporter in its next answer
    assert tracking.report(_report(run_id, key, 3, 11), lab) == {"cancel": True}
    assert tracking.end({"run": run_id, "key": key, "status": CANCELLED, "error": "cancelled from Train Lab",
                         "train_seconds": 4.5}, lab) == {"status": CANCELLED}
    assert tracking.report(_report(run_id, key, 4, 12), lab) == {"cancel": True}  # told again, nothing stored
    tracking.test_result({"run": run_id, "key": key, "metrics": {"loss": 0.4, "accuracy": 0.875}}, lab)
    done = store.get(run_id)
    assert (done.test_loss, done.test_accuracy, done.train_seconds) == (0.4, 0.875, 4.5)
    assert sorted((p.name, p.value) for p in store.metrics(run_id) if p.kind == "test") == [("accuracy", 0.875),
                                                                                            ("loss", 0.4)]


def test_only_the_reporter_that_started_a_run_writes_to_it(lab, store):
    start = _start()
    run_id = tracking.start(start, lab, actor=AMY)["run"]
    other = uuid.uuid4().hex
    for data, actor in ((_report(run_id, other, 1, 1), "amy"), (_report(run_id, start["key"], 1, 1), "ben"),
                        (_report(run_id + 99, start["key"], 1, 1), "amy")):
        with pytest.raises(TrackedRunRefused) as refused:
            tracking.report(data, lab, actor=Actor(actor, STUDENT))
        assert str(refused.value) == f"report.run: #{data['run']} is not a run this reporter started; start one first"
    with pytest.raises(TrackedRunRefused, match="^start.key: another reporter's run; start a new run with a fresh key"):
        tracking.start(start, lab, actor=BEN)  # ben replays amy's key: no run of hers comes back to him
    assert not store.metrics(run_id) and store.get(run_id).owner == "amy"


@pytest.mark.parametrize(("request_name", "data", "message"), [
    ("start", _start(key="not-a-uuid"), "start.key: string should match pattern"),
    ("start", _start(epochs=0), "start.epochs: input should be greater than or equal to 1; got 0"),
    ("start", _start(name="x" * 121), "start.name: string should have at most 120 characters"),
    ("start", _start(learning_rate=float("nan")), "start.learning_rate: "),
    ("start", _start(layers=[{"name": "a", "type": "Dense"}] * 1001), "start.layers: list should have at most 1000"),
    ("start", _start(shell="rm -rf /"), "start.shell: is not a setting of start (check its spelling)"),
    ("start", ["not", "an", "object"], "start: must be a JSON object; got list"),
    ("report", {"run": 1, "key": "0" * 32, "seq": 1, "points": [{**_points(1)[0], "value": float("inf")}]},
     "report.points.0.value: "),
    ("report", {"run": 1, "key": "0" * 32, "seq": 1, "points": [{**_points(1)[0], "name": "loss; DROP TABLE"}]},
     "report.points.0.name: string should match pattern"),
    ("report", {"run": 1, "key": "0" * 32, "seq": 1, "points": _points(1, 1) * (MAX_POINTS_PER_REPORT + 1)},
     f"report.points: list should have at most {MAX_POINTS_PER_REPORT}"),
    ("report", {"run": 1, "key": "0" * 32, "seq": 1, "progress": 1.5}, "report.progress: input should be less than"),
    ("end", {"run": 1, "key": "0" * 32, "status": "running"}, "end.status: input should be 'succeeded', 'failed'"),
    ("start", _start(epochs=True), "start.epochs: must be a whole number; got True"),
    ("start", _start(epochs="5"), "start.epochs: must be a whole number; got '5'"),
    ("start", _start(name="a\u202eb"), "start.name: must be printable text (no control or direction characters)"),
    ("start", _start(param_count=10), "start.param_count: fewer than its layers' parameters together"),
    ("report", {"run": 1, "key": "0" * 32, "seq": 1, "points": [{**_points(1)[1], "value": 7.5}]},
     "report.points.0.value: accuracy is a share between 0 and 1; got 7.5"),
    ("report", {"run": 1, "key": "0" * 32, "seq": 1, "points": [{**_points(1)[0], "value": 1e308}]},
     "report.points.0.value: input should be less than or equal to 1000000000000"),
    ("test", {"run": 1, "key": "0" * 32, "metrics": {"accuracy": 9.99}}, "test.metrics.accuracy: a share between 0"),
    ("test", {"run": 1, "key": "0" * 32, "metrics": {"compile_metrics": 1e12}}, "test.metrics.compile_metrics: a "
     "share between 0 and 1"),
    ("report", {"run": 1, "key": "0" * 32, "seq": 1, "points": [{**_points(1)[0], "name": "Val_ACC", "value": 5.0}]},
     "report.points.0.value: Val_ACC is a share between 0 and 1"),
    ("report", {"run": 1, "key": "0" * 32, "seq": 1, "points": [{**_points(1)[0], "kind": "test"}]},
     "report.points.0.kind: input should be 'batch', 'epoch' or 'system'"),
    ("start", _start(name="\u3164\u3164"), "start.name: must show something"),
])
def test_a_reporters_bad_request_is_refused_in_one_line_naming_the_field(lab, store, request_name, data, message):
    with pytest.raises(TrackedRunRefused) as refused:
        tracking.REQUESTS[request_name](data, lab)
    assert str(refused.value).startswith(message) and "\n" not in str(refused.value)
    assert store.list_runs() == [] and store.metric_count() == 0


def test_a_run_holds_a_bounded_number_of_points(lab, store, monkeypatch):
    monkeypatch.setattr(tracking, "MAX_POINTS_PER_RUN", 5)
    start = _start()
    run_id = tracking.start(start, lab)["run"]
    tracking.report(_report(run_id, start["key"], 1, 1), lab)
    tracking.report(_report(run_id, start["key"], 2, 2), lab)
    with pytest.raises(TrackedRunRefused, match=rf"^report.points: run #{run_id} would hold more than 5 points"):
        tracking.report(_report(run_id, start["key"], 3, 3), lab)
    assert store.metric_count() == 4


@on_both_databases
def test_a_silent_reporters_run_fails_with_the_true_reason_and_comes_back_when_it_reports_again(lab, store, db):
    start = _start(pid=0, epochs=10)
    run_id = tracking.start(start, lab)["run"]
    tracking.report(_report(run_id, start["key"], 1, 5, epoch=7), lab)
    run = store.get(run_id)
    assert why_lost(run, "here", 30.0, now=run.heartbeat_at + 10) is None
    assert reap_dead_runs(store, 30.0, now=run.heartbeat_at + 45) == [run_id]
    failed = store.get(run_id)
    assert failed.status == FAILED and failed.error.startswith(
        "the script stopped reporting at epoch 7 (no word for 45 s: it was killed, its notebook kernel died, or its "
        "machine left the network)")
    # Its laptop was offline: it comes back with the points it kept, and the run trains on.
    tracking.report(_report(run_id, start["key"], 2, 6, offline_seconds=240.0), lab)
    back = store.get(run_id)
    assert (back.status, back.error, back.finished_at) == (RUNNING, None, None)
    assert back.attempt_note == ("its script could not reach Train Lab for 4 min in all; the points of that time "
                                 "arrived later")
    assert reporter(store, run_id).offline_seconds == 240.0
    tracking.end({"run": run_id, "key": start["key"], "status": SUCCEEDED}, lab)
    assert store.get(run_id).status == SUCCEEDED and store.get(run_id).progress == 1.0


def test_a_tracked_script_that_died_on_this_machine_is_named_and_never_queued_again(lab, store):
    import socket

    start = _start(pid=2**22 + 12345, host=socket.gethostname())  # no such process
    run_id = tracking.start(start, lab)["run"]
    tracking.report(_report(run_id, start["key"], 1, 5, epoch=2), lab)
    assert reap_dead_runs(store, 30.0) == [run_id]
    run = store.get(run_id)
    assert run.status == FAILED and run.attempt == 1
    assert run.error == (f"the script (process {2**22 + 12345}) ended at epoch 2 without reporting how (killed, "
                         "or it crashed)")
    assert store.queued_runs() == []  # never claimed, never re-queued


def test_a_reporter_on_the_class_api_is_never_judged_by_a_process_id_of_this_machine(lab, store):
    import socket

    start = _start(pid=2**22 + 12345, host=socket.gethostname())
    run_id = tracking.start(start, lab, actor=AMY, remote=True)["run"]
    run = store.get(run_id)
    assert (run.worker_pid, run.worker_host) == (0, f"{socket.gethostname()} (through the class's API)")
    assert reap_dead_runs(store, 30.0) == []


def test_the_store_keeps_the_layer_table_out_of_the_settings_it_compares(lab, store):
    run_id = tracking.start(_start(), lab)["run"]
    assert "layers" not in store.get(run_id).config_dict
    row = store.connection().execute("SELECT layers FROM reporters WHERE run_id=?", (run_id,)).fetchone()
    assert json.loads(row[0])[0]["type"] == "Dense"
    assert time.time() - store.get(run_id).heartbeat_at < 60


def _tracked_run(lab, **changes) -> int:
    """A finished tracked run: three epochs of points, a test result."""
    start = _start(**changes)
    run_id = tracking.start(start, lab)["run"]
    points = [{"kind": "epoch", "step": 10 * e, "epoch": float(e), "elapsed": float(e), "name": name, "value": v}
              for e in (1, 2, 3) for name, v in (("loss", 1 / e), ("val_accuracy", 0.6 + e / 10))]
    tracking.report({"run": run_id, "key": start["key"], "seq": 1, "points": points, "epoch": 3, "batch": 10,
                     "progress": 1.0, "offline_seconds": 90.0}, lab)
    tracking.end({"run": run_id, "key": start["key"], "status": SUCCEEDED, "train_seconds": 12.0}, lab)
    tracking.test_result({"run": run_id, "key": start["key"], "metrics": {"loss": 0.3, "accuracy": 0.9}}, lab)
    return run_id


def test_the_runs_page_marks_a_tracked_run_and_says_why_it_cannot_run_again(lab, store):
    from core.domain.config import TrainConfig
    from core.store.runs import MetricPoint
    from core.views.display import escape_markdown
    from core.views.tracked import source_text
    from tests.test_pages import _page

    tracked = _tracked_run(lab, args=["--epochs", "3", "it's"])
    trained = store.create_run("course mlp", TrainConfig().to_dict(), epochs=3)
    store.claim(trained, 1, "here")
    store.report(trained, [MetricPoint("epoch", 10 * e, e, e, "val_accuracy", 0.5 + e / 10) for e in (1, 2, 3)],
                 3, 10, 1.0, None)
    store.finish(trained, SUCCEEDED, test_accuracy=0.8, test_loss=0.5, train_seconds=10)
    at = _page("pages/runs.py")
    at.query_params["run"] = str(tracked)
    at.query_params["runs"] = f"{tracked},{trained}"  # overlaid with a run Train Lab trained
    at.run()
    assert not at.exception and not at.error
    captions = [c.value for c in at.caption]
    source = source_text(store.get(tracked))
    assert source == "From your own code: ex1.py --epochs 3 'it'\"'\"'s' · model my_cnn · process 999999 on elsewhere"
    assert escape_markdown(source) in captions, captions  # the script's arguments are user text: never markdown
    assert "Its script could not reach Train Lab for 90 s in all; the points of that time arrived later." in captions
    assert any(c.startswith("It runs in your own code, not in Train Lab") for c in captions)
    assert at.button(key=f"again_{tracked}").disabled and at.button(key=f"clone_{tracked}").disabled
    (layers,) = [d.value for d in at.dataframe if "output shape" in d.value.columns]
    assert list(layers.columns) == ["name", "type", "output shape", "parameters"] and layers["parameters"][0] == 1234
    assert [m.value for m in at.metric if m.label == "Test accuracy"] == ["90.00 %"]
    table = at.dataframe[0].value
    assert set(table["architecture"]) == {"my_cnn (own code)", TrainConfig().architecture}
    with pytest.raises(jobs.JobError, match=rf"^run: #{tracked} trained in your own code, not in Train Lab; run"):
        jobs.run_again(tracked, lab)
    at.query_params["run"] = str(trained)
    at.run()
    assert not at.button(key=f"again_{trained}").disabled and not at.button(key=f"clone_{trained}").disabled


def test_the_your_code_page_makes_a_key_shown_once_and_revokes_it(classroom, monkeypatch):
    from core.services import accounts, api_keys
    from core.web import signin
    from tests.conftest import AMY
    from tests.test_pages import _page

    token = accounts.sign_in("amy", "amy-password", classroom).token
    monkeypatch.setattr("pages.common.auth._session_token", lambda: token)
    monkeypatch.setitem(signin._gate, "active", True)
    at = _page("pages/own_code.py").run()
    assert not at.exception and "You have no keys yet." in [c.value for c in at.caption]
    codes = [c.value for c in at.code]
    assert any(c.startswith("pip install http://SERVER:8501/client/trainlab-") and c.endswith("-py3-none-any.whl")
               for c in codes), codes
    at.text_input[0].set_value("   ")
    at.button[0].click().run()  # a blank label is refused by name, nothing made
    assert at.error[0].value.startswith("Label: name the key in 1 to 40 printable characters")
    at.text_input[0].set_value("my laptop")
    at.button[0].click().run()
    shown = [c.value for c in at.code if "TRAINLAB_KEY=tlk_" in c.value]
    assert len(shown) == 1 and not at.error
    key = shown[0].split("export TRAINLAB_KEY=")[1].split()[0]
    at.text_input[0].set_value("")
    at.button[0].click().run()  # a second click, label emptied: refused, and the new key stays in view
    assert at.error and [c.value for c in at.code if key in c.value]
    at.button(key="key_copied").click().run()
    assert not [c.value for c in at.code if key in c.value]
    assert api_keys.actor_for_key(key, classroom).name == "amy"
    table = at.dataframe[0].value
    assert list(table["label"]) == ["my laptop"] and list(table["state"]) == ["live"]
    assert key not in table.to_string() and table["starts with"][0] == key[:10] + "…"
    at = _page("pages/own_code.py").run()  # opened again: the key itself is never shown again
    assert not [c for c in at.code if key in c.value]
    at.button[-1].click().run()  # Revoke
    assert api_keys.actor_for_key(key, classroom) is None
    assert list(at.dataframe[0].value["state"]) == ["revoked"]
    assert api_keys.keys(AMY, classroom)[0].revoked_at is not None


def test_the_your_code_page_on_a_laptop_needs_no_key(lab):
    from tests.test_pages import _page

    at = _page("pages/own_code.py").run()
    assert not at.exception and not at.form
    assert any(c.value.startswith(".venv/bin/python -m core track my_script.py") for c in at.code)


def test_a_tracked_run_that_knows_almost_nothing_still_shows_on_every_page(lab, store):
    from tests.test_pages import PAGES, _finished_run, _page

    bare = {"key": uuid.uuid4().hex, "name": "bare", "epochs": 2, "steps": 5}  # no optimizer, rate, sizes, layers
    run_id = tracking.start(bare, lab)["run"]
    points = [*_points(3), {"kind": "epoch", "step": 5, "epoch": 1.0, "elapsed": 1.0, "name": "loss", "value": 0.5}]
    tracking.report({"run": run_id, "key": bare["key"], "seq": 1, "points": points, "progress": 0.5}, lab)
    tracking.end({"run": run_id, "key": bare["key"], "status": SUCCEEDED, "train_seconds": 3.0}, lab)
    other = _finished_run(store)
    runs_page = ("pages/runs.py", {"run": str(run_id), "runs": f"{run_id},{other}"})
    for path, params in [(p, {}) for p in PAGES] + [runs_page]:
        at = _page(path)
        for name, value in params.items():
            at.query_params[name] = value
        at.run()
        assert not at.exception and not [e for e in at.error if "failed unexpectedly" in e.value], path
    table = at.dataframe[0].value
    assert table.set_index("id").loc[run_id, "optimizer"] == ""


def test_a_students_own_script_counts_on_the_assignment_board(classroom, store):
    from core.services import classroom as class_service
    from tests.conftest import TESS

    start = _start(dataset="digits")
    run_id = tracking.start(start, classroom, actor=AMY, remote=True)["run"]
    points = [{"kind": "epoch", "step": 10 * e, "epoch": float(e), "elapsed": float(e), "name": "val_accuracy",
               "value": 0.8 + e / 20} for e in (1, 2, 3)]
    tracking.report({"run": run_id, "key": start["key"], "seq": 1, "points": points, "epoch": 3, "progress": 1.0},
                    classroom, actor=AMY)
    tracking.end({"run": run_id, "key": start["key"], "status": SUCCEEDED}, classroom, actor=AMY)
    tracking.test_result({"run": run_id, "key": start["key"], "metrics": {"loss": 0.2, "accuracy": 0.93}},
                         classroom, actor=AMY)
    board = class_service.assignment_board("digits", 0.9, classroom, actor=TESS)
    row = board[board["student"] == "amy"].iloc[0]
    assert (row["run"], round(row["val accuracy"], 6), row["test accuracy"], row["reached"]) == \
        (run_id, 0.95, 0.93, True)


def test_a_run_holds_a_bounded_number_of_metric_names_and_epochs(lab, store):
    start = _start(epochs=3)
    run_id = tracking.start(start, lab)["run"]
    names = [{**_points(1)[0], "name": f"m{i}"} for i in range(65)]
    with pytest.raises(TrackedRunRefused, match=rf"^report.points: run #{run_id} would have more than 64 metric names"):
        tracking.report({"run": run_id, "key": start["key"], "seq": 1, "points": names}, lab)
    late = [{**_points(1)[0], "epoch": 4.0}]
    with pytest.raises(TrackedRunRefused, match=r"^report.points: epoch 4 is past the run's 3 epochs"):
        tracking.report({"run": run_id, "key": start["key"], "seq": 1, "points": late}, lab)
    tracking.report({"run": run_id, "key": start["key"], "seq": 1, "points": names[:64]}, lab)
    assert store.metric_count() == 64 and store.get(run_id).status == RUNNING


def test_a_cancel_from_a_page_ends_a_tracked_run_cancelled_whatever_its_reporter_does(lab, store):
    start = _start()
    run_id = tracking.start(start, lab, actor=AMY)["run"]
    tracking.report(_report(run_id, start["key"], 1, 1), lab, actor=AMY)
    jobs.cancel(run_id, lab)
    assert tracking.report(_report(run_id, start["key"], 2, 2), lab, actor=AMY) == {"cancel": True}
    run = store.get(run_id)
    assert (run.status, run.error) == (CANCELLED, "cancelled from Train Lab") and len(store.metrics(run_id)) == 2
    assert tracking.report(_report(run_id, start["key"], 3, 3), lab, actor=AMY) == {"cancel": True}
    assert len(store.metrics(run_id)) == 2
    assert tracking.end({"run": run_id, "key": start["key"], "status": SUCCEEDED}, lab, actor=AMY) == \
        {"status": CANCELLED}  # it cannot turn into a success on the board
    # One asked to stop that goes silent instead ends cancelled too, and never comes back.
    other = _start(pid=0)
    silent = tracking.start(other, lab, actor=AMY)["run"]
    jobs.cancel(silent, lab)
    assert reap_dead_runs(store, 30.0, now=store.get(silent).heartbeat_at + 60) == [silent]
    assert store.get(silent).status == CANCELLED and store.get(silent).error.startswith("cancelled from Train Lab (")
    assert tracking.report(_report(silent, other["key"], 1, 1), lab, actor=AMY) == {"cancel": True}
    assert store.get(silent).status == CANCELLED


def test_the_class_limit_on_runs_at_once_holds_for_scripts_at_the_same_moment_and_coming_back(classroom, store):
    import concurrent.futures

    from core.services import classroom as class_service
    from tests.conftest import TESS

    class_service.set_rules({"at-once": "2"}, classroom, actor=TESS)

    def start(_):
        try:
            return tracking.start(_start(pid=0), classroom, actor=AMY)["run"]
        except TrackedRunRefused as exc:
            return str(exc)

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(start, range(8)))
    started = [a for a in answers if isinstance(a, int)]
    assert len(started) == 2, answers
    assert all(a.startswith("limit: you have 2 runs training, the class limit of 2 runs at once") for a in answers
               if isinstance(a, str))
    keys = {r: reporter(store, r).client_key for r in started}
    gone = started[0]
    store.fail_run(gone, "silent")  # as its liveness check would
    third = tracking.start(_start(pid=0), classroom, actor=AMY)["run"]  # the freed place is taken
    with pytest.raises(TrackedRunRefused, match="^limit: you have 2 runs training"):
        tracking.report(_report(gone, keys[gone], 1, 1), classroom, actor=AMY)  # coming back would make three
    assert store.get(gone).status == FAILED and store.get(third).status == RUNNING
    assert tracking.start(_start(pid=0), classroom, actor=BEN)["run"]  # the limit is per student


def test_a_students_runs_together_hold_a_bounded_number_of_points(classroom, store, monkeypatch):
    monkeypatch.setattr(tracking, "MAX_POINTS_PER_OWNER", 5)
    first, second = _start(), _start()
    one = tracking.start(first, classroom, actor=AMY)["run"]
    two = tracking.start(second, classroom, actor=AMY)["run"]
    tracking.report(_report(one, first["key"], 1, 1), classroom, actor=AMY)
    tracking.report(_report(two, second["key"], 1, 1), classroom, actor=AMY)
    with pytest.raises(TrackedRunRefused, match="^report.points: your runs from your own code hold 4 points"):
        tracking.report(_report(two, second["key"], 2, 2), classroom, actor=AMY)
    assert store.metric_count() == 4


def test_sync_sets_a_damaged_spool_file_aside_and_sends_a_key_only_to_the_server_it_is_set_for(lab, tmp_path,
                                                                                                monkeypatch):
    from trainlab.sync import send_spooled

    spool = tmp_path / "spool"
    spool.mkdir()
    (spool / "cut.jsonl").write_text('{"key": "k", "pid": 1}\n{"op": "report", "payl')  # cut by a kill mid-write
    (spool / "empty.jsonl").write_text("")
    start = _start()
    many = [{**_points(2)[0], "name": f"m{i}"} for i in range(70)]  # refused alone: the rest still goes
    good = [{"key": start["key"], "pid": 2**22 + 7, "run": None, "sink": "local", "home": str(lab.home)},
            {"op": "start", "payload": start}, {"op": "report", "payload": {"seq": 1, "points": _points(1)}},
            {"op": "report", "payload": {"seq": 2, "points": many}},
            {"op": "model", "payload": {"path": str(tmp_path / "gone.keras")}}]
    (spool / "good.jsonl").write_text("".join(json.dumps(line) + "\n" for line in good))
    elsewhere = [{"key": "k2", "pid": 2**22 + 8, "run": 5, "sink": "http", "url": "http://127.0.0.1:9"},
                 {"op": "end", "payload": {"status": "succeeded"}}]
    (spool / "other.jsonl").write_text("".join(json.dumps(line) + "\n" for line in elsewhere))
    monkeypatch.setenv("TRAINLAB_URL", "http://class-server:8501")
    monkeypatch.setenv("TRAINLAB_KEY", "tlk_secret")
    said = dict(line.split(": ", 1) for line in send_spooled(spool))
    assert said["cut.jsonl"].startswith("not a spool file this client wrote (JSONDecodeError")
    assert said["empty.jsonl"].startswith("not a spool file this client wrote (ValueError: not lines of JSON")
    assert said["good.jsonl"].startswith("sent 2 requests of run #1; 2 refused (report.points: run #1 would have "
                                         "more than 64 metric names")
    assert said["other.jsonl"] == ("written for the server http://127.0.0.1:9, not TRAINLAB_URL "
                                   "(http://class-server:8501); left as it is")
    assert sorted(p.name for p in spool.iterdir()) == ["cut.jsonl.bad", "empty.jsonl.bad", "other.jsonl"]
    run = jobs.get_run(1, lab)
    assert run.status == FAILED and "sent later by python -m core sync" in run.error
    assert len(jobs.run_metrics(1, lab)) == 2
