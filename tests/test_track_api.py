"""The class's JSON API for students' own scripts, against one real `serve.py` in classroom mode on loopback
(shared by these tests): API keys that act as their student only, bad requests answered with one JSON line and
a 4xx, the class's limits, the client installed from the server with pip, and a real Keras script whose server
stops mid-run and comes back: no point lost, none twice, in order."""
import http.client
import json
import os
import subprocess
import sys
import textwrap

import pytest

from core.domain.people import STUDENT, TEACHER, Actor
from core.domain.statuses import SUCCEEDED
from core.services import api_keys, jobs, model_files, run_models, tracked_models
from core.services import classroom as class_service
from core.store.model_files import model_file
from core.store.runs import RunStore
from core.store.tracked import reporter
from tests.browser_support import classroom_server
from tests.conftest import PROJECT_ROOT, wait_for
from tests.test_tracking import _report, _start

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("track_api")]  # one real server, in one process

AMY, BEN, TESS = Actor("amy", STUDENT), Actor("ben", STUDENT), Actor("tess", TEACHER)


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    """serve.py behind the gate with tess (teacher), amy and ben, and a key for each student; (server, settings,
    keys)."""
    def keys(settings):
        return {actor.name: api_keys.make(actor, "laptop", settings) for actor in (AMY, BEN)}

    with classroom_server(tmp_path_factory.mktemp("api"), keys) as made:
        yield made


def _call(server, op: str, body, key: str | None = None, raw: bytes | None = None):
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {key}"} if key else {})}
    connection.request("POST", f"/api/track/{op}", raw if raw is not None else json.dumps(body), headers)
    response = connection.getresponse()
    text = response.read().decode()
    return response.status, json.loads(text), text


def test_a_students_key_creates_and_fills_their_own_run_and_no_one_elses(api):
    server, settings, keys = api
    start = _start(epochs=3)
    status, answer, _ = _call(server, "start", start, keys["amy"])
    assert status == 200, answer
    run_id = answer["run"]
    assert _call(server, "report", _report(run_id, start["key"], 1, 5), keys["amy"])[:2] == (200, {"cancel": False})
    assert _call(server, "end", {"run": run_id, "key": start["key"], "status": SUCCEEDED}, keys["amy"])[:2] == \
        (200, {"status": SUCCEEDED})
    assert _call(server, "test", {"run": run_id, "key": start["key"], "metrics": {"loss": 0.3, "accuracy": 0.9}},
                 keys["amy"])[0] == 200
    store = RunStore(settings.store_location)
    run = store.get(run_id)
    assert (run.owner, run.status, run.test_accuracy, run.worker_pid) == ("amy", SUCCEEDED, 0.9, 0)
    assert run.worker_host == "elsewhere (through the class's API)"  # never judged by a process id of the server
    assert [p.name for p in store.metrics(run_id) if p.kind == "batch"] == ["loss", "accuracy"]
    # Ben's key cannot write into amy's run, even with her reporter's key (which a run's page never shows).
    status, answer, text = _call(server, "report", _report(run_id, start["key"], 2, 6), keys["ben"])
    assert status == 400 and answer == {"error": f"report.run: #{run_id} is not a run this reporter started; start "
                                                 "one first"} and "\n" not in text
    assert len(store.metrics(run_id)) == 4


def test_a_revoked_a_wrong_or_no_key_is_refused_and_nothing_is_stored(api):
    server, settings, _ = api
    spare = api_keys.make(AMY, "old laptop", settings)
    assert _call(server, "start", _start(), spare)[0] == 200
    api_keys.revoke(AMY, spare[:10], settings)
    before = len(jobs.list_runs(settings, actor=TESS))
    for key in (spare, None, "tlk_" + "x" * 32, "Basic abc"):
        status, answer, _ = _call(server, "start", _start(), key)
        assert status == 401 and answer["error"].startswith("key: missing, unknown or revoked; send 'Authorization:")
    assert len(jobs.list_runs(settings, actor=TESS)) == before
    listed = api_keys.keys(AMY, settings)
    assert [(k.label, k.revoked_at is not None) for k in listed] == [("laptop", False), ("old laptop", True)]
    assert all(not k.hint.endswith(spare[10:]) for k in listed)  # only its first characters are kept


@pytest.mark.parametrize(("op", "raw", "status", "said"), [
    ("start", b"{not json", 400, "body: not JSON; send one JSON object"),
    ("start", b"[1, 2]", 400, "start: must be a JSON object; got list"),
    ("start", json.dumps(_start(epochs=0)).encode(), 400, "start.epochs: input should be greater than or equal to 1"),
    ("start", json.dumps({**_start(), "layers": [{"name": "x" * 300, "type": "Dense"}]}).encode(), 400,
     "start.layers.0.name: string should have at most 200 characters"),
    ("start", b'{"key": "' + b"a" * 600_000 + b'"}', 413, "body: over 512 KB; send fewer points at a time"),
    ("restart", b"{}", 404, "request: 'restart' is not one; use start, report, end, test"),
    ("start", b"[" * 100_000 + b"]" * 100_000, 400, "body: nested too deeply; send one flat JSON object"),
])
def test_a_bad_request_is_a_4xx_with_one_json_line_naming_the_field(api, op, raw, status, said):
    server, settings, keys = api
    before = len(jobs.list_runs(settings, actor=TESS))
    got, answer, text = _call(server, op, None, keys["amy"], raw=raw)
    assert got == status and answer["error"].startswith(said) and "\n" not in text
    assert len(jobs.list_runs(settings, actor=TESS)) == before


def test_a_students_script_meets_the_class_limits_and_a_key_cannot_flood_the_server(api):
    server, settings, keys = api
    class_service.set_rules({"epochs": "3", "params": "1000"}, settings, actor=TESS)
    try:
        status, answer, _ = _call(server, "start", _start(epochs=5), keys["ben"])
        assert (status, answer["error"]) == (400, "limit: 5 epochs is over the class limit of 3 epochs per run")
        status, answer, _ = _call(server, "start", _start(param_count=5000), keys["ben"])
        assert status == 400 and answer["error"].startswith("limit: the model has 5,000 parameters, over the class")
    finally:
        class_service.set_rules({"epochs": "none", "params": "none"}, settings, actor=TESS)
    # Past the burst, a key that sends as fast as it can is told to slow down; it gets through again later.
    statuses = [_call(server, "report", {"run": 1}, keys["ben"])[0] for _ in range(60)]
    assert 429 in statuses and statuses.count(400) >= 20


def test_the_client_installs_from_the_server_with_pip_alone(api, tmp_path):
    server, _, _ = api
    from core.services.client_package import WHEEL_NAME

    target = tmp_path / "site"
    done = subprocess.run([sys.executable, "-m", "pip", "install", "--no-index", "--no-deps", "--quiet",
                           "--target", str(target), f"{server.url}/client/{WHEEL_NAME}"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert sorted(p.name for p in (target / "trainlab").glob("*.py")) == sorted(
        p.name for p in (PROJECT_ROOT / "trainlab").glob("*.py"))
    check = subprocess.run([sys.executable, "-c", "import trainlab.sinks as s, trainlab.reporter; print(s.TIMEOUT)"],
                           cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(target)}, capture_output=True,
                           text=True, timeout=60)
    assert check.returncode == 0 and check.stdout.strip() == "5.0", check.stderr[-2000:]


def test_a_script_whose_server_stops_mid_run_loses_no_point_and_sends_none_twice(api, tmp_path):
    server, settings, keys = api
    script = tmp_path / "own.py"
    script.write_text(textwrap.dedent("""
        import time
        import numpy as np
        import keras
        from trainlab import TrainLabCallback

        class Slow(keras.callbacks.Callback):
            def on_epoch_end(self, epoch, logs=None):
                print("epoch", epoch + 1, flush=True)
                time.sleep(1.0)

        rng = np.random.default_rng(0)
        x, y = rng.normal(size=(400, 4)).astype("float32"), rng.integers(0, 2, 400)
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")], name="own")
        model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
        model.fit(x, y, batch_size=8, epochs=10, verbose=0, validation_split=0.2,
                  callbacks=[Slow(), TrainLabCallback(name="through a restart", interval=0.1, save_model=True)])
        print("done", flush=True)
    """))
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "TF_CPP_MIN_LOG_LEVEL": "3", "TRAINLAB_URL": server.url,
           "TRAINLAB_KEY": keys["amy"], "TRAINLAB_SPOOL": str(tmp_path / "spool")}
    process = subprocess.Popen([sys.executable, str(script)], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout.readline().strip() == "epoch 1"
        server.stop()  # the class's server goes away for a while; the script trains on
        assert process.stdout.readline().strip() == "epoch 2"
        assert process.stdout.readline().strip() == "epoch 3"
        assert list((tmp_path / "spool").glob("*.jsonl")), "the reports waiting for the server are kept on disk"
        server.start()
        assert process.wait(120) == 0, process.stderr.read()[-2000:]
    finally:
        process.kill()
        if server.process is None or server.process.poll() is not None:
            server.start()
    store = RunStore(settings.store_location)
    run = wait_for(lambda: next((r for r in store.list_runs() if r.name == "through a restart"
                                 and r.status == SUCCEEDED), None), 30, what="the run to end")
    assert run.owner == "amy"
    metrics = store.metrics(run.id)
    for name in ("loss", "val_loss", "val_accuracy"):
        epochs = [p.epoch for p in metrics if p.kind == "epoch" and p.name == name]
        assert epochs == [float(e) for e in range(1, 11)], (name, epochs)  # each once, in order
    steps = [p.step for p in metrics if p.kind == "batch" and p.name == "loss"]
    assert steps == sorted(set(steps)) and len(steps) > 10
    assert reporter(store, run.id).offline_seconds > 1.0
    assert not list((tmp_path / "spool").glob("*.jsonl"))
    # Its trained model came over the API: checked, kept as amy's model file and as the run's model (never
    # loaded by the dashboard's own process), and the copy in the laptop's spool folder is gone.
    kept = wait_for(lambda: tracked_models.linked_model_file(run.id, settings), 30, what="the model kept")
    found = model_file(store, kept)
    assert (found.owner, found.name, found.params) == ("amy", f"run {run.id} through a restart", 10)
    assert (settings.runs_dir / str(run.id) / "model.keras").is_file()
    with pytest.raises(run_models.NoModel, match=rf"^run: #{run.id}'s model was sent by its script over .* #{kept}"):
        run_models.model_input(run.id, settings, TESS)
    assert tracked_models.sent_model_note(run.id, settings, AMY) == (
        f"Its trained model was sent by its script over the class's API and is kept as the model file “amy / run "
        f"{run.id} through a restart”: look inside it on the Models page (its layers, diagram, feature maps and "
        "score). The dashboard does not load a model a script sent in its own process.")
    # Ben may not download amy's model from her run's page: it is her model file, not shared.
    assert jobs.model_file(run.id, settings, BEN) is None and jobs.model_file(run.id, settings, AMY) is not None
    model_files.share(kept, True, settings, TESS)
    assert jobs.model_file(run.id, settings, BEN) is not None
    assert not list((tmp_path / "spool").glob("*.keras"))


def _put_model(server, key: str, query: str, body: bytes, headers: dict | None = None):
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/octet-stream", **(headers or {})}
    connection.request("PUT", f"/api/track/model?{query}", body, headers)
    response = connection.getresponse()
    text = response.read().decode()
    return response.status, json.loads(text)["error" if response.status >= 400 else "name"], text


def test_a_model_sent_over_the_api_is_checked_first_and_only_into_the_senders_own_ended_run(api, tmp_path):
    server, settings, keys = api
    import keras

    from tests.test_model_files import _edited, _insert, _layer

    keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")]).save(tmp_path / "own.keras")
    _edited(tmp_path / "own.keras", tmp_path / "lambda.keras",
            _insert(_layer("keras.layers", "Lambda", {"function": "exec"})))  # code in a config
    evil = (tmp_path / "lambda.keras").read_bytes()
    start = _start()
    run_id = _call(server, "start", start, keys["amy"])[1]["run"]
    query = f"run={run_id}&key={start['key']}"
    files_before = len(model_files.listed(settings, TESS))
    refusals = [
        (keys["amy"], "run=x", b"PK", 400, "run: the run's number in ?run=N"),
        (keys["ben"], query, evil, 400, f"model.run: #{run_id} is not a run this reporter started"),
        (keys["amy"], query, evil, 400, f"model.run: #{run_id} is still training; send its model after fit ends"),
    ]
    for key, asked, body, status, said in refusals:
        got, error, text = _put_model(server, key, asked, body)
        assert (got, error.startswith(said), "\n" in text) == (status, True, False), (got, error)
    failed = _start()
    failed_id = _call(server, "start", failed, keys["amy"])[1]["run"]
    _call(server, "end", {"run": failed_id, "key": failed["key"], "status": "failed", "error": "boom"}, keys["amy"])
    got, error, _ = _put_model(server, keys["amy"], f"run={failed_id}&key={failed['key']}", evil)
    assert (got, error) == (400, f"model.run: #{failed_id} ended failed; only a run that succeeded keeps a model")
    _call(server, "end", {"run": run_id, "key": start["key"], "status": SUCCEEDED}, keys["amy"])
    got, error, _ = _put_model(server, keys["amy"], query, evil)
    assert got == 400 and error == "layer 'evil': Lambda layers run Python code; build it from built-in layers", error
    got, error, _ = _put_model(server, keys["amy"], query, b"not a zip")
    assert got == 400 and error.startswith("file: "), error
    got, error, _ = _put_model(server, keys["amy"], query, b"", {"Content-Length": str(2**40)})
    assert got == 413 and error.startswith("body: the model file is over 200 MB"), error
    assert len(model_files.listed(settings, TESS)) == files_before  # nothing kept of any of them
    assert not (settings.runs_dir / str(run_id) / "model.keras").exists()
    assert not list((settings.home / "tmp").glob("*.keras"))


def test_a_key_cannot_flood_the_server_with_model_files(api):
    server, settings, _ = api
    key = api_keys.make(BEN, "another laptop", settings)  # a key no other test has sent with
    start = _start()
    run_id = _call(server, "start", start, key)[1]["run"]
    _call(server, "end", {"run": run_id, "key": start["key"], "status": SUCCEEDED}, key)
    answers = [_put_model(server, key, f"run={run_id}&key={start['key']}", b"not a zip")[:2] for _ in range(8)]
    assert answers[0] == (400, "file: not a .keras file (a .keras file is a zip archive); save it with "
                               "model.save('mine.keras')")
    assert (429, "rate: more model files than a script sends with this key; send it again later") in answers
