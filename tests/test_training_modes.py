"""A run's training mode (issue 32): `auto` measures Keras' default against 16 steps a call and XLA with 16 steps a
call on the run's own first steps, keeps the fastest that reached the same loss, notes it on the run (its page says
which and by how much) and keeps the measurement for later runs of the same shape; a forced mode is kept as asked."""
from dataclasses import replace

import pytest

from core.domain.config import TrainConfig
from core.domain.statuses import SUCCEEDED
from core.domain.training_modes import (
    KERAS,
    MIN_GAIN,
    SPE,
    XLA,
    XLA_SPE,
    ModeChoice,
    Timings,
    again,
    choose,
    describe,
    fixed_choice,
    same_result,
    shape_key,
    too_short,
)
from core.services import jobs
from core.settings import load_settings
from core.store.training_modes import keep_measurement, measured_choice, run_mode
from core.training.fit import execute_run
from tests.conftest import on_both_databases


def test_a_mode_is_chosen_only_when_clearly_faster_over_the_run_with_its_compiles():
    dense = Timings(keras_step=0.010, keras_start=0.2, modes={XLA_SPE: (0.006, 1.5)})  # XLA's compile: 1.5 s
    long = choose(dense, total_steps=10_000)
    # 100.4 s expected as Keras' default, 63 s with XLA (its two compiles counted)
    assert (long.mode, long.speedup, long.run_gain) == (XLA_SPE, pytest.approx(10 / 6), pytest.approx(100.4 / 63, 1e-3))
    short = choose(dense, total_steps=500)  # 5.4 s against 6 s: the compile eats the gain
    assert short.mode == KERAS and short.speedup == pytest.approx(10 / 6) and short.run_gain < 1
    noise = Timings(0.010, 0.0, {SPE: (0.010 / (MIN_GAIN - 0.01), 0.0)})
    assert choose(noise, 10_000).mode == KERAS  # faster, but within the noise
    conv = choose(Timings(0.004, 0.1, {XLA_SPE: (0.008, 3.0)}), 10_000)
    assert (conv.mode, conv.speedup) == (KERAS, 0.5)  # a conv net: XLA is slower
    none = choose(Timings(0.010, 0.2), 10_000, {XLA_SPE: "reached another loss (0.6 against 0.5)",
                                                SPE: "failed here (no such op)"})
    assert (none.mode, none.speedup, none.how) == (KERAS, None, "measured: XLA with 16 steps a call reached another "
                                                                "loss (0.6 against 0.5); 16 steps a call failed here "
                                                                "(no such op)")
    assert same_result(0.501, 0.5) and not same_result(0.6, 0.5) and not same_result(None, 0.5)


def test_sixteen_steps_a_call_is_taken_over_xla_unless_xla_is_clearly_faster_as_xla_changes_the_result():
    both = Timings(keras_step=0.010, keras_start=0.2, modes={XLA_SPE: (0.0075, 1.0), SPE: (0.008, 0.3)})
    spe = choose(both, 10_000)
    # XLA 1.30 × over the run, `spe` 1.25 ×: XLA is not MIN_GAIN faster than the mode that trains the very same model
    assert (spe.mode, spe.versus, spe.speedups) == (SPE, SPE, {XLA_SPE: 1.333, SPE: 1.25})
    assert spe.speedup == pytest.approx(1.25) and spe.run_gain == pytest.approx(100.4 / 80.6, abs=1e-3)
    clearly = Timings(0.010, 0.2, {XLA_SPE: (0.005, 1.0), SPE: (0.008, 0.3)})  # 1.94 × over the run against 1.25 ×
    assert choose(clearly, 10_000).mode == XLA_SPE
    # XLA must beat the exact mode's own gain (at least Keras' default's) by MIN_GAIN; a slower `spe` never tips the
    # choice to XLA for less (over 1,000 steps, starts of 0: the gains are the speed-ups).
    def pick(spe: float, xla: float) -> str:
        return choose(Timings(0.010, 0.0, {SPE: (0.010 / spe, 0.0), XLA_SPE: (0.010 / xla, 0.0)}), 1_000).mode

    assert [pick(1.04, 1.16), pick(1.10, 1.20), pick(1.09, 1.12), pick(1.15, 1.20), pick(1.30, 1.44)] == \
        [XLA_SPE, SPE, KERAS, SPE, XLA_SPE]
    slow = choose(Timings(0.010, 0.2, {XLA_SPE: (0.020, 2.0), SPE: (0.0102, 0.3)}), 10_000)
    assert (slow.mode, slow.versus) == (KERAS, SPE)  # neither is faster; `spe` is the closer
    assert describe(slow) == ("Keras' default: XLA with 16 steps a call ran at 0.50 ×, and 16 steps a call ran at "
                              "0.98 × its speed a step here (measured at the start of this run).")
    assert describe(spe) == ("16 steps a call: 1.25 × faster a step than Keras' default here, about 1.25 × over this "
                             "run, training the very same model (measured at the start of this run).")
    assert describe(replace(clearly_choice := choose(clearly, 10_000), probe_seconds=4.2)) == (
        f"XLA with 16 steps a call: 2.00 × faster a step than Keras' default here, about {clearly_choice.run_gain:.2f}"
        " × over this run with its compiles (measured in 4.2 s at the start of this run).")


def test_what_is_decided_without_measuring():
    assert fixed_choice("xla", False) == ModeChoice(XLA, None, "forced")
    assert fixed_choice("keras", False) == ModeChoice(KERAS, None, "forced")
    assert fixed_choice("auto", True).how.startswith("augmentation: XLA does not compile")
    assert fixed_choice("auto", False, measuring=False).how.startswith("measuring is off here")
    assert fixed_choice("auto", False) is None
    assert too_short(120).how == "a run of 120 steps: measuring pays from 1,000 steps on"
    assert too_short(600, planned_steps=1_200) is None and too_short(1_000) is None  # a sweep's trials of it: 1,200


def test_the_run_pages_line_says_which_mode_and_by_how_much():
    assert describe(ModeChoice(XLA, 1.523, "measured", 2.34, run_gain=1.41, steps=9000)) == (
        "XLA: 1.52 × faster a step than Keras' default here, about 1.41 × over this run with its compiles (measured "
        "in 2.3 s at the start of this run).")
    assert describe(ModeChoice(KERAS, 1.3, "earlier", measured_by=12, run_gain=0.95, steps=506)) == (
        "Keras' default: XLA was 1.30 × faster a step here, but over this run's 506 steps its compiles would cost "
        "about what it saves (measured by run #12 of this model and batch on this machine).")
    assert describe(ModeChoice(KERAS, 0.48, "measured", 3.0, run_gain=0.5, steps=900)) == (
        "Keras' default: XLA ran at 0.48 × its speed a step here (measured in 3.0 s at the start of this run).")
    assert describe(ModeChoice(XLA, None, "forced")) == "XLA, as the run asked."
    assert describe(ModeChoice(KERAS, None, "a run of 12 steps: measuring pays from 300 steps on")) == \
        "Keras' default (a run of 12 steps: measuring pays from 300 steps on)."
    assert describe(None) is None


@on_both_databases
def test_a_measurement_is_kept_per_model_its_options_shape_batch_threads_and_machine(store):
    key = shape_key("mlp", {}, (8, 8, 1), 10, 32, 2, "lab-pc")
    assert len({key, shape_key("mlp", {}, (8, 8, 1), 10, 64, 2, "lab-pc"), shape_key("mlp", {}, (8, 8, 1), 10, 32, 1,
                                                                                       "lab-pc"),
                shape_key("mlp", {}, (8, 8, 1), 10, 32, 2, "gpu-box"),
                shape_key("mlp", {"dropout": 0.2}, (8, 8, 1), 10, 32, 2, "lab-pc")}) == 5
    assert measured_choice(store, key, 10_000) is None
    dense = Timings(0.010, 0.2, {XLA_SPE: (0.006, 1.5)})
    keep_measurement(store, key, dense, run_id=4)
    # Each later run decides for its own length from the kept timings.
    assert measured_choice(store, key, 10_000) == again(dense, 10_000, "earlier", 4)
    assert measured_choice(store, key, 10_000).mode == XLA_SPE and measured_choice(store, key, 500).mode == KERAS
    keep_measurement(store, key, Timings(0.010, 0.2), run_id=5)  # the latest wins: nothing matched there
    assert measured_choice(store, key, 10_000) == ModeChoice(KERAS, None, "earlier: no faster mode trained to the "
                                                             "same result for this model here", measured_by=5)
    keep_measurement(store, key, Timings(0.010, 0.2, {SPE: (0.006, 0.3)}), run_id=6)  # `spe`: 1.67 ×
    assert (measured_choice(store, key, 10_000).mode, measured_choice(store, key, 10_000).measured_by) == (SPE, 6)


def test_a_measurement_kept_before_spe_was_a_candidate_is_made_again_after_the_stores_migration(tmp_path):
    import sqlite3

    from core.store.runs import RunStore
    from core.store.schema import SCHEMA_VERSION, schema_version

    path = tmp_path / "trainlab.db"
    RunStore(path).connection().close()
    conn = sqlite3.connect(path)  # as version 9 left it: no `modes` column, an XLA measurement kept
    conn.execute("ALTER TABLE mode_measurements DROP COLUMN modes")
    conn.execute("INSERT INTO mode_measurements (shape_key, same_result, keras_seconds, xla_seconds, keras_start, "
                 "xla_start, measured_at, run_id) VALUES ('k', 1, 0.01, 0.006, 0.2, 1.5, 0, 3)")
    conn.execute("PRAGMA user_version = 9")
    conn.commit()
    conn.close()
    store = RunStore(path)
    assert schema_version(store.connection()) == SCHEMA_VERSION == 10
    assert measured_choice(store, "k", 10_000) is None  # measured again, with `spe` and `xla_spe`
    keep_measurement(store, "k", Timings(0.010, 0.2, {XLA_SPE: (0.005, 1.5), SPE: (0.009, 0.3)}), run_id=4)
    assert measured_choice(store, "k", 10_000).mode == XLA_SPE


def test_auto_measures_a_long_run_which_trains_as_well_as_in_a_forced_mode(lab, store, monkeypatch):
    monkeypatch.setenv("TRAINLAB_MEASURE_TRAINING_MODES", "1")
    settings = load_settings()
    long_enough = dict(train_subset=400, epochs=7, batch_size=2, seed=7)  # 320 training images: 1,120 steps
    first = jobs.submit(TrainConfig(name="auto", **long_enough), settings)
    assert execute_run(first, settings) == SUCCEEDED
    measured = run_mode(store, first)
    assert measured.how == "measured" and measured.mode in (KERAS, XLA_SPE, SPE) and measured.speedup > 0, measured
    assert set(measured.speedups) == {XLA_SPE, SPE} and measured.steps == 1_120, measured
    assert 0 < measured.probe_seconds < 120
    forced = jobs.submit(TrainConfig(name="forced", training_mode="keras", **long_enough), settings)
    assert execute_run(forced, settings) == SUCCEEDED
    assert run_mode(store, forced) == ModeChoice(KERAS, None, "forced")
    # The same seed trains to the same result whichever mode `auto` took (the probe never moves its weights).
    assert abs(store.get(first).test_accuracy - store.get(forced).test_accuracy) <= 0.05
    if measured.mode == SPE:  # the very same steps: the very same model
        assert store.get(first).test_accuracy == store.get(forced).test_accuracy
    assert jobs.training_mode_text(store.get(forced), settings) == "Keras' default, as the run asked."


def test_a_sweeps_short_trials_of_one_model_share_one_measurement_which_a_short_run_then_uses(lab, store,
                                                                                                monkeypatch):
    from core.domain.sweep_parsing import parse_variants
    from core.domain.sweep_spec import SweepSpec
    from core.services import sweeps

    monkeypatch.setenv("TRAINLAB_MEASURE_TRAINING_MODES", "1")
    settings = load_settings()
    # 320 training images at batch 2, 4 epochs: 640 steps a trial, too short to measure alone; two trials: 1,280.
    spec = SweepSpec(name="rates", datasets=("digits",), variants=parse_variants("mlp"), optimizers=("adam",),
                     learning_rates=(1e-2, 1e-3), batch_sizes=(2,), epochs=(4,), seeds=(1,),
                     shared={"train_subset": 400})
    trials = sorted(int(i) for i in sweeps.runs_frame(sweeps.start(spec, settings), settings)["run"])
    assert [execute_run(trial, settings) for trial in trials] == [SUCCEEDED, SUCCEEDED]
    first, second = (run_mode(store, trial) for trial in trials)
    assert (first.how, first.steps, set(first.speedups)) == ("measured", 640, {XLA_SPE, SPE}), first
    assert (second.how, second.measured_by, second.steps, second.speedups) == ("earlier", trials[0], 640,
                                                                               first.speedups), second
    assert jobs.training_mode_text(store.get(trials[1]), settings).endswith(
        f"(measured by run #{trials[0]} of this model and batch on this machine).")
    # A short lone run of that shape takes the kept measurement for its own length; one of another batch does not.
    short = dict(dataset="digits", architecture="mlp", train_subset=400, epochs=1, seed=3)
    same = jobs.submit(TrainConfig(name="same shape", batch_size=2, **short), settings)
    other = jobs.submit(TrainConfig(name="other batch", batch_size=4, **short), settings)
    assert execute_run(same, settings) == execute_run(other, settings) == SUCCEEDED
    assert (run_mode(store, same).how, run_mode(store, same).steps) == ("earlier", 160)
    assert run_mode(store, other) == ModeChoice(KERAS, None, "a run of 80 steps: measuring pays from 1,000 steps on")


def test_a_convolutional_model_is_measured_without_xla_on_a_cpu():
    """XLA runs convolutions slower than Keras' default on a CPU (bench figures 16 and 18): a CNN's probe skips the
    XLA modes and their compile; a dense model's probe still measures them."""
    import keras
    import numpy as np

    from core.training.batches import make_batches
    from core.training.mode_probe import measure, probe_batches

    def compile_for(model, mode: str) -> None:
        model.compile("adam", "sparse_categorical_crossentropy", jit_compile=True if mode in (XLA, XLA_SPE) else "auto",
                      steps_per_execution=16 if mode in (SPE, XLA_SPE) else 1)

    rng = np.random.default_rng(0)
    x, y = rng.integers(0, 255, (200, 8, 8, 1)).astype("uint8"), rng.integers(0, 10, 200)
    batches = probe_batches(x, y, np.arange(200), 4, lambda xs, ys, size: make_batches(xs, ys, size, False, 0))
    measured = {}
    for name, hidden in (("cnn", keras.layers.Conv2D(4, 3, activation="relu")), ("mlp", keras.layers.Dense(16))):
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.Input((8, 8, 1)), hidden, keras.layers.Flatten(), keras.layers.Dense(10)])
        compile_for(model, KERAS)
        measured[name] = measure(model, compile_for, batches, total_steps=5_000)
    (cnn, cnn_timings), (mlp, mlp_timings) = measured["cnn"], measured["mlp"]
    assert set(cnn_timings.modes) == {SPE} and set(mlp_timings.modes) == {SPE, XLA_SPE}
    assert set(cnn.speedups) == {SPE} and set(mlp.speedups) == {SPE, XLA_SPE}


def test_every_copy_the_probe_measures_draws_the_same_dropout_masks(monkeypatch):
    """A clone's Dropout takes its seed from the global generator: unseeded, Keras' default's copy and `spe`'s drew
    different masks and reached different losses, and `spe` (the very same steps) was refused for it."""
    import keras
    import numpy as np

    from core.training import mode_probe
    from core.training.batches import make_batches

    seeds, clone = [], keras.models.clone_model

    def recording_clone(model):
        copy = clone(model)
        seeds.append([tuple(layer.seed_generator.state.numpy()) for layer in copy.layers
                      if isinstance(layer, keras.layers.Dropout)])
        return copy

    monkeypatch.setattr(keras.models, "clone_model", recording_clone)
    model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(), keras.layers.Dropout(0.5),
                              keras.layers.Dense(10, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy")
    rng = np.random.default_rng(0)
    x, y = rng.integers(0, 255, (200, 8, 8, 1)).astype("uint8"), rng.integers(0, 10, 200)
    batches = mode_probe.probe_batches(x, y, np.arange(200), 4,
                                       lambda xs, ys, size: make_batches(xs, ys, size, False, 0))

    def compile_for(copy, mode: str) -> None:
        copy.compile("adam", "sparse_categorical_crossentropy", jit_compile=mode in (XLA, XLA_SPE) or "auto",
                     steps_per_execution=16 if mode in (SPE, XLA_SPE) else 1)

    mode_probe.measure(model, compile_for, batches, total_steps=5_000)
    assert len(seeds) == 3 and seeds[0] == seeds[1] == seeds[2], seeds
