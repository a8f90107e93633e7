"""Training a run in-process with the real Keras: outcomes, metrics, model file, failures, cancel."""
import threading

import keras
import numpy as np
import pytest

from core.data.datasets import ArrayDataset, load
from core.domain.config import ConfigError, TrainConfig
from core.domain.statuses import CANCELLED, FAILED, RUNNING, SUCCEEDED
from core.training.fit import execute_run, prepare_splits
from tests.conftest import make_image_folder, wait_for


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
    _assert_tensorboard_epochs(lab.runs_dir / str(run_id) / "tensorboard", epochs=2)
    from core.views import evaluation

    predictions = evaluation.load_predictions(lab.runs_dir / str(run_id))
    matrix = evaluation.confusion_matrix(predictions)
    assert matrix.sum() == 360 and np.trace(matrix) / 360 == pytest.approx(run.test_accuracy, abs=1e-6)
    assert len(predictions.mistakes) == min(36, 360 - np.trace(matrix))
    assert all(t != p for t, p in zip(predictions.mistakes_true, predictions.mistakes_pred))
    model = keras.models.load_model(lab.runs_dir / str(run_id) / "model.keras")
    assert model.count_params() == run.param_count
    # The scores come from the predictions' one pass: what `model.evaluate` says of the kept model.
    data = load("digits")
    loss, accuracy = model.evaluate(data.x_test / 255.0, data.y_test, verbose=0)
    assert run.test_loss == pytest.approx(loss, rel=1e-4) and run.test_accuracy == pytest.approx(accuracy, abs=1e-6)


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


def test_an_error_after_the_worker_was_told_to_stop_is_an_interruption_not_the_runs_fault(lab, store):
    from core.training.fit import RunInterrupted

    run_id = _queue(store, dataset="mnist")  # fails while loading, as TensorFlow can fail on a SIGTERM
    with pytest.raises(RunInterrupted):
        execute_run(run_id, lab, interrupted=lambda: True)
    run = store.get(run_id)
    assert run.status == "running" and run.error is None  # left for the runtime to re-queue once, not failed


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


def _toy_data(n_train=200, n_test=50):
    labels = np.arange(n_train) % 4
    return ArrayDataset(np.zeros((n_train, 4, 4, 1), np.uint8), labels, np.zeros((n_test, 4, 4, 1), np.uint8),
                        np.arange(n_test) % 4, ("a", "b", "c", "d"))


@pytest.mark.parametrize("size, one_hot", [((50, 4, 4, 1), None), ((50, 4, 4, 1), 3), ((20, 300, 300), None)])
def test_every_batch_pipeline_runs_without_tf_datas_autotuning_and_keeps_every_image(size, one_hot, monkeypatch):
    # Its optimizing thread made Keras wait 10-40 s at random epoch ends here (bench/RESULTS.md, figure 19); the
    # last case is over the in-memory limit, so its batches are scaled one by one.
    from core.training import batches

    monkeypatch.setattr(batches, "SCALED_IN_MEMORY_BYTES", 2**20)
    x = np.random.default_rng(0).integers(0, 256, size, dtype=np.uint8)
    y = np.arange(len(x)) % 3
    ds = batches.make_batches(x, y, 16, True, 7, one_hot)
    assert ds.options().autotune.enabled is False
    images, labels = (np.concatenate(part) for part in zip(*[(a.numpy(), b.numpy()) for a, b in ds]))
    assert images.dtype == np.float32 and images.max() <= 1.0 and len(images) == len(x)
    assert sorted(np.round(images.reshape(len(x), -1)[:, 0] * 255).astype(int)) == sorted(x.reshape(len(x), -1)[:, 0])
    assert labels.shape == ((len(x), one_hot) if one_hot else (len(x),))


def test_splits_are_stratified_disjoint_and_reproducible():
    data = _toy_data()
    config = TrainConfig(train_subset=100, test_subset=20, validation_split=0.2, seed=3)
    splits = prepare_splits(data, config)
    assert (len(splits.train), len(splits.validation), len(splits.test)) == (80, 20, 20)
    assert not set(splits.train) & set(splits.validation)
    assert np.bincount(data.y_train[splits.validation]).tolist() == [5, 5, 5, 5]
    assert np.bincount(data.y_test[splits.test]).tolist() == [5, 5, 5, 5]
    again = prepare_splits(data, config)
    np.testing.assert_array_equal(splits.validation, again.validation)
    other = prepare_splits(data, TrainConfig(train_subset=100, validation_split=0.2, seed=4))
    assert set(other.validation) != set(splits.validation)


def test_keras_split_holds_out_the_last_samples():
    splits = prepare_splits(_toy_data(), TrainConfig(validation_split=0.1, split_mode="keras"))
    assert splits.validation.tolist() == list(range(180, 200)) and splits.train.tolist() == list(range(180))


def test_a_subset_larger_than_the_loaded_data_is_refused():
    with pytest.raises(ConfigError, match="train_subset: asks for 500 samples but the loaded data has 200"):
        prepare_splits(_toy_data(), TrainConfig(train_subset=500))


def test_one_hot_labels_train_with_categorical_crossentropy(lab, store):
    run_id = _queue(store, labels="one_hot", test_subset=100)
    assert execute_run(run_id, lab) == SUCCEEDED, store.get(run_id).error
    run = store.get(run_id)
    assert run.test_accuracy > 0.5
    # Scored as `model.evaluate` scores the kept model on the same 100 test images, one-hot.
    data = load("digits")
    test = prepare_splits(data, TrainConfig(**run.config_dict)).test
    model = keras.models.load_model(lab.runs_dir / str(run_id) / "model.keras")
    loss, accuracy = model.evaluate(data.x_test[test] / 255.0, np.eye(10)[data.y_test[test]], verbose=0)
    assert run.test_loss == pytest.approx(loss, rel=1e-4) and run.test_accuracy == pytest.approx(accuracy, abs=1e-6)


def test_an_image_folder_trains_at_the_chosen_size(lab, store):
    make_image_folder(lab.data_root / "pets", {"cat": 12, "dog": 12}, size=(40, 30))
    run_id = _queue(store, dataset="folder:pets", image_size=16, train_subset=None, validation_split=0.25,
                    batch_size=4)
    assert execute_run(run_id, lab) == SUCCEEDED, store.get(run_id).error
    run = store.get(run_id)
    assert run.param_count == 16 * 16 * 3 * 1024 + 1024 + 1024 * 256 + 256 + 256 * 2 + 2
    assert run.steps == 4  # 24 images: 4 held out for test (20 % per class); of 20, 5 validate, 15 train


@pytest.mark.parametrize("key", sorted(__import__("core.domain.config", fromlist=["OPTIMIZERS"]).OPTIMIZERS))
def test_every_offered_optimizer_builds_and_takes_a_step(key):
    from core.domain.config import OPTIMIZERS
    from core.training.fit import make_optimizer

    optimizer = make_optimizer(TrainConfig(optimizer=key, learning_rate=0.01))
    assert type(optimizer).__name__ == OPTIMIZERS[key] and float(optimizer.learning_rate) == pytest.approx(0.01)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy")
    before = [w.copy() for w in model.get_weights()]
    model.fit(np.ones((8, 4), "float32"), np.arange(8) % 3, epochs=1, verbose=0)
    assert any(not np.allclose(a, b) for a, b in zip(before, model.get_weights()))


def test_cosine_schedule_decays_the_rate_to_zero_by_the_last_batch():
    from core.training.fit import make_optimizer

    optimizer = make_optimizer(TrainConfig(lr_schedule="cosine", learning_rate=0.1), total_steps=8)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy")
    assert float(optimizer.learning_rate) == pytest.approx(0.1)
    model.fit(np.ones((32, 4), "float32"), np.arange(32) % 3, batch_size=8, epochs=1, verbose=0)  # 4 of 8 steps
    assert float(optimizer.learning_rate) == pytest.approx(0.05, abs=1e-6)  # half-way down the cosine
    model.fit(np.ones((32, 4), "float32"), np.arange(32) % 3, batch_size=8, epochs=1, verbose=0)
    assert float(optimizer.learning_rate) == pytest.approx(0.0, abs=1e-6)


def _assert_tensorboard_epochs(log_dir, epochs: int) -> None:
    """TensorBoard's own reader finds one point per epoch for train and validation metrics."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    for part, tag in (("train", "epoch_loss"), ("train", "epoch_accuracy"), ("validation", "epoch_accuracy")):
        events = EventAccumulator(str(log_dir / part)).Reload()
        tags = events.Tags()
        values = events.Scalars(tag) if tag in tags.get("scalars", []) else \
            [e for e in events.Tensors(tag)] if tag in tags.get("tensors", []) else []
        assert [e.step for e in values] == list(range(epochs)), (part, tag, tags)


def test_sixteen_steps_a_call_trains_the_very_same_model_and_still_reports_within_epochs(lab, store):
    from core.services import jobs

    # 320 training images (a fifth of 400 held out) of batch 16: 20 steps an epoch, a call of 16 and one of 4.
    config = dict(epochs=2, train_subset=400, batch_size=16, seed=7)
    runs = []
    for mode in ("keras", "spe"):
        run_id = jobs.submit(TrainConfig(name=mode, training_mode=mode, **config), lab)
        assert execute_run(run_id, lab.model_copy(update={"report_interval": 0.0})) == SUCCEEDED
        runs.append(store.get(run_id))
    keras_run, spe_run = runs
    assert spe_run.test_loss == pytest.approx(keras_run.test_loss, rel=1e-5)
    assert spe_run.test_accuracy == pytest.approx(keras_run.test_accuracy, abs=1e-6)
    assert (spe_run.epoch, spe_run.batch) == (keras_run.epoch, keras_run.batch) == (2, 20)

    def epoch_losses(run):
        return [(p.step, round(p.value, 5)) for p in store.metrics(run.id) if p.kind == "epoch" and p.name == "loss"]

    assert epoch_losses(spe_run) == epoch_losses(keras_run) and [s for s, _ in epoch_losses(spe_run)] == [20, 40]
    # Within an epoch the curve moves after each call: Keras calls the batch hooks once per sixteen steps.
    assert {16, 36} <= {p.step for p in store.metrics(spe_run.id) if p.kind == "batch" and p.name == "loss"}
    assert jobs.training_mode_text(spe_run, lab) == "Keras' default with 16 steps a call, as the run asked."


def test_a_run_forced_to_xla_trains_and_a_bad_mode_or_xla_with_augmentation_is_refused(lab, store, capsys):
    from core.cli.main import main
    from core.domain.config import validate
    from core.services import jobs

    for mode in ("xla", "xla_spe"):
        assert main(["submit", "--training-mode", mode, "--epochs", "1", "--train-subset", "400"]) == 0
        run = store.list_runs()[0]
        assert run.config_dict["training_mode"] == mode
        assert execute_run(run.id, lab) == SUCCEEDED and store.get(run.id).test_accuracy > 0.3
    assert jobs.training_mode_text(store.get(run.id), lab) == "XLA with 16 steps a call, as the run asked."
    capsys.readouterr()
    with pytest.raises(ConfigError, match="^training_mode: must be one of auto, keras, xla, spe, xla_spe; got 'fast'$"):
        validate(TrainConfig(training_mode="fast"), lab)
    for mode in ("xla", "xla_spe"):
        with pytest.raises(ConfigError, match="^training_mode: XLA does not compile the augmentation layers"):
            jobs.submit(TrainConfig(training_mode=mode, augmentation=[{"layer": "RandomFlip",
                                                                       "params": {"mode": "horizontal"}}]), lab)
    assert len(store.list_runs()) == 2
