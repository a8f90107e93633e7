"""Train one queued run inside a worker process: data, model, fit, evaluate, save.

`execute_run` is what the queue calls. It never raises for a problem with the run itself:
every outcome ends in the store as succeeded, failed (with the reason) or cancelled.
"""
from __future__ import annotations

import gc
import logging
import os
import shutil
import socket
import threading
import time
import traceback as tb
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from core.data import datasets
from core.data.sampling import stratified_subset, train_validation_split
from core.domain.architectures import ArchitectureError
from core.domain.augment import AugmentError
from core.domain.config import OPTIMIZERS, ConfigError, TrainConfig
from core.domain.model_files import file_id, is_model_file
from core.domain.statuses import CANCELLED, EVALUATED, FAILED, SUCCEEDED
from core.domain.training_modes import AUTO, KERAS, SPE, STEPS_PER_CALL, XLA, XLA_SPE
from core.errors import Refusal
from core.settings import Settings, load_settings
from core.store.runs import RunStore, Superseded
from core.store.schema import StoreBusy
from core.store.sweeps import halving_plan
from core.training.augmentation import wrap_model
from core.training.batches import make_batches
from core.training.builders import build_model
from core.training.mode_probe import probe_batches, training_mode
from core.training.model_loading import model_from_file

log = logging.getLogger(__name__)


class Heartbeat:
    """A daemon thread that tells the store this run's worker is alive, even mid-batch."""

    def __init__(self, store: RunStore, run_id: int, attempt: int, interval: float):
        self.store, self.run_id, self.attempt, self.interval = store, run_id, attempt, interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"heartbeat-{run_id}", daemon=True)

    def __enter__(self) -> "Heartbeat":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _beat(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.store.heartbeat(self.run_id, self.attempt)
            except Superseded:
                break  # the run is no longer this attempt's; the reporter stops the fit at its next write
            except Exception:  # a busy store must not kill the thread; the next beat retries
                log.exception("heartbeat for run %s failed", self.run_id)
        self.store.close()


@dataclass(frozen=True)
class PreparedData:
    """Index arrays into the loaded dataset for each split, after subsets and the validation split."""

    train: np.ndarray
    validation: np.ndarray
    test: np.ndarray


def prepare_splits(data: datasets.ArrayDataset, config: TrainConfig) -> PreparedData:
    """1. a stratified, seeded training subset; 2. the validation split of it; 3. a test subset."""
    for name, wanted, available in (("train_subset", config.train_subset, len(data.y_train)),
                                    ("test_subset", config.test_subset, len(data.y_test))):
        if wanted is not None and wanted > available:
            raise ConfigError(name, f"asks for {wanted} samples but the loaded data has {available}")
    subset = stratified_subset(data.y_train, config.train_subset, config.seed)
    if config.split_mode == "keras":
        subset = np.sort(subset)  # Keras splits the data in its given order
    train_pos, val_pos = train_validation_split(data.y_train[subset], config.validation_split, config.seed,
                                                config.split_mode)
    test = stratified_subset(data.y_test, config.test_subset, config.seed) if config.test_subset \
        else np.arange(len(data.y_test))
    return PreparedData(train=subset[train_pos], validation=subset[val_pos], test=test)


def make_optimizer(config: TrainConfig, total_steps: int = 1):
    """The Keras optimizer the config names, with its learning-rate schedule over `total_steps` batches."""
    import keras

    lr = config.learning_rate
    if config.lr_schedule == "cosine":
        lr = keras.optimizers.schedules.CosineDecay(lr, decay_steps=max(1, total_steps))
    if config.optimizer == "sgd":
        return keras.optimizers.SGD(learning_rate=lr, momentum=config.momentum, nesterov=config.nesterov)
    return getattr(keras.optimizers, OPTIMIZERS[config.optimizer])(learning_rate=lr)


def one_line(exc: BaseException) -> str:
    """An exception as one readable line for the Runs page."""
    text = " ".join(str(exc).split()) or exc.__class__.__name__
    if len(text) > 300:
        text = text[:297] + "..."
    return (text if isinstance(exc, (datasets.DatasetUnavailable, ConfigError, ArchitectureError, AugmentError))
            else f"{exc.__class__.__name__}: {text}")


class RunInterrupted(Exception):
    """The attempt was lost to something outside the run: a signal (a worker turns SIGTERM into
    KeyboardInterrupt; the runtime says what it means: the pool stopping, or a signal from outside), or
    a store another process kept locked (`reason` says so). The runtime re-queues the run once, or fails it."""

    def __init__(self, run_id: int, attempt: int, reason: str | None = None):
        super().__init__(f"run #{run_id}, attempt {attempt}, was interrupted")
        self.run_id, self.attempt, self.reason = run_id, attempt, reason


def execute_run(run_id: int, settings: Settings | None = None, threads: int | None = None,
                interrupted: Callable[[], bool] | None = None, host: str | None = None) -> str | None:
    """Claim run `run_id` and train it to a final status, recording the CPU `threads` it trains with;
    returns that status (None if not claimed, or if this attempt lost the run to the store meanwhile:
    then it wrote nothing more). `interrupted` says whether the worker was told to stop meanwhile: an
    error then is the interruption's, not the run's (RunInterrupted instead of `failed`). `host` names
    where it trains (default: this machine's name; a Ray node adds its id)."""
    settings = settings or load_settings()
    store = RunStore(settings.store_location)
    attempt = store.claim(run_id, os.getpid(), host or socket.gethostname(), threads)
    if attempt is None:
        return None  # cancelled while queued, or claimed elsewhere
    started = time.monotonic()
    try:
        with Heartbeat(store, run_id, attempt, settings.heartbeat_interval):
            return _train(store, run_id, attempt, settings, started, interrupted)
    except Superseded:
        log.warning("run %s: attempt %s was superseded (marked lost or re-queued); it stopped and wrote nothing "
                    "more", run_id, attempt)
        return None
    except KeyboardInterrupt:
        raise RunInterrupted(run_id, attempt) from None
    except StoreBusy as exc:  # not the run's fault: the store stayed locked longer than a write waits
        raise RunInterrupted(run_id, attempt, f"its writes were refused ({exc})") from None
    except Exception as exc:
        if interrupted is not None and interrupted():
            # The worker's KeyboardInterrupt, raised while TensorFlow traced a function, can come out as another error.
            raise RunInterrupted(run_id, attempt) from exc
        # On a cluster the error names the node: a dataset one node lacks is fixed on that node.
        error = one_line(exc) if host is None else f"on {host}: {one_line(exc)}"
        # A refusal (a dataset that cannot be read, an input the model cannot take) is the one line itself.
        trace = None if isinstance(exc, Refusal) else tb.format_exc()
        store.finish(run_id, FAILED, error=error, traceback=trace, attempt=attempt)
        return FAILED
    finally:
        _release_memory()


def _train(store: RunStore, run_id: int, attempt: int, settings: Settings, started: float,
           interrupted: Callable[[], bool] | None = None) -> str:
    import keras

    run = store.get(run_id)
    config = TrainConfig.from_json(run.config)
    data = datasets.load(config.dataset, settings, image_size=config.image_size)

    # 1. The same seed gives the same subsets, split, shuffling and initial weights.
    keras.utils.set_random_seed(config.seed)
    splits, classes = prepare_splits(data, config), len(data.class_names)
    one_hot = classes if config.labels == "one_hot" else None

    def batches(x, y, idx, shuffle, batch_size=config.batch_size):
        return make_batches(x[idx], y[idx], batch_size, shuffle, config.seed, one_hot)

    train, steps = batches(data.x_train, data.y_train, splits.train, True), -(-len(splits.train) // config.batch_size)
    val = batches(data.x_train, data.y_train, splits.validation, False) if len(splits.validation) else None
    # 2. Build and compile the model for this dataset's shape and classes (an evaluation run only scores it), in
    # the training mode it asks for, or the one measured fastest for its shape here (`auto`).
    model, compile_for = _compiled_model(config, data.x_train.shape[1:], classes, one_hot, steps, settings)
    test = batches(data.x_test, data.y_test, splits.test, False, max(config.batch_size, 256))
    if run.kind == EVALUATED:  # a trained model file scored on the test split: no training
        return _score_only(store, run_id, attempt, settings, model, test, data, splits.test, one_hot)
    _use_training_mode(store, run_id, config, model, compile_for, data, splits, one_hot, steps, settings)
    store.set_plan(run_id, epochs=config.epochs, steps=steps, param_count=int(model.count_params()), attempt=attempt)
    run_dir = _fresh_run_dir(settings.runs_dir / str(run_id), attempt)

    # 3. Fit, reporting live; the reporter also stops the fit when the run is cancelled or superseded.
    reporter, callbacks = _callbacks(store, run_id, attempt, config, steps, settings)
    if interrupted is not None:
        callbacks.insert(0, _stop_when_interrupted(interrupted))
    reporter.report_start(*initial_scores(model, data.x_train[splits.train[:START_SAMPLES]],
                                          data.y_train[splits.train[:START_SAMPLES]], one_hot))
    fit_start = time.monotonic()
    # shuffle=False: the tf.data pipeline already reshuffles every epoch from the seed.
    model.fit(train, validation_data=val, epochs=config.epochs, callbacks=callbacks, shuffle=False, verbose=0)
    train_seconds = time.monotonic() - fit_start
    if reporter.superseded:
        raise Superseded(f"run #{run_id}: attempt {attempt} no longer owns it")
    if reporter.cancelled:
        store.finish(run_id, CANCELLED, error="cancelled by user", train_seconds=train_seconds, attempt=attempt)
        return CANCELLED

    # 4. Evaluate on the untouched test split and keep the model, if the store still takes this attempt's result.
    test_loss, test_accuracy, keep = score_test(model, test, data, splits.test, one_hot)
    _keep_result(store, run_id, attempt, run_dir, model, keep, test_loss=test_loss, test_accuracy=test_accuracy,
                 train_seconds=train_seconds)
    return SUCCEEDED


def _score_only(store: RunStore, run_id: int, attempt: int, settings: Settings, model, test, data, test_idx,
                one_hot: int | None) -> str:
    """An evaluation run: the model file's own weights scored on the test split, as `model.evaluate` scores them."""
    store.set_plan(run_id, epochs=0, steps=0, param_count=int(model.count_params()), attempt=attempt)
    run_dir = _fresh_run_dir(settings.runs_dir / str(run_id), attempt)
    started = time.monotonic()
    test_loss, test_accuracy, keep = score_test(model, test, data, test_idx, one_hot)
    _keep_result(store, run_id, attempt, run_dir, model, keep, test_loss=test_loss, test_accuracy=test_accuracy,
                 train_seconds=time.monotonic() - started)
    return SUCCEEDED


def _keep_result(store: RunStore, run_id: int, attempt: int, run_dir: Path, model, write_predictions,
                 **scores) -> None:
    """Finish the run as succeeded and keep its model and predictions, or raise Superseded.

    They are written under the attempt's own names and take their final names only once the store
    accepted this attempt's result, so a superseded attempt never leaves a model behind."""
    staged = {run_dir / name: run_dir / f".attempt{attempt}.{name}" for name in ("predictions.npz", "model.keras")}
    write_predictions(staged[run_dir / "predictions.npz"])
    model.save(staged[run_dir / "model.keras"])
    if not store.finish(run_id, SUCCEEDED, attempt=attempt, **scores):
        for temporary in staged.values():
            temporary.unlink(missing_ok=True)
        raise Superseded(f"run #{run_id}: attempt {attempt} no longer owns it")
    for final, temporary in staged.items():
        temporary.replace(final)


def _use_training_mode(store: RunStore, run_id: int, config: TrainConfig, model, compile_for, data, splits,
                       one_hot: int | None, steps: int, settings: Settings) -> None:
    """Recompile `model` in the mode `auto` measured fastest here (a forced mode was compiled with the model)."""
    def probe():
        return probe_batches(data.x_train, data.y_train, splits.train, config.batch_size,
                             lambda x, y, size: make_batches(x, y, size, False, config.seed, one_hot))

    choice = training_mode(store, run_id, config, model, compile_for, probe, steps * config.epochs,
                           settings.measure_training_modes)
    if config.training_mode == AUTO and choice.mode != KERAS:
        compile_for(model, choice.mode)  # nothing trained yet: the same initial weights, compiled that way


def _fresh_run_dir(run_dir: Path, attempt: int) -> Path:
    """The run's folder; a retry starts it over (the lost attempt's event files and files go)."""
    if attempt > 1 and run_dir.exists():
        shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir(parents=True, exist_ok=True)
    return run_dir


def _compiled_model(config: TrainConfig, input_shape: tuple, classes: int, one_hot: int | None, steps: int,
                    settings: Settings):
    """The run's architecture for these images (behind its augmentation pipeline, if any), compiled in the training
    mode the run asks for (Keras' default for `auto`, until measured), and how to compile a model in a given mode."""
    def build(shape):
        if is_model_file(config.architecture):  # a student's own file: its input and classes were checked
            fresh = config.arch_options.get("weights", "fresh") == "fresh"
            return model_from_file(settings.models_dir / f"{file_id(config.architecture)}.keras", fresh,
                                   settings.max_params)
        return build_model(config.architecture, shape, classes, config.arch_options)

    model = wrap_model(build, config.augmentation, input_shape, config.seed) if config.augmentation else \
        build(input_shape)
    loss = "categorical_crossentropy" if one_hot else "sparse_categorical_crossentropy"

    def compile_for(target, mode: str) -> None:
        # "auto" is Keras' own default: no XLA on a CPU-only machine.
        target.compile(optimizer=make_optimizer(config, steps * config.epochs), loss=loss, metrics=["accuracy"],
                       jit_compile=True if mode in (XLA, XLA_SPE) else "auto",
                       steps_per_execution=STEPS_PER_CALL if mode in (SPE, XLA_SPE) else 1)

    compile_for(model, KERAS if config.training_mode == AUTO else config.training_mode)
    return model, compile_for


def _callbacks(store: RunStore, run_id: int, attempt: int, config: TrainConfig, steps: int, settings: Settings):
    """(the store reporter, every callback of the fit): live reporting, halving for a sweep's trial,
    and event files so `tensorboard --logdir <TRAINLAB_HOME>/runs` shows the same curves."""
    from core.training.epoch_summaries import EpochSummaries
    from core.training.reporting import StoreReporter

    reporter = StoreReporter(store, run_id, config.epochs, steps, settings.report_interval, attempt=attempt)
    callbacks = [reporter]
    plan = halving_plan(store, run_id, config.epochs)
    if plan and plan.rungs:
        from core.training.halving import HalvingCallback

        callbacks.append(HalvingCallback(store, run_id, plan))  # after the reporter: it reads this epoch's score
    callbacks.append(EpochSummaries(settings.runs_dir / str(run_id) / "tensorboard"))
    return reporter, callbacks


def _stop_when_interrupted(interrupted: Callable[[], bool]):
    """A callback that ends the fit at the next batch once the worker was told to stop: the signal's own
    KeyboardInterrupt can be swallowed (raised inside a weakref callback, it is only printed)."""
    import keras

    class StopWhenInterrupted(keras.callbacks.Callback):
        # Without it Keras runs every batch hook on the training thread, waiting for each step's results (a
        # plain fit's loop goes on to the next step meanwhile), for every callback of the fit, the reporter's too.
        # Raised on Keras' hook thread, the interruption reaches the loop at its next batch.
        async_safe = True

        def on_train_batch_end(self, batch, logs=None):
            if interrupted():
                raise KeyboardInterrupt

    return StopWhenInterrupted()


START_SAMPLES = 32  # training images the untrained model is scored on for the curve's first point


def initial_scores(model, x: np.ndarray, y: np.ndarray, one_hot_classes: int | None) -> tuple[float, float]:
    """(loss, accuracy) of the untrained model on a few training images, in one eager forward pass
    (no graph to trace): for 10 classes the loss starts near ln(10) ≈ 2.3, the accuracy near 10 %."""
    return _scores(np.asarray(model(x.astype("float32") / 255.0, training=False)), y, one_hot_classes)


def _scores(probabilities: np.ndarray, y: np.ndarray, one_hot_classes: int | None) -> tuple[float, float]:
    """(mean cross-entropy, accuracy) of these predicted class probabilities for labels `y`, with the loss the run
    compiled (categorical for one-hot labels)."""
    import keras

    labels = y.astype("int64")
    if one_hot_classes:
        loss = keras.losses.categorical_crossentropy(np.eye(one_hot_classes, dtype="float32")[labels], probabilities)
    else:
        loss = keras.losses.sparse_categorical_crossentropy(labels, probabilities)
    return float(np.mean(np.asarray(loss))), float(np.mean(np.argmax(probabilities, axis=-1) == labels))


def score_test(model, test_batches, data: datasets.ArrayDataset, test_idx: np.ndarray, one_hot_classes: int | None):
    """(loss, accuracy, keep) on the test split from one `predict` pass: what `model.evaluate` reports (its loss with
    the model's regularization penalties, as `evaluate` adds them), and `keep(path)`, which writes the predictions
    the Runs page shows. One pass over the test images instead of evaluate's and then predict's (for the assignment's
    CNN on Fashion-MNIST's 10,000 test images, about 0.8 s saved in every run and sweep trial here)."""
    probabilities = np.asarray(model.predict(test_batches, verbose=0))
    loss, accuracy = _scores(probabilities, data.y_test[test_idx], one_hot_classes)
    loss += float(sum(np.asarray(penalty) for penalty in model.losses))
    predicted = np.argmax(probabilities, axis=-1)
    return loss, accuracy, lambda path: save_predictions(path, predicted, data, test_idx)


MAX_MISTAKES_KEPT = 36


def save_predictions(path: Path, predicted: np.ndarray, data: datasets.ArrayDataset, test_idx: np.ndarray) -> None:
    """Keep the test labels, the `predicted` classes and a few misclassified images, so the Runs page can show a
    confusion matrix and mistakes without loading the dataset or TensorFlow."""
    true = data.y_test[test_idx]
    wrong = np.flatnonzero(predicted != true)[:MAX_MISTAKES_KEPT]
    np.savez_compressed(path, y_true=true, y_pred=predicted,
                        class_names=np.array(data.class_names), mistakes=data.x_test[test_idx[wrong]],
                        mistakes_true=true[wrong], mistakes_pred=predicted[wrong])


def _release_memory() -> None:
    """Free the last model's graph so a long-lived worker does not grow run after run."""
    try:
        import keras

        keras.backend.clear_session()
    except Exception:
        log.exception("clear_session failed")
    gc.collect()
