"""A student's own model file trains like the course's models (issue 31): on a dataset it fits, with fresh weights
or the file's own, counted exactly; on one it does not fit it is refused in one line before anything is queued;
a student trains their own files and the ones a teacher shared, never another student's.

Each file is checked and added once, through the real path (a loading process of its own each: seconds), into a
template lab; every test starts from a copy of it."""
import shutil
import sqlite3

import pytest

from core.domain.config import ConfigError, TrainConfig
from core.domain.people import OPERATOR, Actor
from core.domain.statuses import SUCCEEDED
from core.errors import Refusal
from core.services import jobs, model_files
from core.store.runs import RunStore
from core.training.fit import execute_run

# Loading processes of their own and runs trained: out of the fast tier. One xdist process takes the whole module,
# so its files and template lab (a minute of loading and training) are made once, not once per process.
pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("model_files")]

AMY, BEN, TESS = Actor("amy", "student"), Actor("ben", "student"), Actor("tess", "teacher")


def _residual(classes=10, softmax=True, penalty=None):
    """A functional CNN with a residual Add on 8×8×1 images (the bundled digits), every layer named; `penalty`: an L2
    factor on its last layer's weights."""
    import keras

    inputs = keras.Input((8, 8, 1), name="pixels")
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="conv_a")(inputs)
    y = keras.layers.Conv2D(8, 3, padding="same", name="conv_b")(x)
    x = keras.layers.Activation("relu", name="relu")(keras.layers.Add(name="add")([x, y]))
    x = keras.layers.Flatten(name="flatten")(x)
    outputs = keras.layers.Dense(classes, activation="softmax" if softmax else None, name="classes",
                                 kernel_regularizer=keras.regularizers.L2(penalty) if penalty else None)(x)
    return keras.Model(inputs, outputs, name="residual")


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Model files a student hands in: untrained, trained on digits to a good score, ending in logits, for 3
    classes, and for 28×28 images."""
    import keras

    from core.data import datasets

    folder = tmp_path_factory.mktemp("model-files")
    keras.utils.set_random_seed(1)
    _residual().save(folder / "untrained.keras")
    data = datasets.load("digits")
    trained = _residual(penalty=0.01)  # its loss has a penalty term, which `evaluate` adds: the scores must too
    trained.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    trained.fit(data.x_train / 255.0, data.y_train, epochs=25, batch_size=32, verbose=0)
    trained.save(folder / "trained.keras")
    keras.Sequential([keras.Input((8, 8, 1), name="pixels"), keras.layers.Conv2D(4, 3, activation="relu", name="conv"),
                      keras.layers.Flatten(name="flatten"), keras.layers.Dense(10, name="logits")],
                     name="sequential_logits").save(folder / "logits.keras")  # 3×3×4+4 = 40, 6×6×4×10+10 = 1,450
    _residual(classes=3).save(folder / "three.keras")
    keras.Sequential([keras.Input((28, 28, 1), name="image"), keras.layers.Flatten(name="flat"),
                      keras.layers.Dense(10, activation="softmax", name="out")], name="mnist_mlp").save(
        folder / "mnist.keras")
    return folder


# The template lab's model files, added in this order: (owner, name, file). Their ids are 1 to 7.
ADDED = (("", "untrained", "untrained.keras"), ("", "trained", "trained.keras"), ("", "logits", "logits.keras"),
         ("", "mnist mlp", "mnist.keras"), ("", "three", "three.keras"), ("amy", "mine", "untrained.keras"),
         ("amy", "mine trained", "trained.keras"))


@pytest.fixture(scope="module")
def template(files, tmp_path_factory):
    """A lab with accounts amy and ben (students) and every model file of ADDED, made once for the module."""
    from core.services import accounts
    from core.settings import load_settings

    home = tmp_path_factory.mktemp("template")
    with pytest.MonkeyPatch.context() as env:
        env.delenv("TRAINLAB_DB_URL", raising=False)
        env.setenv("TRAINLAB_HOME", str(home / "lab"))
        env.setenv("TRAINLAB_AUTOSTART_WORKERS", "0")
        settings = load_settings()
        for who in (AMY, BEN):
            accounts.add(who.name, who.role, f"{who.name}-password", settings)
        for owner, name, file in ADDED:
            model_files.add(files / file, name, settings, actor=Actor(owner, "student") if owner else OPERATOR)
        with sqlite3.connect(settings.db_path) as conn:  # everything in the database file, nothing in its WAL
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return home / "lab"


@pytest.fixture
def added(template, lab) -> dict[str, object]:
    """`lab` as a copy of the template lab; its model files by name."""
    shutil.copytree(template, lab.home, ignore=shutil.ignore_patterns("*-wal", "*-shm"), dirs_exist_ok=True)
    return {row.name: row for row in model_files.listed(lab)}


def _train(lab, config, actor=None) -> object:
    run_id = jobs.submit(config, lab, actor=actor)
    assert execute_run(run_id, lab) == SUCCEEDED, RunStore(lab.store_location).get(run_id).error
    return RunStore(lab.store_location).get(run_id)


def test_a_functional_residual_cnn_file_trains_on_digits_counted_exactly(files, added, lab):
    import keras

    row = added["untrained"]
    run = _train(lab, TrainConfig(architecture=row.key, epochs=3, batch_size=32))
    assert run.name == "operator / untrained · digits · adam lr=0.001"
    # 3×3×1×8+8 = 80, 3×3×8×8+8 = 584, 8×8×8×10+10 = 5,130
    assert run.param_count == row.params == keras.saving.load_model(files / "untrained.keras").count_params() == 5794
    assert run.test_accuracy > 0.5  # 10 classes: chance is 0.1
    assert len(jobs.run_metrics(run.id, lab)) > 3


def test_the_files_own_weights_are_fine_tuned_and_fresh_ones_start_from_chance(added, lab):
    row = added["trained"]
    still = dict(architecture=row.key, epochs=1, learning_rate=1e-7, validation_split=0.0)  # a step changes nothing
    kept = _train(lab, TrainConfig(**still, arch_options={"weights": "file"}))
    fresh = _train(lab, TrainConfig(**still))
    assert kept.test_accuracy > 0.85 and fresh.test_accuracy < 0.4, (kept.test_accuracy, fresh.test_accuracy)


def test_a_sequential_model_ending_in_logits_gets_probabilities_and_no_parameter_more(added, lab):
    import keras

    row = added["logits"]
    run = _train(lab, TrainConfig(architecture=row.key, epochs=2))
    assert run.param_count == row.params == 1490 and run.test_accuracy > 0.3
    trained = keras.saving.load_model(lab.runs_dir / str(run.id) / "model.keras")
    assert type(trained.layers[-1]).__name__ == "Softmax"


def test_a_file_that_does_not_fit_the_dataset_is_refused_in_one_line_and_nothing_is_queued(added, lab):
    mnist, three = added["mnist mlp"], added["three"]
    cases = {
        mnist.key: "architecture: operator / mnist mlp takes inputs of 28×28×1, but this dataset's images are 8×8×1; ",
        three.key: "architecture: operator / three ends in 3 outputs, but this dataset has 10 classes; ",
        "file:99": "architecture: 'file:99' is not a model file you may use here; ",
    }
    for key, said in cases.items():
        with pytest.raises(ConfigError) as refused:
            jobs.submit(TrainConfig(architecture=key), lab)
        assert str(refused.value).startswith(said) and "\n" not in str(refused.value), refused.value
    with pytest.raises(ConfigError, match="^architecture: option weights must be 'fresh' or 'file'; got 'old'$"):
        jobs.submit(TrainConfig(architecture=three.key, arch_options={"weights": "old"}), lab)
    with pytest.raises(ConfigError, match="^augmentation: "):  # a crop changes the input the file takes
        jobs.submit(TrainConfig(architecture=three.key,
                                augmentation=[{"layer": "RandomCrop", "params": {"height": 6, "width": 6}}]), lab)
    assert RunStore(lab.store_location).list_runs() == []


def test_a_student_trains_their_own_files_and_shared_ones_never_anothers(added, lab):
    amys = added["mine"]
    assert [r.title for r in model_files.listed(lab, AMY)] == ["amy / mine", "amy / mine trained"]
    assert [r.title for r in model_files.listed(lab, BEN)] == []
    with pytest.raises(ConfigError, match="^architecture: 'file:6' is not a model file you may use here"):
        jobs.submit(TrainConfig(architecture=amys.key, epochs=1), lab, actor=BEN)
    with pytest.raises(Refusal, match="^model: only a teacher may share"):
        model_files.share(amys.id, True, lab, actor=AMY)
    assert model_files.share(amys.id, True, lab, actor=TESS).shared
    assert [r.title for r in model_files.listed(lab, BEN)] == ["amy / mine"]
    run_id = jobs.submit(TrainConfig(architecture=amys.key, epochs=1), lab, actor=BEN)
    assert RunStore(lab.store_location).get(run_id).owner == "ben"


def test_an_evaluate_only_run_scores_the_files_weights_as_model_evaluate_does(files, added, lab):
    import keras

    from core.data import datasets
    from core.services import scoring

    trained, untrained = added["trained"], added["untrained"]
    ids = [scoring.evaluate(row.id, "digits", lab) for row in (untrained, trained)]
    store = RunStore(lab.store_location)
    for run_id in ids:
        assert store.get(run_id).kind == "evaluated"
        assert execute_run(run_id, lab) == SUCCEEDED, store.get(run_id).error
    data = datasets.load("digits")
    plain_loss, plain_accuracy = keras.saving.load_model(files / "trained.keras").evaluate(
        data.x_test / 255.0, data.y_test, verbose=0)
    scored = store.get(ids[1])
    assert scored.test_accuracy == pytest.approx(plain_accuracy, abs=1e-3) and scored.epoch == 0
    assert scored.test_loss == pytest.approx(plain_loss, rel=1e-3)
    assert jobs.run_metrics(scored.id, lab).empty or set(jobs.run_metrics(scored.id, lab)["kind"]) <= {"test"}
    board = scoring.leaderboard("digits", lab)
    assert [(s.rank, s.model) for s in board] == [(1, "operator / trained"), (2, "operator / untrained")]
    assert board[0].test_accuracy == scored.test_accuracy and board[0].test_images == len(data.y_test)
    again = scoring.evaluate(trained.id, "digits", lab)  # a newer score replaces the model's row
    assert execute_run(again, lab) == SUCCEEDED
    assert [s.run_id for s in scoring.leaderboard("digits", lab)][0] == again
    with pytest.raises(ConfigError, match="^architecture: model file #77 is not one you may use here"):
        scoring.evaluate(77, "digits", lab)


def test_a_model_file_is_one_of_a_sweeps_architectures(added, lab):
    from core.domain.sweep_parsing import SweepError, parse_variants
    from core.domain.sweep_spec import SweepSpec
    from core.services import sweeps

    row = added["untrained"]
    spec = SweepSpec(name="mine against the mlp", datasets=("digits",),
                     variants=parse_variants(f"mlp\n{row.key}\n{row.key} fine-tune"), optimizers=("adam", "sgd"),
                     learning_rates=(1e-3,), batch_sizes=(32,), epochs=(1,))
    plan = sweeps.plan(spec, lab)
    names = sorted(t.config.display_name() for t in plan.trials)
    assert len(names) == 6 and "mine against the mlp · operator / untrained fine-tune · sgd lr=0.001 · bs 32" in names
    assert {t.config.arch_options.get("weights") for t in plan.trials if t.config.architecture == row.key} == \
        {"fresh", "file"}
    sweep_id = sweeps.start(spec, lab)
    assert len(sweeps.runs_frame(sweep_id, lab)) == 6
    with pytest.raises(SweepError, match="nor a model file, 'file:3 \\[fine-tune\\]'"):
        parse_variants(f"{row.key} twice")
    with pytest.raises(Refusal, match="^architecture: 'file:1' is not a model file you may use here"):
        sweeps.plan(spec, lab, actor=BEN)


def test_feature_maps_of_a_model_file_are_made_in_a_process_of_its_own(added, lab):
    import numpy as np

    row = added["mine"]
    digit = (np.arange(64, dtype=np.uint8).reshape(8, 8) * 4)
    maps = model_files.feature_maps(row.id, digit, lab, AMY, limit=3)
    assert [(m.name, m.output_shape, len(m.channels)) for m in maps] == [("conv_a", (8, 8, 8), 3),
                                                                         ("conv_b", (8, 8, 8), 3)]
    assert all(c.dtype == np.uint8 and c.shape == (8, 8) for m in maps for c in m.channels)
    with pytest.raises(Refusal, match="^model: model file #6 is not one you may use here"):
        model_files.feature_maps(row.id, digit, lab, BEN)


def test_a_model_file_is_removed_by_its_owner_or_a_teacher_and_its_runs_keep_their_scores(added, lab, capsys):
    from core.cli.main import main
    from core.services import scoring

    row = added["mine trained"]
    run_id = scoring.evaluate(row.id, "digits", lab, actor=AMY)
    assert execute_run(run_id, lab) == SUCCEEDED
    with pytest.raises(Refusal, match="^model file #7: it is amy's; only its owner or a teacher may remove it$"):
        model_files.remove(row.id, lab, actor=BEN)
    assert model_files.remove(row.id, lab, actor=AMY).title == "amy / mine trained"
    assert row.id not in [r.id for r in model_files.listed(lab)] and not (lab.models_dir / f"{row.id}.keras").exists()
    (score,) = scoring.leaderboard("digits", lab)
    assert score.model == f"model file #{row.id} (removed)" and score.test_accuracy > 0.85
    assert main(["models", "remove", str(row.id)]) == 2
    assert capsys.readouterr().err.startswith(f"error: model: there is no model file #{row.id}")


def test_a_scored_run_shows_as_a_score_and_another_students_file_run_keeps_its_model(added, lab):
    from core.services import scoring
    from core.views.display import runs_table
    from core.views.model_files import layer_table

    row = added["mine trained"]
    assert list(layer_table(row).columns) == ["layer", "type", "output shape", "inputs", "parameters", "share"]
    assert layer_table(row).set_index("layer").loc["add", "inputs"] == "conv_a, conv_b"
    scored = scoring.evaluate(row.id, "digits", lab, actor=AMY)
    assert execute_run(scored, lab) == SUCCEEDED
    again = jobs.run_again(scored, lab, actor=AMY)  # a score scores again: nothing is trained
    assert RunStore(lab.store_location).get(again).kind == "evaluated"
    table = runs_table([RunStore(lab.store_location).get(scored)], titles=model_files.titles(lab))
    assert table.loc[0, "architecture"] == "amy / mine trained" and table.loc[0, "detail"] == "scored, not trained"
    assert jobs.model_file(scored, lab, actor=AMY) is not None and jobs.model_file(scored, lab, actor=TESS) is not None
    assert jobs.model_file(scored, lab, actor=BEN) is None  # the file is amy's and not shared: so is what it became
    model_files.share(row.id, True, lab, actor=TESS)
    assert jobs.model_file(scored, lab, actor=BEN) is not None
    assert scoring.latest(row.id, "digits", lab, AMY).id == again
