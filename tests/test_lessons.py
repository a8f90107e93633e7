"""The course's lessons: their runs' settings, what a lesson needs on the machine, queueing them together,
the assignment's grading points, and feature maps."""
from __future__ import annotations

import numpy as np
import pytest

from core.domain.config import TrainConfig
from core.domain.grading import GradedRun, grade, score
from core.domain.lessons import BY_KEY, LESSONS, RESNET50_CIFAR100, datasets_needed, is_dogs_and_cats, run_settings
from core.domain.sweep_spec import assignment_preset, expand
from core.errors import Refusal
from core.services import catalog, lessons
from core.services.classroom import set_rules
from tests.conftest import AMY, TESS, make_image_folder


def test_lessons_are_numbered_one_to_ten_and_each_has_a_question_and_a_button():
    assert [lesson.number for lesson in LESSONS] == list(range(1, 11))
    assert all(lesson.question.endswith("?") and lesson.look_for and lesson.button for lesson in LESSONS)
    assert all(lesson.runs for lesson in LESSONS if lesson.kind == "runs")


def test_lesson_runs_use_the_course_recipe_with_the_lessons_changes():
    deep_mlp, small_cnn = (run_settings(run) for run in BY_KEY["2"].runs)
    assert {k: deep_mlp[k] for k in ("dataset", "optimizer", "learning_rate", "batch_size", "validation_split",
                                     "train_subset", "test_subset")} == {
        "dataset": "cifar10", "optimizer": "adam", "learning_rate": 1e-3, "batch_size": 64, "validation_split": 0.2,
        "train_subset": 7500, "test_subset": 500}
    assert small_cnn["architecture"] == "small_cnn" and small_cnn["dataset"] == "cifar10"
    [resnet] = (run_settings(run) for run in BY_KEY["5"].runs)
    assert {k: resnet[k] for k in ("dataset", "batch_size", "epochs", "seed", "split_mode", "labels",
                                   "learning_rate")} == {
        "dataset": "cifar100", "batch_size": 20, "epochs": 20, "seed": 123, "split_mode": "random",
        "labels": "one_hot", "learning_rate": 1e-4}
    plain, regularised = (run_settings(run, "folder:pets") for run in BY_KEY["7"].runs)
    assert (plain["dataset"], plain["optimizer"], plain["momentum"], plain["nesterov"]) == ("folder:pets", "sgd", 0.9,
                                                                                            True)
    assert regularised["architecture"] == "basic_cnn_regularised"
    assert datasets_needed(BY_KEY["6"]) == ("fashion_mnist",) and datasets_needed(BY_KEY["7"]) == ()


def test_the_course_reference_run_is_the_published_one():
    assert len(RESNET50_CIFAR100.val_accuracy) == 20 and RESNET50_CIFAR100.val_accuracy[-1] == 0.3316
    assert max(RESNET50_CIFAR100.val_accuracy) == 0.3400 and RESNET50_CIFAR100.test_accuracy == 0.3465


@pytest.mark.parametrize("names, expected", [(("cats", "dogs"), True), (("Cat", "Dog"), True),
                                             (("dog", "cat", "bird"), True), (("cats", "birds"), False)])
def test_a_dogs_and_cats_folder_is_recognised(names, expected):
    assert is_dogs_and_cats(names) is expected


def test_a_lesson_whose_data_is_missing_says_what_and_how_and_queues_nothing(lab, store):
    lesson = BY_KEY["6"]
    ready = lessons.readiness(lesson, lab)
    assert not ready.ready
    assert ready.missing.startswith("needs Fashion-MNIST: ")
    assert "apt-get install dataset-fashion-mnist" in ready.missing
    with pytest.raises(lessons.LessonUnavailable, match="^lesson 6: needs Fashion-MNIST"):
        lessons.start(lesson, lab)
    assert store.list_runs() == []


def test_the_dogs_and_cats_lesson_finds_an_image_folder(lab):
    lesson = BY_KEY["7"]
    assert "cats/ and dogs/ sub-folders" in lessons.readiness(lesson, lab).missing
    make_image_folder(lab.data_root / "pets", {"cats": 6, "dogs": 6})
    ready = lessons.readiness(lesson, lab)
    assert ready.ready and ready.dataset == "folder:pets"
    assert [c.dataset for c in lessons.configs(lesson, lab)] == ["folder:pets", "folder:pets"]


def test_transfer_learning_needs_the_imagenet_weights_file(lab, tmp_path, monkeypatch):
    from core.data.synthetic import make_cifar10

    make_cifar10(lab.keras_home / "datasets" / "cifar-10-batches-py", 20, 10)
    assert catalog.entries(lab) and next(d for d in catalog.entries(lab) if d.key == "cifar10").available
    missing = lessons.readiness(BY_KEY["9"], lab).missing
    assert "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5" in missing and str(lab.keras_home) in missing
    (lab.keras_home / "models").mkdir(parents=True)
    (lab.keras_home / "models" / "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5").write_bytes(b"weights")
    assert lessons.readiness(BY_KEY["9"], lab).ready


def test_a_lesson_queues_its_runs_and_finds_them_again(fashion, store):
    lesson = BY_KEY["6"]
    assert lessons.earlier_runs(lesson, fashion) == []
    ids = lessons.start(lesson, fashion)
    runs = [store.get(i) for i in ids]
    assert [r.name for r in runs] == ["Lesson 6 · MLP", "Lesson 6 · MLP + BatchNorm"]
    configs = [TrainConfig.from_json(r.config) for r in runs]
    assert [(c.architecture, c.dataset, c.optimizer, c.batch_size, c.epochs) for c in configs] == [
        ("mlp", "fashion_mnist", "adam", 64, 10), ("mlp_bn", "fashion_mnist", "adam", 64, 10)]
    assert lessons.earlier_runs(lesson, fashion) == ids
    again = lessons.start(lesson, fashion)
    assert lessons.earlier_runs(lesson, fashion) == again  # the newest of each


def test_a_students_lesson_over_a_class_limit_queues_neither_run(fashion, classroom, store):
    settings = classroom  # with the stand-in Fashion-MNIST: `fashion` set it up first
    set_rules({"queued": "1"}, settings, actor=TESS)
    with pytest.raises(Refusal, match="limit: "):
        lessons.start(BY_KEY["6"], settings, actor=AMY)
    assert store.list_runs() == []
    ids = lessons.start(BY_KEY["6"], settings, actor=TESS)  # teachers are not limited
    assert [store.get(i).owner for i in ids] == ["tess", "tess"]
    assert lessons.earlier_runs(BY_KEY["6"], settings, actor=AMY) == []  # not amy's


def _graded(spec, accuracies: dict[str, float]) -> list[GradedRun]:
    return [GradedRun(model=params["architecture"], optimizer=params["optimizer"], config=config.to_dict(),
                      status="succeeded", test_accuracy=accuracies[config.dataset])
            for config, params in ((t.config, t.params) for t in expand(spec, 1000))]


def test_the_assignment_preset_meets_all_eight_points_when_it_reaches_the_targets():
    points = grade(_graded(assignment_preset(), {"mnist": 0.99, "fashion_mnist": 0.91}))
    assert [p.met for p in points] == [True] * 8 and score(points) == "8 of 8: full marks"
    assert points[1].detail.startswith("3 models")


def test_grading_ticks_only_what_the_runs_contain():
    from dataclasses import replace

    from core.domain.sweep_parsing import parse_variants

    spec = replace(assignment_preset(("fashion_mnist",)), variants=parse_variants("mlp\ncnn 16x1p"),
                   optimizers=("adam",), learning_rates=(1e-3,), per_optimizer_lr={},
                   shared={**assignment_preset().shared, "split_mode": "keras"})
    points = {p.label: p for p in grade(_graded(spec, {"fashion_mnist": 0.90}))}
    assert [label for label, p in points.items() if p.met] == []
    assert points["At least 3 models"].detail == "2 models: cnn 16x1p, mlp"
    assert points["Fashion-MNIST ≥ 90.5 % test accuracy"].detail == "best test accuracy 90.00 %"
    assert points["MNIST ≥ 98.5 % test accuracy"].detail == "no finished run on MNIST yet"
    assert score(list(points.values())) == "0 of 8 (full marks from 7)"


def test_feature_maps_have_each_layers_output_shape(lab):
    import keras

    from core.services import models
    from core.training.builders import build_model
    from core.training.inspection import map_layers

    photo = np.random.default_rng(0).integers(0, 256, (40, 50, 3), dtype=np.uint8)
    maps = models.feature_maps("small_cnn", (32, 32, 3), 10, {}, photo, limit=20)
    model = build_model("small_cnn", (32, 32, 3), 10)
    assert [(m.name, m.output_shape) for m in maps] == [
        (layer.name, tuple(layer.output.shape[1:])) for layer in map_layers(model)]
    for layer in maps:
        assert len(layer.channels) == min(20, layer.output_shape[2])
        assert all(c.shape == layer.output_shape[:2] and c.dtype == np.uint8 for c in layer.channels)
    # The first layer's maps are its real output on the preprocessed photo, each stretched to 0..255.
    keras.utils.set_random_seed(0)
    fresh = build_model("small_cnn", (32, 32, 3), 10)
    from core.data.images import to_model_input

    first = keras.Model(fresh.inputs, fresh.get_layer("conv_1").output)([to_model_input(photo, (32, 32, 3))[None]])
    channel = keras.ops.convert_to_numpy(first)[0, ..., 0]
    if channel.max() > channel.min():
        expected = np.round((channel - channel.min()) / (channel.max() - channel.min()) * 255)
        assert np.abs(maps[0].channels[0].astype(int) - expected).max() <= 1


def test_a_photo_becomes_a_model_input_as_in_training():
    from core.data.images import to_model_input

    photo = np.zeros((10, 20, 3), dtype=np.uint8)
    photo[..., 0] = 255  # pure red
    grey = to_model_input(photo, (8, 8, 1))
    assert grey.shape == (8, 8, 1) and grey.dtype == np.float32
    assert np.allclose(grey, 76 / 255, atol=1 / 255)  # ITU-R 601 luma of red
    colour = to_model_input(photo, (4, 6, 3))
    assert colour.shape == (4, 6, 3) and np.allclose(colour[..., 0], 1.0) and np.allclose(colour[..., 1:], 0)


def test_the_comparison_draws_the_course_reference_on_the_epoch_axis_only(lab):
    import json

    from core.views.compare import compare_figure, metrics_frame
    from tests.test_pages import _values

    traces = json.loads(compare_figure([], metrics_frame([]), "epoch", reference=RESNET50_CIFAR100).to_json())["data"]
    reference = {t["name"]: t for t in traces}
    validation = reference["course's run · validation"]
    assert validation["xaxis"] == "x2" and _values(validation["x"]) == list(range(1, 21))
    assert _values(validation["y"]) == list(RESNET50_CIFAR100.val_accuracy)
    assert _values(reference["course's run · train"]["y"]) == [0.0424, 0.7606]
    assert compare_figure([], metrics_frame([]), "step", reference=RESNET50_CIFAR100).data == ()


def test_a_retrain_of_the_best_setting_costs_no_grading_point_and_points_name_their_runs():
    from dataclasses import replace

    trials = [replace(run, run=i + 1) for i, run in enumerate(_graded(assignment_preset(), {"mnist": 0.97,
                                                                                          "fashion_mnist": 0.88}))]
    best = trials[0]
    retrain_config = {**best.config, "validation_split": 0.0, "split_mode": "random"}
    retrain = replace(best, run=500, role="retrain", config=retrain_config, test_accuracy=0.99)
    before = {p.label: p for p in grade(trials)}
    after = {p.label: p for p in grade([*trials, retrain])}
    assert before["Random train/validation split"].met and after["Random train/validation split"].met
    assert after["Random train/validation split"].runs == tuple(t.run for t in trials)  # the search earned it
    assert after["MNIST ≥ 98.5 % test accuracy"].met and after["MNIST ≥ 98.5 % test accuracy"].runs == (500,)
    assert len(after["At least 3 models"].runs) == 3 and set(after["At least 3 models"].runs) <= {t.run for t in trials}
    assert all(point.runs for point in after.values() if point.met)
