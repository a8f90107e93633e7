"""The live-reporting callback: throttled within-epoch points, epoch metrics, progress, cancel."""
from core.reporting import StoreReporter


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


class DummyModel:
    stop_training = False


def _reporter(store, run_id, clock, epochs=2, steps=10, interval=0.5):
    reporter = StoreReporter(store, run_id, epochs=epochs, steps=steps, interval=interval, clock=clock)
    reporter.set_model(DummyModel())
    return reporter


def test_within_epoch_points_are_throttled_by_time(store):
    run_id = store.create_run("r", {})
    store.claim(run_id, 1, "h")
    clock = FakeClock()
    reporter = _reporter(store, run_id, clock)
    reporter.on_train_begin()
    reporter.on_epoch_begin(0)
    for batch in range(10):
        clock.now += 0.2  # 2 s in all, interval 0.5 s -> a point every third batch
        reporter.on_train_batch_end(batch, {"loss": 2.0 - batch * 0.1, "accuracy": 0.1 * batch})
    batch_points = [p for p in store.metrics(run_id) if p.kind == "batch"]
    assert [p.step for p in batch_points if p.name == "loss"] == [3, 6, 9]
    assert batch_points[0].epoch == 0.3 and abs(batch_points[0].value - 1.8) < 1e-9
    run = store.get(run_id)
    assert (run.epoch, run.batch, round(run.progress, 3)) == (1, 9, 0.45)
    assert abs(run.eta_seconds - 1.8 * 0.55 / 0.45) < 1e-6


def test_epoch_end_records_all_finite_metrics(store):
    run_id = store.create_run("r", {})
    store.claim(run_id, 1, "h")
    clock = FakeClock()
    reporter = _reporter(store, run_id, clock)
    reporter.on_train_begin()
    reporter.on_epoch_begin(0)
    clock.now = 1.0
    reporter.on_epoch_end(0, {"loss": 0.5, "accuracy": 0.8, "val_loss": float("nan"), "val_accuracy": 0.7})
    points = {p.name: p for p in store.metrics(run_id)}
    assert set(points) == {"loss", "accuracy", "val_accuracy"}  # NaN kept out of the curves
    assert points["val_accuracy"].epoch == 1.0 and points["loss"].step == 10
    assert store.get(run_id).progress == 0.5


def test_cancel_request_stops_training_at_the_next_report(store):
    run_id = store.create_run("r", {})
    store.claim(run_id, 1, "h")
    clock = FakeClock()
    reporter = _reporter(store, run_id, clock, interval=0.0)
    reporter.on_train_begin()
    reporter.on_epoch_begin(0)
    clock.now = 0.1
    reporter.on_train_batch_end(0, {"loss": 1.0})
    assert not reporter.model.stop_training
    store.request_cancel(run_id)
    clock.now = 0.2
    reporter.on_train_batch_end(1, {"loss": 1.0})
    assert reporter.model.stop_training and reporter.cancelled
