"""The Lessons page under AppTest: cards, a lesson's button queueing the course's runs, results, bad links."""
import json

import pytest

from core.domain.config import TrainConfig
from core.domain.lessons import LESSONS
from core.services import sweeps
from tests.test_page_sweeps import _finished_sweep
from tests.test_pages import _page


def _lesson_page(query: dict | None = None):
    at = _page("pages/lessons.py")
    for key, value in (query or {}).items():
        at.query_params[key] = value
    return at.run()


def test_every_lesson_has_a_card_and_missing_data_disables_its_button(lab):
    at = _lesson_page()
    assert not at.exception
    assert [at.button(key=f"lesson_go_{lesson.key}").label for lesson in LESSONS] == [x.button for x in LESSONS]
    assert at.button(key="lesson_go_2").disabled and at.button(key="lesson_go_6").disabled  # no CIFAR-10, Fashion
    assert not at.button(key="lesson_go_1").disabled and not at.button(key="lesson_go_8").disabled
    warnings = [w.value for w in at.warning]
    assert any(w.startswith("Not on this machine yet: needs CIFAR-10") for w in warnings)
    assert any("cats/ and dogs/ sub-folders" in w for w in warnings)


def test_the_batchnorm_lesson_queues_both_runs_and_opens_their_comparison(fashion, store):
    at = _lesson_page()
    at.button(key="lesson_go_6").click().run()
    assert not at.exception and not at.error
    runs = sorted(store.list_runs(), key=lambda r: r.id)
    assert [(r.name, r.status) for r in runs] == [("Lesson 6 · MLP", "queued"),
                                                   ("Lesson 6 · MLP + BatchNorm", "queued")]
    configs = [TrainConfig.from_json(r.config) for r in runs]
    assert [(c.architecture, c.dataset, c.optimizer, c.learning_rate, c.batch_size) for c in configs] == [
        ("mlp", "fashion_mnist", "adam", 1e-3, 64), ("mlp_bn", "fashion_mnist", "adam", 1e-3, 64)]
    assert dict(at.query_params) == {"lesson": "6", "runs": f"{runs[0].id},{runs[1].id}"}  # a link to share
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert {t.get("legendgroup") for t in spec["data"]} == {str(runs[0].id), str(runs[1].id)}
    # Pressed again while its runs are queued: the card opens them instead of queueing two more.
    assert at.button(key="lesson_go_6").label == "Open its runs (training now)"
    at.button(key="lesson_go_6").click().run()
    assert len(store.list_runs()) == 2 and dict(at.query_params)["runs"] == f"{runs[0].id},{runs[1].id}"
    for run in runs:  # once they have finished, the card queues anew and offers the last result
        store.claim(run.id, 1, "host")
        store.finish(run.id, "succeeded", test_accuracy=0.8)
    at.run()
    assert at.button(key="lesson_go_6").label != "Open its runs (training now)" and at.button(key="lesson_last_6")


def test_a_shared_lesson_link_shows_its_runs_and_the_course_reference(lab, store):
    config = TrainConfig(name="mine", architecture="resnet50", dataset="digits")
    run_id = store.create_run("mine", config.to_dict())
    at = _lesson_page({"lesson": "5", "runs": str(run_id)})
    assert not at.exception
    names = [t["name"] for t in json.loads(at.get("plotly_chart")[0].proto.spec)["data"]]
    assert "course's run · validation" in names
    assert any("34.65 % test accuracy" in c.value for c in at.caption)


@pytest.mark.parametrize("query, message", [
    ({"lesson": "99"}, "lesson: this link names no lesson; the lessons are 1 to 10"),
    ({"lesson": "6", "runs": "3,x"}, "runs: the link's run numbers must be whole numbers separated by commas"),
])
def test_a_bad_lesson_link_is_one_line_and_the_cards_stay(lab, query, message):
    at = _lesson_page(query)
    assert not at.exception
    assert at.error[0].value.startswith(message)
    assert at.button(key="lesson_go_10")


def test_a_link_to_deleted_runs_says_so(lab):
    at = _lesson_page({"lesson": "6", "runs": "41,42"})
    assert not at.exception and "gone (deleted)" in at.info[0].value


def test_the_augmentation_lesson_shows_both_presets(lab):
    at = _lesson_page()
    at.button(key="lesson_go_8").click().run()
    assert not at.exception and dict(at.query_params) == {"lesson": "8"}
    captions = [c.value for c in at.caption]
    assert "output (150, 200, 3)" in captions and "output (224, 224, 3)" in captions


def test_the_conv_lesson_shows_each_layers_size_and_feature_maps(lab):
    at = _lesson_page({"lesson": "1"})
    assert not at.exception
    tables = [frame.value for frame in at.dataframe]
    assert len(tables) == 3  # demos a, b and c
    captions = [c.value for c in at.caption]
    assert "output 128×128×1" in captions and "output 126×126×8" in captions  # 'valid' trims kernel − 1
    assert len(at.get("image")) == 1 + 2 + 3  # one grid per conv layer of a, b and c


def test_the_assignment_checklist_grades_a_sweep(lab, store):
    _finished_sweep(lab, store)
    at = _lesson_page({"lesson": "10"})
    assert not at.exception
    texts = [m.value for m in at.markdown]
    # mlp and mlp_bn × SGD+momentum and Adam × two rates on digits, random split: 3 points of 8.
    assert "**3 of 8 (full marks from 7)**" in texts
    assert any("At least 3 models" in t and "2 models" in t and "mlp, mlp\\_bn" in t for t in texts)  # escaped
    assert any(t.startswith(":material/check_circle: **A model with BatchNormalization**") for t in texts)
    assert at.selectbox(key="lesson_sweep").value == sweeps.sweeps(lab)[0].id


def test_the_models_page_opens_on_a_lessons_architecture(lab):
    at = _page("pages/models.py")
    at.session_state["model_request"] = {"arch": "vgg16", "dataset": None}
    at.run()
    assert not at.exception
    assert at.selectbox(key="model_arch").value == "vgg16"
    assert at.radio(key="model_input").value == "shape"
    assert not at.error  # 32×32×3 is large enough for VGG16's five pools


def test_the_sweeps_page_opens_with_the_assignment_preset(lab):
    at = _page("pages/sweeps.py")
    at.session_state["assignment_request"] = True
    at.run()
    assert not at.exception
    assert at.radio(key="sweep_view").value == "New sweep"
    assert at.multiselect(key="sw_optimizers").value == ["sgd_momentum", "adam", "rmsprop"]


def _stand_in_data(lab, lesson: str) -> None:
    """Tiny stand-ins for the lesson's real data, big enough for its course settings (subsets, batch)."""
    from tests.conftest import make_cifar10, make_cifar100, make_image_folder

    datasets = lab.keras_home / "datasets"
    if lesson in ("2", "9"):
        make_cifar10(datasets / "cifar-10-batches-py", per_batch=1500, n_test=500)  # 7,500 / 500 subsets
    if lesson == "9":
        (lab.keras_home / "models").mkdir(parents=True)
        (lab.keras_home / "models" / "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5").write_bytes(b"stand-in")
    if lesson == "5":
        make_cifar100(datasets / "cifar-100-python", n_train=400, n_test=100)
    if lesson == "7":
        make_image_folder(lab.data_root / "dogs_vs_cats", {"cats": 30, "dogs": 30})


@pytest.mark.parametrize("lesson, architectures, dataset", [
    ("2", ["deep_mlp", "small_cnn"], "cifar10"),
    ("5", ["resnet50"], "cifar100"),
    ("7", ["basic_cnn", "basic_cnn_regularised"], "folder:dogs_vs_cats"),
    ("9", ["resnet50_transfer"], "cifar10"),
])
def test_each_training_lessons_button_queues_its_runs(lab, store, lesson, architectures, dataset):
    _stand_in_data(lab, lesson)
    at = _lesson_page()
    at.button(key=f"lesson_go_{lesson}").click().run()
    assert not at.exception and [e.value for e in at.error] == []
    configs = [TrainConfig.from_json(r.config) for r in sorted(store.list_runs(), key=lambda r: r.id)]
    assert [(c.architecture, c.dataset) for c in configs] == [(a, dataset) for a in architectures]
    assert at.query_params["lesson"] == lesson


@pytest.mark.parametrize("lesson, page_title, check", [
    ("3", "Models", lambda at: at.selectbox(key="model_arch").value == "vgg16"),
    ("4", "Models", lambda at: at.selectbox(key="model_arch").value == "small_resnet"),
    ("10", "Sweeps", lambda at: at.multiselect(key="sw_optimizers").value == ["sgd_momentum", "adam", "rmsprop"]),
])
def test_lessons_that_open_another_page_open_it_ready(lab, lesson, page_title, check):
    at = _lesson_page()
    at.button(key=f"lesson_go_{lesson}").click().run()
    assert not at.exception and not at.error
    assert at.title[0].value == page_title and check(at)


def test_a_lesson_its_data_cannot_train_is_refused_in_one_line_and_queues_nothing(lab, store):
    from tests.conftest import make_image_folder

    make_image_folder(lab.data_root / "pets", {"cats": 10, "dogs": 10})  # too few images for batch 32
    at = _lesson_page()
    at.button(key="lesson_go_7").click().run()
    assert not at.exception
    assert [e.value for e in at.error] == ["batch_size: must be a whole number from 1 to 13 (the training samples "
                                           "left after the validation split); got 32"]
    assert store.list_runs() == [] and "lesson" not in at.query_params
