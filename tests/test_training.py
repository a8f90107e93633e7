"""Training a run in-process with the real Keras: outcomes, metrics, model file, failures, cancel."""
import threading

import keras
import numpy as np

from core.config import TrainConfig
from core.store import CANCELLED, FAILED, RUNNING, SUCCEEDED
from core.training import execute_run, split_indices
from tests.conftest import wait_for


def _queue(store, **changes):
    config = TrainConfig(**({"train_subset": 300, "epochs": 2, "batch_size": 16} | changes))
    return store.create_run(config.display_name(), config.to_dict(), epochs=config.epochs)


def test_a_run_trains_evaluates_and_saves(lab, store):
    run_id = _queue(store)
    assert execute_run(run_id, lab) == SUCCEEDED
    run = store.get(run_id)
    assert run.status == SUCCEEDED and run.progress == 1.0 and run.error is None
    assert 0.5 < run.test_accuracy <= 1.0  # 2 epochs on 240 digits beat chance (0.1) by far
    assert run.param_count == 64 * 1024 + 1024 + 1024 * 256 + 256 + 256 * 10 + 10
    assert run.steps == 15 and run.train_seconds > 0
    names = {(p.kind, p.name) for p in store.metrics(run_id)}
    assert {("epoch", "loss"), ("epoch", "accuracy"), ("epoch", "val_loss"), ("epoch", "val_accuracy")} <= names
    model = keras.models.load_model(lab.runs_dir / str(run_id) / "model.keras")
    assert model.count_params() == run.param_count


def test_within_epoch_points_arrive_between_epoch_ends(lab, store):
    run_id = _queue(store, train_subset=1000, epochs=1, batch_size=8)
    execute_run(run_id, lab)
    steps = [p.step for p in store.metrics(run_id) if p.kind == "batch"]
    assert steps and min(steps) < store.get(run_id).steps  # points before the epoch ended


def test_a_run_is_only_trained_once(lab, store):
    run_id = _queue(store)
    store.request_cancel(run_id)
    assert execute_run(run_id, lab) is None
    assert store.get(run_id).status == CANCELLED


def test_an_error_fails_the_run_with_a_readable_reason(lab, store):
    run_id = _queue(store, dataset="mnist")  # stored without validation; not on this machine
    assert execute_run(run_id, lab) == FAILED
    run = store.get(run_id)
    assert run.status == FAILED and "MNIST is not on this machine" in run.error and "\n" not in run.error


def test_cancel_while_running_stops_the_fit(lab, store):
    run_id = _queue(store, train_subset=None, epochs=200, batch_size=4)

    def cancel_when_training():
        wait_for(lambda: store.get(run_id).status == RUNNING and store.get(run_id).batch > 0, 120,
                 what="the run to start training")
        store.request_cancel(run_id)

    canceller = threading.Thread(target=cancel_when_training)
    canceller.start()
    assert execute_run(run_id, lab) == CANCELLED
    canceller.join()
    run = store.get(run_id)
    assert run.status == CANCELLED and run.progress < 0.5


def test_split_is_random_reproducible_and_disjoint():
    train, val = split_indices(100, 0.2, None, seed=1)
    assert len(train) == 80 and len(val) == 20 and not set(train) & set(val)
    again_train, again_val = split_indices(100, 0.2, None, seed=1)
    np.testing.assert_array_equal(val, again_val)
    _, other_val = split_indices(100, 0.2, None, seed=2)
    assert set(other_val) != set(val)
    sub_train, sub_val = split_indices(100, 0.5, 10, seed=1)
    assert len(sub_train) == 5 and len(sub_val) == 5
