"""A student's own Keras scripts, run for real in processes of their own, reporting into the lab's store: a
script run unchanged through `python -m core track` (its fits succeeded with validation and test figures, one
failing on its own error, one stopped by Ctrl+C), a script with the explicit callback stopped from the
dashboard and then killed, and a reporter that loses Train Lab for a while and sends its points afterwards,
in order, once."""
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from core.domain.statuses import CANCELLED, FAILED, RUNNING, SUCCEEDED, TRACKED
from core.runtime import worker
from core.services import jobs
from core.settings import load_settings
from tests.conftest import PROJECT_ROOT, wait_for

pytestmark = pytest.mark.integration

DATA = """
import numpy as np
import keras
rng = np.random.default_rng(0)
x = rng.normal(size=(480, 8, 8, 1)).astype("float32")
y = (x.mean(axis=(1, 2, 3)) > 0).astype("int64")

def small_model():
    model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(), keras.layers.Dense(16, activation="relu"),
                              keras.layers.Dense(10, activation="softmax")], name="tiny_mlp")
    model.compile(optimizer=keras.optimizers.SGD(0.05, momentum=0.9), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model

class StopWith(keras.callbacks.Callback):
    def __init__(self, error):
        super().__init__()
        self.error = error

    def on_epoch_end(self, epoch, logs=None):
        if epoch == 1:
            raise self.error
"""


def _script(tmp_path, name: str, body: str):
    path = tmp_path / name
    path.write_text(DATA + textwrap.dedent(body))
    return path


def _env() -> dict:
    return {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}


def _runs(settings):
    return sorted(jobs.list_runs(settings), key=lambda r: r.id)


def test_a_script_run_unchanged_through_track_reports_each_fit_as_it_ended(lab, tmp_path):
    script = _script(tmp_path, "ex1.py", """
        import sys
        model = small_model()
        model.fit(x, y, batch_size=32, epochs=3, validation_split=0.25, verbose=0)
        print("test", model.evaluate(x[:100], y[:100], verbose=0))
        try:
            small_model().fit(x, y, epochs=3, verbose=0, callbacks=[StopWith(ValueError("the data ran out"))])
        except ValueError:
            print("caught")
        small_model().fit(x, y, epochs=3, verbose=0, callbacks=[StopWith(KeyboardInterrupt())])
    """)
    env = {**_env(), "TRAINLAB_SPOOL": str(tmp_path / "spool")}
    done = subprocess.run([sys.executable, "-m", "core", "track", "--save-model", "--dataset", "digits", str(script),
                           "--flag", "a b"], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 130, done.stderr[-2000:]  # Ctrl+C's exit code, as `python ex1.py` would give
    assert "caught" in done.stdout and "KeyboardInterrupt" in done.stderr
    first, failed, interrupted = _runs(lab)
    assert all(r.kind == TRACKED for r in (first, failed, interrupted))
    assert first.status == SUCCEEDED and first.name == "ex1.py · tiny_mlp" and first.progress == 1.0
    config = first.config_dict
    assert (config["script"], config["script_args"], config["batch_size"], config["epochs"]) == \
        ("ex1.py", ["--flag", "a b"], 32, 3)
    assert (config["optimizer"], config["learning_rate"], config["optimizer_settings"]["momentum"]) == \
        ("sgd", 0.05, 0.9)
    assert (config["train_samples"], config["validation_samples"], config["input_shape"]) == (360, 120, [8, 8, 1])
    assert first.param_count == 8 * 8 * 16 + 16 + 16 * 10 + 10 and first.steps == 12 and first.epochs == 3
    metrics = jobs.run_metrics(first.id, lab)
    epochs = metrics[metrics["kind"] == "epoch"]
    assert sorted(epochs[epochs["name"] == "val_accuracy"]["epoch"]) == [1.0, 2.0, 3.0]
    assert {"loss", "accuracy", "val_loss", "learning_rate"} <= set(epochs["name"])
    assert len(metrics[(metrics["kind"] == "batch") & (metrics["name"] == "loss")]) >= 1
    loss, accuracy = (float(v) for v in done.stdout.split("test [", 1)[1].split("]")[0].split(","))
    assert first.test_loss == pytest.approx(loss) and first.test_accuracy == pytest.approx(accuracy)
    assert (failed.status, failed.error) == (FAILED, "ValueError: the data ran out")
    assert (interrupted.status, interrupted.error) == (CANCELLED, "interrupted (KeyboardInterrupt)")
    assert interrupted.progress < 1 and interrupted.epoch <= 2  # stopped in its second epoch, not at the end
    assert "this fit is run #1 on Train Lab" in done.stderr  # the script's own output says which run it is
    # --save-model: the succeeded fit's model is in its run's folder, and its page can look inside it.
    from core.services import run_models

    assert (lab.runs_dir / str(first.id) / "model.keras").is_file()
    assert not (lab.runs_dir / str(failed.id) / "model.keras").exists()  # only a fit that succeeded hands one over
    assert not list((tmp_path / "spool").glob("*.keras"))  # the copy the client saved is gone once handed over
    answer = run_models.classify(first.id, np.zeros((8, 8), dtype=np.uint8), lab)
    assert len(answer.classes) == 10 and abs(sum(answer.probabilities) - 1) < 1e-4


def test_the_explicit_callback_stops_at_a_cancel_and_a_killed_script_fails_with_why(lab, tmp_path, monkeypatch):
    monkeypatch.setenv("TRAINLAB_AUTOSTART_WORKERS", "1")  # the first start brings a (cold) dispatcher up
    settings = load_settings()
    script = _script(tmp_path, "own.py", """
        from trainlab import TrainLabCallback
        history = small_model().fit(x, y, batch_size=4, epochs=500, verbose=0, callbacks=[TrainLabCallback()])
        print("stopped after", len(history.history["loss"]), "epochs", flush=True)
        small_model().fit(x, y, batch_size=4, epochs=500, verbose=0, callbacks=[TrainLabCallback(name="again")])
    """)
    process = subprocess.Popen([sys.executable, str(script)], cwd=tmp_path, env=_env(), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        run = wait_for(lambda: (rs := _runs(settings)) and rs[0].batch > 0 and rs[0], 120, what="the first fit")
        assert run.status == RUNNING and run.name == "own.py · tiny_mlp" and run.worker_pid == process.pid
        wait_for(lambda: worker.status(settings).running, 20, what="a dispatcher to watch it (cold: no workers)")
        asked = time.monotonic()
        assert jobs.cancel(run.id, settings) == RUNNING
        line = process.stdout.readline()
        assert line.startswith("stopped after") and int(line.split()[2]) < 500
        assert time.monotonic() - asked < 10
        stopped = wait_for(lambda: (r := jobs.get_run(run.id, settings)).status != RUNNING and r, 20, what="the end")
        assert (stopped.status, stopped.error) == (CANCELLED, "cancelled from Train Lab")
        again = wait_for(lambda: len(rs := _runs(settings)) == 2 and rs[1].batch > 0 and rs[1], 60, what="fit 2")
        assert again.name == "again" and again.id != run.id  # a new fit is a new run, never appended to the old
        process.send_signal(signal.SIGKILL)
        process.wait(10)
        killed = time.monotonic()
        lost = wait_for(lambda: (r := jobs.get_run(again.id, settings)).status != RUNNING and r, 30, what="the reap")
        assert time.monotonic() - killed < settings.heartbeat_timeout
        assert lost.status == FAILED and lost.error.startswith(f"the script (process {process.pid}) ended at epoch ")
        assert lost.error.endswith("without reporting how (killed, or it crashed)")
    finally:
        process.kill()
        process.wait(10)
        assert worker.stop(settings)


def test_a_reporter_that_loses_train_lab_keeps_training_and_sends_every_point_once_in_order(lab, tmp_path,
                                                                                             monkeypatch):
    import keras
    import numpy as np

    from trainlab import TrainLabCallback
    from trainlab.sinks import LocalSink, Unreachable
    from trainlab.sync import send_spooled

    monkeypatch.setenv("TRAINLAB_SPOOL", str(tmp_path / "spool"))

    class Away(LocalSink):
        """This machine's Train Lab, unreachable while `away` is set (as a server that stopped would be)."""
        away = False

        def call(self, op, payload):
            if self.away:
                raise Unreachable("connection refused")
            return super().call(op, payload)

    class GoAway(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            Away.away = epoch in (1, 2)  # away for the second and third epochs
            time.sleep(0.6)  # a report interval passes: some reports fail and wait in the spool

    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(200, 4)).astype("float32"), rng.integers(0, 2, 200)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    tracker = TrainLabCallback(name="offline", sink=Away(), interval=0.05)
    model.fit(x, y, batch_size=20, epochs=5, verbose=0, callbacks=[GoAway(), tracker])
    assert list((tmp_path / "spool").glob("*.jsonl")) or Away.away is False
    Away.away = False
    tracker.reporter.close()
    (run,) = jobs.list_runs(lab)
    assert run.status == SUCCEEDED
    metrics = jobs.run_metrics(run.id, lab)
    epochs = metrics[(metrics["kind"] == "epoch") & (metrics["name"] == "loss")]
    assert list(epochs["epoch"]) == [1.0, 2.0, 3.0, 4.0, 5.0]  # every epoch once, in order
    steps = list(metrics[(metrics["kind"] == "batch") & (metrics["name"] == "loss")]["step"])
    assert steps == sorted(set(steps))
    from core.store.runs import RunStore
    from core.store.tracked import reporter

    # Away for two epochs of 0.6 s each; counted from the first refused send to the first taken one, which a
    # loaded machine's threads can make a few tenths shorter (0.77 s seen): recorded, not exact.
    assert reporter(RunStore(lab.store_location), run.id).offline_seconds > 0.3
    assert not list((tmp_path / "spool").glob("*.jsonl"))  # all sent: nothing left behind

    # A script that ends while Train Lab is away leaves its requests in the spool; `sync` sends them later and
    # ends the run, since its script can no longer say how it ended.
    Away.away = True
    left = TrainLabCallback(name="left behind", sink=Away(), interval=0.05)
    left.set_model(model)
    left.set_params({"epochs": 2, "steps": 10})
    left.on_train_begin()
    left.on_epoch_begin(0)
    left.on_train_batch_end(0, {"loss": 0.7, "accuracy": 0.5})
    left.on_epoch_end(0, {"loss": 0.7, "accuracy": 0.5})
    time.sleep(0.3)
    left.reporter.close(wait=1.0)
    assert len(list((tmp_path / "spool").glob("*.jsonl"))) == 1
    said = send_spooled(tmp_path / "spool")
    assert len(said) == 1 and said[0].endswith(": sent 2 requests of run #2"), said  # its start, one report
    later = jobs.get_run(2, lab)
    assert later.status == FAILED and later.error == ("the script stopped at epoch 1; its last points were sent "
                                                      "later by python -m core sync")
    assert sorted(jobs.run_metrics(2, lab)["name"].unique()) == ["accuracy", "learning_rate", "loss"]
