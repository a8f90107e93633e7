"""Every page under streamlit.testing's AppTest, against a real run store in a temp folder."""
import base64
import json

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from core.domain.config import TrainConfig
from core.domain.statuses import RUNNING, SUCCEEDED
from core.store.runs import MetricPoint
from tests.conftest import PROJECT_ROOT, make_fashion_files

PAGES = ["app.py", "pages/lessons.py", "pages/train.py", "pages/runs.py", "pages/sweeps.py", "pages/models.py",
         "pages/augment.py", "pages/data.py", "pages/own_code.py"]


def _page(path: str) -> AppTest:
    """The app as a browser opens it: app.py's navigation, showing page `path`."""
    at = AppTest.from_file(str(PROJECT_ROOT / "app.py"), default_timeout=60)
    if path != "app.py":
        at.switch_page(path)
    return at


def _values(encoded) -> list[float]:
    """Plotly's JSON packs arrays as base64 'bdata'; unpack to rounded floats."""
    if isinstance(encoded, list):
        return encoded
    return np.frombuffer(base64.b64decode(encoded["bdata"]), dtype=encoded["dtype"]).round(6).tolist()


def _finished_run(store, name="done", accuracy=0.91):
    config = TrainConfig(name=name)
    run_id = store.create_run(config.display_name(), config.to_dict(), epochs=2)
    store.claim(run_id, 1, "elsewhere", threads=2)
    store.set_plan(run_id, epochs=2, steps=10, param_count=1234)
    for epoch in (1, 2):
        store.report(run_id, [MetricPoint("batch", epoch * 10 - 5, epoch - 0.5, 1.0, "loss", 1.0 / epoch),
                              MetricPoint("batch", epoch * 10, epoch, 2.0, "loss", 0.8 / epoch),
                              MetricPoint("epoch", epoch * 10, epoch, 2.0, "loss", 0.9 / epoch),
                              MetricPoint("epoch", epoch * 10, epoch, 2.0, "val_accuracy", 0.5 + 0.1 * epoch)],
                     epoch=epoch, batch=10, progress=epoch / 2, eta_seconds=None)
    store.finish(run_id, SUCCEEDED, test_accuracy=accuracy, test_loss=0.3, train_seconds=12.0)
    return run_id


@pytest.mark.parametrize("path", PAGES)
def test_every_page_opens_without_error_on_an_empty_lab(lab, path):
    at = _page(path).run()
    assert not at.exception


@pytest.mark.parametrize("path", PAGES)
def test_every_page_opens_with_runs(lab, store, path):
    _finished_run(store)
    store.create_run("waiting", TrainConfig().to_dict())
    at = _page(path).run()
    assert not at.exception


def test_home_shows_counts_and_recent_runs(lab, store):
    _finished_run(store, name="recent one")
    at = _page("app.py").run()
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Finished"] == "1" and metrics["Running"] == "0"
    assert "recent one" in at.dataframe[0].value["name"].tolist()


def test_train_page_queues_a_run(lab, store):
    at = _page("pages/train.py").run()
    at.selectbox(key="architecture").set_value("mlp_bn")
    at.selectbox(key="optimizer").set_value("sgd").run()
    at.number_input(key="learning_rate").set_value(0.01)
    at.number_input(key="epochs").set_value(3)
    at.number_input(key="train_subset").set_value(500)
    at.text_input(key="name").set_value("**not bold**")
    at.button(key="start").click().run()
    assert not at.exception and not at.error
    assert "queued" in at.success[0].value
    [run] = store.list_runs()
    config = run.config_dict
    assert (run.status, run.name) == ("queued", "**not bold**")
    assert ((config["architecture"], config["optimizer"], config["momentum"], config["nesterov"])
            == ("mlp_bn", "sgd", 0.9, True))
    assert (config["learning_rate"], config["epochs"], config["train_subset"]) == (0.01, 3, 500)
    at.button(key="start").click().run()  # several runs in a row
    assert len(store.list_runs()) == 2


@pytest.mark.parametrize("key, value, message", [
    ("batch_size", 5000, "Batch size: must be a whole number from 1 to 1150"),
    ("learning_rate", 0.0, "Learning rate: must be greater than 0"),
    ("train_subset", 99999, "Training samples: must be a whole number from 1 to 1437"),
    # Out of a field's range: Streamlit's ranged fields kept sending the previous value, which was queued.
    ("epochs", 0, "Epochs: must be a whole number from 1 to 200"),
    ("epochs", -5, "Epochs: must be a whole number from 1 to 200 (the server's cap, TRAINLAB_MAX_EPOCHS); got -5"),
    ("epochs", 1000.0, "got 1000"),  # "1e3" typed in a browser
    ("epochs", 2.5, "Epochs: must be a whole number from 1 to 200 (the server's cap, TRAINLAB_MAX_EPOCHS); got 2.5"),
    ("learning_rate", -1.0, "Learning rate: must be greater than 0 and at most 10; got -1"),
    ("batch_size", 0, "Batch size: must be a whole number from 1 to 1150"),
    ("seed", -1, "Seed: must be a whole number from 0 to 4294967295; got -1"),
    ("test_subset", -3, "Test samples: must be a whole number from 1 to 360"),
])
def test_train_page_refuses_bad_values_and_queues_nothing(lab, store, key, value, message):
    at = _page("pages/train.py").run()
    at.number_input(key=key).set_value(value)
    at.button(key="start").click().run()
    assert not at.exception
    assert [e.value for e in at.error] and message in at.error[0].value
    assert store.list_runs() == []


def test_train_page_refuses_a_long_name_instead_of_cutting_it(lab, store):
    at = _page("pages/train.py").run()
    at.text_input(key="name").set_value("x" * 500)
    at.button(key="start").click().run()
    assert at.error[0].value == "Run name: must be at most 120 characters; got 500"
    assert store.list_runs() == []


def test_train_page_refuses_nesterov_without_momentum_instead_of_dropping_it(lab, store):
    at = _page("pages/train.py").run()
    at.selectbox(key="optimizer").set_value("sgd").run()
    at.number_input(key="momentum").set_value(0.0)
    at.button(key="start").click().run()
    assert at.error[0].value.startswith("Nesterov: Nesterov needs a momentum above 0")
    assert store.list_runs() == []


def test_train_page_explains_a_missing_dataset(lab, store):
    at = _page("pages/train.py").run()
    at.selectbox(key="dataset").set_value("fashion_mnist").run()
    assert "apt-get install dataset-fashion-mnist" in at.warning[0].value
    at.button(key="start").click().run()
    assert at.error[0].value.startswith("Dataset: Fashion-MNIST is not on this machine")
    assert store.list_runs() == []


def test_runs_page_shows_a_finished_run_with_curves(lab, store):
    run_id = _finished_run(store, name="<b>html?</b> [link](http://x.org)")
    at = _page("pages/runs.py").run()
    assert not at.exception
    table = at.dataframe[0].value
    assert table["name"].tolist() == ["<b>html?</b> [link](http://x.org)"]
    assert "<b>html?</b> [link](http://x.org)" in [t.value for t in at.text]  # plain text, not markup
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Test accuracy"] == "91.00 %" and metrics["Parameters"] == "1,234"
    assert metrics["CPU threads"] == "2"  # what its worker's TensorFlow trained it with
    traces = {(t["name"], t["xaxis"]): t for t in json.loads(at.get("plotly_chart")[0].proto.spec)["data"]}
    # Train loss: a line through the within-epoch points, a dot per epoch mean; validation per epoch.
    assert _values(traces[("train", "x")]["x"]) == [0.5, 1.0, 1.5, 2.0]
    assert _values(traces[("train", "x")]["y"]) == [1.0, 0.8, 0.5, 0.4]
    assert _values(traces[("train, epoch mean", "x")]["y"]) == [0.9, 0.45]
    assert _values(traces[("validation", "x2")]["y"]) == [0.6, 0.7]
    assert dict(at.query_params)["run"] == str(run_id)  # the URL points at the run shown


def test_runs_page_cancels_a_running_run(lab, store):
    run_id = store.create_run("busy", TrainConfig().to_dict())
    store.claim(run_id, 1, "elsewhere")
    at = _page("pages/runs.py").run()
    at.button(key=f"cancel_{run_id}").click().run()
    assert not at.exception
    assert store.cancel_requested(run_id) and store.get(run_id).status == RUNNING


def test_runs_page_deletes_only_after_confirmation(lab, store):
    run_id = _finished_run(store)
    at = _page("pages/runs.py").run()
    at.button(key=f"delete_{run_id}").click().run()
    assert store.get(run_id) is not None and "cannot be undone" in at.warning[0].value
    at.button(key=f"delete_yes_{run_id}").click().run()
    assert not at.exception
    assert store.get(run_id) is None
    assert any("No runs yet" in i.value for i in at.info)


def test_runs_page_shows_why_a_run_failed(lab, store):
    run_id = store.create_run("broken", TrainConfig().to_dict())
    store.claim(run_id, 1, "elsewhere")
    store.finish(run_id, "failed", error="ValueError: something_bad happened", traceback="Traceback ...")
    at = _page("pages/runs.py").run()
    # Shown escaped (markdown specials get a backslash) so it reads exactly as raised.
    assert at.error[0].value.replace("\\", "") == "ValueError: something_bad happened"
    assert "Traceback" in [e.label for e in at.expander]


def test_runs_page_says_when_an_attempt_was_lost_and_retried(lab, store):
    from core.store.attempts import requeue_or_fail

    run_id = store.create_run("retried", TrainConfig().to_dict())
    requeue_or_fail(store, run_id, store.claim(run_id, 4242, "elsewhere"), "worker process 4242 died")
    store.claim(run_id, 4343, "elsewhere")
    at = _page("pages/runs.py").run()
    # Escaped for markdown (a backslash before specials), so it reads exactly as stored.
    assert [w.value.replace("\\", "") for w in at.warning] == [
        "Attempt 2: attempt 1 lost: worker process 4242 died; re-queued"]


def test_course_recipe_fills_the_form_and_queues_it(lab, store):
    at = _page("pages/train.py").run()
    at.selectbox(key="architecture").set_value("basic_cnn").run()
    at.button(key="apply_recipe").click().run()
    assert at.selectbox(key="optimizer").value == "sgd"
    assert (at.number_input(key="learning_rate").value, at.number_input(key="momentum").value) == (0.01, 0.9)
    assert at.checkbox(key="nesterov").value and at.number_input(key="epochs").value == 20
    at.button(key="start").click().run()
    config = store.list_runs()[0].config_dict
    assert (config["architecture"], config["optimizer"], config["learning_rate"], config["nesterov"]) == (
        "basic_cnn", "sgd", 0.01, True)


def test_cifar_recipe_switches_dataset_and_subsets(lab, store):
    from tests.conftest import make_cifar10

    make_cifar10(lab.keras_home / "datasets" / "cifar-10-batches-py")
    at = _page("pages/train.py").run()
    at.selectbox(key="architecture").set_value("small_cnn").run()
    at.button(key="apply_recipe").click().run()
    assert at.selectbox(key="dataset").value == "cifar10"
    assert (at.number_input(key="train_subset").value, at.number_input(key="test_subset").value) == (7500, 500)
    assert (at.selectbox(key="split_mode").value, at.number_input(key="batch_size").value) == ("keras", 64)


def test_a_recipe_whose_dataset_is_missing_says_what_it_did_not_apply(lab, store):
    make_fashion_files(lab.keras_home / "datasets" / "fashion-mnist")
    at = _page("pages/train.py").run()
    at.selectbox(key="dataset").set_value("fashion_mnist")
    at.selectbox(key="architecture").set_value("deep_mlp").run()  # a CIFAR-10 lesson; CIFAR-10 is not here
    at.button(key="apply_recipe").click().run()
    assert at.selectbox(key="dataset").value == "fashion_mnist"
    assert (at.number_input(key="train_subset").value, at.number_input(key="test_subset").value) == (0, 0)
    assert at.info[0].value == ("CIFAR-10 is not on this machine, so the run stays on Fashion-MNIST and uses all its "
                                "samples (the lesson's 7,500 / 500 subsets are CIFAR-10's); get it on the Data page.")


def test_custom_architecture_options_reach_the_run(lab, store):
    at = _page("pages/train.py").run()
    at.selectbox(key="architecture").set_value("custom_mlp").run()
    at.text_input(key="train_hidden_units").set_value("64, 32")
    at.slider(key="train_dropout").set_value(0.25)
    at.checkbox(key="train_batch_norm").check().run()
    at.button(key="start").click().run()
    assert not at.exception and not at.error
    assert store.list_runs()[0].config_dict["arch_options"] == {
        "hidden_units": [64, 32], "activation": "relu", "dropout": 0.25, "batch_norm": True}


def test_an_architecture_too_deep_for_the_images_is_refused_at_start(lab, store):
    at = _page("pages/train.py").run()
    at.selectbox(key="architecture").set_value("vgg16").run()
    at.button(key="start").click().run()
    assert at.error[0].value.startswith("Architecture: VGG16 needs images of at least 32×32")
    assert store.list_runs() == []


def test_train_page_says_what_a_photo_pipeline_does_to_small_images_before_start(lab, store):
    at = _page("pages/train.py").run()
    assert not at.warning  # digits, no augmentation: nothing to say
    at.selectbox(key="augmentation").set_value("cat").run()  # the course's cat preset: resizes to 224×224
    assert not at.exception
    assert at.warning[0].value.startswith("This pipeline turns the dataset's 8×8 images into 224×224 before the model "
                                          "sees them: 51,646,218 parameters instead of 331,530")
    at.selectbox(key="augmentation").set_value("none").run()  # the student drops it
    assert not at.warning
