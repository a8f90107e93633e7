"""The live-reporting callback: throttled within-epoch points, epoch metrics, progress, cancel."""
from dataclasses import replace

import pytest

from core.training.reporting import StoreReporter
from core.views.display import progress_text


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


class DummyModel:
    stop_training = False


def _started(store, interval=0.5):
    """A running run and its reporter (2 epochs x 10 batches), inside the first epoch at t=0."""
    run_id = store.create_run("r", {})
    store.claim(run_id, 1, "h")
    clock = FakeClock()
    reporter = StoreReporter(store, run_id, epochs=2, steps=10, interval=interval, clock=clock)
    reporter.set_model(DummyModel())
    reporter.on_train_begin()
    reporter.on_epoch_begin(0)
    return run_id, clock, reporter


def test_within_epoch_points_are_throttled_and_show_recent_batches(store):
    run_id, clock, reporter = _started(store)
    batch_losses = [2.0 - 0.1 * i for i in range(10)]
    for batch in range(10):
        clock.now += 0.2  # 2 s in all, interval 0.5 s -> the first batch, then a point every third
        running_mean = sum(batch_losses[: batch + 1]) / (batch + 1)  # what Keras logs
        reporter.on_train_batch_end(batch, {"loss": running_mean})
    clock.now += 0.1
    reporter.on_epoch_end(0, {"loss": sum(batch_losses) / 10})
    live = [(p.step, round(p.value, 6)) for p in store.metrics(run_id) if p.kind == "batch"]
    # Each point is the mean of the batches since the previous one, not of the whole epoch so far.
    assert live == [(1, 2.0), (4, 1.8), (7, 1.5), (10, 1.2)]
    [epoch_mean] = [p for p in store.metrics(run_id) if p.kind == "epoch"]
    assert round(epoch_mean.value, 6) == 1.55 and epoch_mean.epoch == 1.0


def test_progress_and_an_eta_only_once_it_means_something(store):
    run_id, clock, reporter = _started(store, interval=0.0)  # 2 epochs x 10 batches
    clock.now = 10.0  # the first batch also traced and compiled the model: 10 s
    reporter.on_train_batch_end(0, {"loss": 1.0})
    assert store.get(run_id).eta_seconds is None  # "19 min" here would only scare a class
    for batch in (1, 2):  # then 0.5 s a batch
        clock.now += 0.5
        reporter.on_train_batch_end(batch, {"loss": 1.0})
        assert store.get(run_id).eta_seconds is None  # too few steps yet to tell a pace
    clock.now += 0.5
    reporter.on_train_batch_end(3, {"loss": 1.0})
    run = store.get(run_id)
    assert (run.epoch, run.batch, run.progress) == (1, 4, 0.2)
    assert run.eta_seconds == pytest.approx(0.5 * 16)  # 16 batches left at 0.5 s, not 11.5 s × 4
    assert progress_text(replace(run, steps=10, epochs=2)).endswith("batch 4/10 · ETA 8 s")


def test_epoch_end_records_all_finite_metrics(store):
    run_id, clock, reporter = _started(store)
    clock.now = 1.0
    reporter.on_epoch_end(0, {"loss": 0.5, "accuracy": 0.8, "val_loss": float("nan"), "val_accuracy": 0.7})
    points = {p.name: p for p in store.metrics(run_id) if p.kind == "epoch"}
    assert set(points) == {"loss", "accuracy", "val_accuracy"}  # NaN kept out of the curves
    assert points["val_accuracy"].epoch == 1.0 and points["loss"].step == 10
    assert store.get(run_id).progress == 0.5


def test_cancel_request_stops_training_at_the_next_report(store):
    run_id, clock, reporter = _started(store, interval=0.0)
    clock.now = 0.1
    reporter.on_train_batch_end(0, {"loss": 1.0})
    assert not reporter.model.stop_training
    store.request_cancel(run_id)
    clock.now = 0.2
    reporter.on_train_batch_end(1, {"loss": 1.0})
    assert reporter.model.stop_training and reporter.cancelled


def test_a_cancelled_epoch_records_no_epoch_or_validation_point(store):
    # Keras still validates and ends the epoch it was cancelled in, with the partial epoch's logs.
    run_id, clock, reporter = _started(store, interval=0.0)
    store.request_cancel(run_id)
    clock.now = 0.1
    reporter.on_train_batch_end(3, {"loss": 1.0})
    clock.now = 0.5
    reporter.on_epoch_end(0, {"loss": 0.9, "val_loss": 1.1, "val_accuracy": 0.4})
    points = store.metrics(run_id)
    assert [(p.kind, p.name, p.step) for p in points] == [("batch", "loss", 4)]
    assert store.get(run_id).batch == 4


def test_batch_calls_that_arrive_late_from_keras_thread_pool_are_dropped(store):
    # async_safe: Keras may run batch hooks on a thread pool, so batch 3's call can follow batch 6's.
    assert StoreReporter.async_safe
    run_id, clock, reporter = _started(store, interval=0.0)
    clock.now = 0.1
    reporter.on_train_batch_end(5, {"loss": 1.0})
    clock.now = 0.2
    reporter.on_train_batch_end(2, {"loss": 5.0})  # late: batches 1-3 are inside the point at 6
    live = [(p.step, p.value) for p in store.metrics(run_id) if p.kind == "batch"]
    assert live == [(6, 1.0)] and store.get(run_id).batch == 6


def test_a_real_fit_reports_its_scheduled_learning_rate_and_the_workers_cpu_and_memory(store):
    """Every metric a run has: a cosine schedule's rate per epoch (Keras does not log it) and usage samples."""
    import keras
    import numpy as np

    from core.domain.metric_kinds import CPU_METRIC, MEMORY_METRIC, USAGE_KIND

    run_id = store.create_run("r", {})
    store.claim(run_id, 1, "h")
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
    schedule = keras.optimizers.schedules.CosineDecay(0.1, decay_steps=12)
    model.compile(keras.optimizers.Adam(schedule), "sparse_categorical_crossentropy", metrics=["accuracy"])
    x, y = np.random.default_rng(0).normal(size=(64, 4)), np.arange(64) % 3
    model.fit(x, y, batch_size=16, epochs=3, verbose=0,
              callbacks=[StoreReporter(store, run_id, epochs=3, steps=4, interval=0.0)])
    points = store.metrics(run_id)
    rates = [p.value for p in points if p.kind == "epoch" and p.name == "learning_rate"]
    assert len(rates) == 3 and rates == sorted(rates, reverse=True) and rates[0] < 0.1
    assert rates[-1] == pytest.approx(0.0, abs=1e-6)  # 12 steps of 12: the cosine has reached 0
    usage = [p for p in points if p.kind == USAGE_KIND]
    assert {p.name for p in usage} == {CPU_METRIC, MEMORY_METRIC} and len(usage) >= 6  # one per epoch end at least
    assert all(p.value > 50 for p in usage if p.name == MEMORY_METRIC)  # TensorFlow alone holds more than 50 MB
    assert all(0 <= p.value < 64 for p in usage if p.name == CPU_METRIC)
