"""Comparing runs: store queries at 500 runs, the Runs page's filters, comparison, URL state, labels."""
import json
import random

import pandas as pd
import pytest

from core.domain.config import TrainConfig
from core.domain.statuses import SUCCEEDED
from core.services import jobs
from core.store.queries import RunQuery, best_validation_accuracy, facets, query_runs, relabel
from core.store.runs import MetricPoint
from core.views import compare
from tests.conftest import on_both_databases
from tests.test_pages import _page


def _fill(store, n=500, seed=0):
    """n finished runs with varied configs and a few epochs of metrics each."""
    rng = random.Random(seed)
    ids = []
    for i in range(n):
        config = TrainConfig(architecture=rng.choice(["mlp", "mlp_bn"]),
                             optimizer=rng.choice(["adam", "sgd", "rmsprop"]),
                             seed=i, name=f"run {i}")
        run_id = store.create_run(config.display_name(), config.to_dict(), epochs=3)
        store.claim(run_id, 1, "elsewhere")
        store.set_plan(run_id, 3, 10, 1000 + i)
        store.report(run_id, [MetricPoint("epoch", 10 * e, e, e, name, v)
                              for e in (1, 2, 3)
                              for name, v in (("loss", 1 / e), ("val_accuracy", 0.5 + e * 0.1 + i / 1e4))],
                     3, 10, 1.0, None)
        store.finish(run_id, SUCCEEDED, test_accuracy=0.5 + (i % 100) / 250, test_loss=0.5, train_seconds=10 + i)
        ids.append(run_id)
    return ids


@on_both_databases
def test_queries_filter_sort_and_page_500_runs(lab, store):
    _fill(store)
    runs, total = query_runs(store, RunQuery(page_size=50))
    assert total == 500 and len(runs) == 50 and runs[0].id == 500
    page_3, _ = query_runs(store, RunQuery(page=2, page_size=50))
    assert [r.id for r in page_3] == list(range(400, 350, -1))
    sgd, n_sgd = query_runs(store, RunQuery(optimizer=("sgd",), page_size=1000))
    assert n_sgd == len(sgd) and all(r.config_dict["optimizer"] == "sgd" for r in sgd) and 100 < n_sgd < 250
    best, _ = query_runs(store, RunQuery(sort="test accuracy", page_size=3))
    assert [r.test_accuracy for r in best] == sorted((r.test_accuracy for r in best), reverse=True)
    assert best[0].test_accuracy == max(r.test_accuracy for r in query_runs(store, RunQuery(page_size=500))[0])
    # Each run's best validation accuracy is its last epoch's, 0.8 + i / 10,000: run 500 is best, run 1 worst.
    by_validation, _ = query_runs(store, RunQuery(sort="validation accuracy", page_size=3))
    assert [r.id for r in by_validation] == [500, 499, 498]
    assert query_runs(store, RunQuery(sort="validation accuracy", descending=False, page_size=1))[0][0].id == 1
    good, n_good = query_runs(store, RunQuery(min_val_accuracy=0.84945, sort="id", descending=False))
    assert n_good == 5 and [r.id for r in good] == [496, 497, 498, 499, 500]
    assert RunQuery(min_val_accuracy=0.5).filtered and not RunQuery(sort="name", page=3).filtered
    assert best_validation_accuracy(store, [1, 500]) == pytest.approx({1: 0.8, 500: 0.8499})
    assert best_validation_accuracy(store, []) == {}
    relabel(store, 7, "run 7", "", ["baseline", "week 2"])
    tagged, n = query_runs(store, RunQuery(tag="week 2"))
    assert n == 1 and tagged[0].id == 7 and tagged[0].tag_list == ["baseline", "week 2"]
    found, n = query_runs(store, RunQuery(text="run 42"))
    assert {r.name for r in found} == {"run 42"} | {f"run 42{i}" for i in range(10)}
    assert facets(store)["optimizer"] == ["adam", "rmsprop", "sgd"] and facets(store)["tag"] == ["baseline", "week 2"]


def test_smoothing_matches_hand_computed_values():
    assert compare.ema([1.0, 2.0, 3.0], 0.5).round(6).tolist() == [1.0, round(5 / 3, 6), round(17 / 7, 6)]
    assert compare.ema([4.0, 4.0, 4.0], 0.9).tolist() == [4.0, 4.0, 4.0]  # no pull towards zero
    assert compare.ema([1.0, 5.0], 0.0).tolist() == [1.0, 5.0]


@on_both_databases
def test_csv_export_has_every_point_of_the_selected_runs(lab, store):
    ids = _fill(store, n=3)
    runs = jobs.runs_by_id(ids[:2], lab)
    csv = compare.metrics_csv(runs, jobs.metrics_of(ids[:2], lab))
    frame = pd.read_csv(__import__("io").StringIO(csv))
    assert len(frame) == 2 * 6 and set(frame["run_id"]) == set(ids[:2])
    assert list(frame.columns) == ["run_id", "run_name", "kind", "step", "epoch", "elapsed", "name", "value"]
    assert frame[(frame.run_id == ids[1]) & (frame.name == "loss")]["value"].round(4).tolist() == [1.0, 0.5, 0.3333]


def test_url_state_round_trip():
    state = compare.CompareState([4, 9], "time", 0.6, True)
    assert compare.CompareState.from_params(state.to_params()) == state
    assert compare.CompareState.from_params({"runs": "1,;drop,2", "x": "bogus", "smooth": "9"}) == \
        compare.CompareState([1, 2], "epoch", 0.99, False)
    # "²" passes str.isdigit(), and a number past the store's INTEGER reached SQLite: both crashed the page.
    assert compare.CompareState.from_params({"runs": f"1,²,99999999999999999999,{'9' * 4400},3"}).runs == [1, 3]


def test_a_link_to_a_run_number_no_store_can_hold_is_a_note_not_a_crash(lab, store):
    _fill(store, n=2)
    for bad in ("99999999999999999999", "²", "-3"):
        at = _page("pages/runs.py")
        at.query_params.update({"run": bad, "runs": f"1,{bad}"})
        at.run()
        assert not at.exception and not at.error, bad
        assert at.multiselect(key="compare_runs").value == [1]


def test_runs_page_with_500_runs_filters_and_compares_two(lab, store):
    ids = _fill(store)
    at = _page("pages/runs.py").run()
    assert not at.exception
    assert len(at.dataframe[0].value) == 50 and any("of 500 runs" in c.value for c in at.caption)
    at.multiselect(key="f_optimizer").set_value(["sgd"]).run()
    assert set(at.dataframe[0].value["optimizer"].str.split().str[0]) == {"sgd"}
    shown = at.dataframe[0].value["id"].tolist()[:2]
    at.multiselect(key="compare_runs").set_value(shown).run()
    assert not at.exception
    traces = json.loads(at.get("plotly_chart")[0].proto.spec)["data"]
    legend = [t["name"] for t in traces if t.get("showlegend") is not False]  # one entry per run
    assert [name.split(" (")[0] for name in legend] == [f"#{i} run {i - 1}" for i in shown]
    final = at.dataframe[1].value  # the final-metrics table follows the run table
    assert final["run"].tolist() == shown and final["best epoch"].tolist() == [3, 3]
    params = dict(at.query_params)
    assert params["runs"] == ",".join(map(str, shown)) and params["x"] == "epoch"
    assert len(ids) == 500


def test_a_shared_link_restores_the_comparison(lab, store):
    _fill(store, n=5)
    at = _page("pages/runs.py")
    at.query_params.update({"runs": "2,4", "x": "step", "smooth": "0.6"})
    at.run()
    assert at.multiselect(key="compare_runs").value == [2, 4]
    assert at.selectbox(key="compare_x").value == "step" and at.slider(key="compare_smooth").value == 0.6


@on_both_databases
def test_rename_tag_and_note_a_run(lab, store):
    [run_id] = _fill(store, n=1)
    at = _page("pages/runs.py").run()
    at.text_input(key=f"rename_{run_id}").set_value("<i>renamed</i>")
    at.text_input(key=f"retag_{run_id}").set_value("baseline, adam")
    at.button(key=f"relabel_{run_id}").click().run()
    run = store.get(run_id)
    assert (run.name, run.tag_list) == ("<i>renamed</i>", ["baseline", "adam"])
    at.text_input(key=f"rename_{run_id}").set_value("   ")
    at.button(key=f"relabel_{run_id}").click().run()
    assert any(e.value.startswith("name: give the run a name") for e in at.error)
    at.text_input(key=f"rename_{run_id}").set_value("fine")
    at.text_input(key=f"retag_{run_id}").set_value("x" * 41)
    at.button(key=f"relabel_{run_id}").click().run()
    assert any(e.value.startswith("tags: at most 20 tags") for e in at.error)
    assert store.get(run_id).tag_list == ["baseline", "adam"]  # nothing lost
    at.text_input(key=f"retag_{run_id}").set_value("")
    at.text_input(key=f"rename_{run_id}").set_value("y" * 500)  # refused whole, never cut to 120
    at.button(key=f"relabel_{run_id}").click().run()
    assert any(e.value == "name: give the run a name of 1 to 120 characters; got 500" for e in at.error)
    assert store.get(run_id).name == "<i>renamed</i>"


def test_seed_groups_mean_and_spread(lab, store):
    ids = _fill(store, n=4)  # _fill gives each run its own seed; two share the rest of the config below
    runs = jobs.runs_by_id(ids, lab)
    same = [r for r in runs if (r.config_dict["architecture"], r.config_dict["optimizer"]) ==
            (runs[0].config_dict["architecture"], runs[0].config_dict["optimizer"])]
    groups = compare.seed_groups(runs)
    assert [len(g) for g in groups] == ([len(same)] if len(same) > 1 else [])
    # Hand-made group: val_accuracy at epoch 1 is 0.6 + i/1e4 for run i (i = id - 1).
    group = runs[:2]
    stats = compare.group_curve(group, jobs.metrics_of(ids[:2], lab), "val_accuracy")
    first = stats.iloc[0]
    values = [0.6 + 0 / 1e4, 0.6 + 1 / 1e4]
    assert first["epoch"] == 1 and first["count"] == 2
    assert (abs(first["mean"] - sum(values) / 2) < 1e-12
            and abs(first["std"] - abs(values[1] - values[0]) / 2 ** 0.5) < 1e-12)
    summary = compare.group_summary([group])
    accuracies = [r.test_accuracy for r in group]
    assert abs(summary["test accuracy mean"][0] - sum(accuracies) / 2) < 1e-12
    assert summary["seeds"][0] == f"{group[0].config_dict['seed']}, {group[1].config_dict['seed']}"


def test_page_groups_runs_that_differ_only_by_seed(lab, store):
    for seed in (1, 2):
        config = TrainConfig(seed=seed, name=f"seed {seed}")
        run_id = store.create_run(config.display_name(), config.to_dict(), epochs=1)
        store.claim(run_id, 1, "elsewhere")
        store.report(run_id, [MetricPoint("epoch", 10, 1, 1, "val_accuracy", 0.5 + seed / 10)], 1, 10, 1.0, None)
        store.finish(run_id, SUCCEEDED, test_accuracy=0.8 + seed / 100, test_loss=0.3, train_seconds=5)
    at = _page("pages/runs.py").run()
    at.multiselect(key="compare_runs").set_value([1, 2]).run()
    assert not at.exception
    groups = [d.value for d in at.dataframe if "± std" in d.value.columns]
    assert groups and groups[0]["runs"].tolist() == ["#1, #2"] and groups[0]["seeds"].tolist() == ["1, 2"]
    assert abs(groups[0]["test accuracy mean"][0] - 0.815) < 1e-9


def test_clone_and_edit_fills_the_train_page(lab, store):
    config = TrainConfig(architecture="custom_mlp", arch_options={"hidden_units": [64, 32], "dropout": 0.2},
                         optimizer="sgd", momentum=0.9, nesterov=True, learning_rate=0.05, epochs=7, train_subset=400,
                         seed=9, name="original")
    run_id = store.create_run(config.display_name(), config.to_dict(), epochs=7)
    store.request_cancel(run_id)
    at = _page("pages/runs.py").run()
    at.button(key=f"clone_{run_id}").click().run()
    assert not at.exception
    assert at.number_input(key="learning_rate").value == 0.05  # now on the Train page
    assert at.text_input(key="train_hidden_units").value == "64, 32" and at.slider(key="train_dropout").value == 0.2
    # A browser stays on the page st.switch_page went to; AppTest must be told for the next runs.
    at.switch_page("pages/train.py").run()
    at.number_input(key="epochs").set_value(9)
    at.button(key="start").click().run()
    clone = store.list_runs()[0].config_dict
    assert (clone["epochs"], clone["learning_rate"], clone["momentum"], clone["seed"], clone["train_subset"]) == (
        9, 0.05, 0.9, 9, 400)
    assert clone["arch_options"]["hidden_units"] == [64, 32] and clone["name"] == "original (copy)"


def test_run_again_queues_the_same_config(lab, store):
    config = TrainConfig(epochs=4, seed=3)
    run_id = store.create_run("first", config.to_dict(), epochs=4)
    store.request_cancel(run_id)
    at = _page("pages/runs.py").run()
    at.button(key=f"again_{run_id}").click().run()
    newest = store.list_runs()[0]
    assert newest.id != run_id and newest.status == "queued"
    assert {k: v for k, v in newest.config_dict.items()} == {k: v for k, v in store.get(run_id).config_dict.items()}


@on_both_databases
def test_paging_and_a_page_clamped_by_a_filter(lab, store):
    _fill(store)
    at = _page("pages/runs.py").run()
    at.number_input(key="f_page").set_value(3).run()
    assert at.dataframe[0].value["id"].tolist()[:2] == [400, 399]
    assert any(c.value == "Showing 101–150 of 500 runs" for c in at.caption)
    at.number_input(key="f_page").set_value(10).run()
    at.text_input(key="f_text").set_value("run 49").run()  # 11 matches: one page
    assert not at.exception
    assert sorted(at.dataframe[0].value["id"]) == [50] + list(range(491, 501))


def test_runs_repeating_one_seed_are_not_a_seed_group(lab, store):
    from core.domain.config import TrainConfig

    same_seed = [store.create_run(f"copy {i}", TrainConfig(seed=42).to_dict()) for i in range(3)]
    assert compare.seed_groups(jobs.runs_by_id(same_seed, lab)) == []  # three people ran the same thing
    other = store.create_run("seed 7", TrainConfig(seed=7).to_dict())
    [group] = compare.seed_groups(jobs.runs_by_id([*same_seed, other], lab))
    assert [r.id for r in group] == [same_seed[0], other]  # two seeds: a spread of two runs


def test_the_confusion_matrix_labels_every_class():
    import numpy as np

    from core.views import evaluation

    names = tuple(str(i) for i in range(10))  # digit names read as numbers got ticks at 0, 2, 4 … only
    predictions = evaluation.Predictions(np.arange(10), np.arange(10), names, np.zeros((0, 8, 8, 1)),
                                         np.array([], int), np.array([], int))
    layout = evaluation.confusion_figure(predictions).layout
    assert layout.xaxis.type == layout.yaxis.type == "category" and layout.xaxis.dtick == 1


def test_a_runs_page_shows_every_metric_it_reported_and_its_cpu_and_memory(lab, store):
    """Learning rate per epoch and a custom metric beside loss and accuracy, and the worker's usage samples."""
    from core.domain.metric_kinds import CPU_METRIC, MEMORY_METRIC, USAGE_KIND
    from core.views import run_metrics

    run_id = store.create_run("cosine", TrainConfig(lr_schedule="cosine").to_dict(), epochs=2)
    store.claim(run_id, 1, "elsewhere")
    store.set_plan(run_id, 2, 10, 1000)
    for epoch in (1, 2):
        store.report(run_id, [MetricPoint("epoch", 10 * epoch, epoch, epoch, name, value) for name, value in (
            ("loss", 1 / epoch), ("val_accuracy", 0.5 + 0.1 * epoch), ("learning_rate", 0.01 / epoch),
            ("top_3_accuracy", 0.9))] + [MetricPoint(USAGE_KIND, 10 * epoch, epoch, epoch, CPU_METRIC, 1.5),
                                         MetricPoint(USAGE_KIND, 10 * epoch, epoch, epoch, MEMORY_METRIC, 700.0)],
                     epoch, 10, epoch / 2, None)
    store.finish(run_id, SUCCEEDED, test_accuracy=0.7, test_loss=0.5, train_seconds=3)
    metrics = jobs.run_metrics(run_id, lab)
    table = run_metrics.epoch_table(metrics)
    assert list(table.columns) == ["epoch", "loss", "val_accuracy", "learning_rate", "top_3_accuracy"]
    assert table["learning_rate"].tolist() == [0.01, 0.005] and table["epoch"].tolist() == [1, 2]
    assert run_metrics.other_metrics(metrics) == ["learning_rate", "top_3_accuracy"]
    for figure in (run_metrics.other_metrics_figure(metrics), run_metrics.usage_figure(metrics)):
        import plotly.graph_objects as go
        go.Figure(figure.to_dict())  # Plotly's full checks (the usage figure is assembled without them)
    at = _page("pages/runs.py")
    at.query_params["run"] = str(run_id)
    at.run()
    assert not at.exception
    [section] = [e for e in at.expander if e.label == "Every metric, CPU and memory"]
    shown = section.dataframe[0].value
    assert {"learning_rate", "top_3_accuracy"} <= set(shown.columns) and len(shown) == 2
    assert len(section.get("plotly_chart")) == 2  # the other metrics, and the CPU and memory


def test_compared_runs_get_parallel_coordinates_of_the_settings_they_differ_in(lab, store):
    ids = _fill(store, n=6)
    runs, metrics = jobs.runs_by_id(ids, lab), jobs.metrics_of(ids, lab)
    finals = compare.final_metrics(runs, metrics)
    trials = compare.runs_as_trials(runs, finals)
    assert trials["val_accuracy"].round(4).tolist() == [0.8 + i / 1e4 for i in range(6)]
    figure = compare.runs_parallel_coordinates(runs, finals)
    labels = [d["label"] for d in figure.to_dict()["data"][0]["dimensions"]]
    assert labels[-1] == "validation accuracy" and "Seed" in labels and "Learning rate" not in labels  # all 0.001
    cosine = jobs.runs_by_id([jobs.submit(TrainConfig(lr_schedule="cosine", name="cosine"), lab)], lab)
    only_schedule = compare.runs_as_trials([runs[0], *cosine], finals)  # the new run has no score yet
    assert "lr_schedule" in only_schedule.columns
    assert compare.runs_parallel_coordinates(runs[:1], finals) is None  # one run: nothing to compare
    at = _page("pages/runs.py")
    at.session_state["compare_runs"] = ids[:3]
    at.run()
    assert not at.exception
    assert any("best validation accuracy: drag along an axis" in c.value for c in at.caption)


def test_the_runs_filter_by_validation_accuracy_refuses_what_is_not_a_percentage(lab, store):
    """150 % is one line naming the field, and the table does not filter by an older value out of sight."""
    _fill(store, n=5)  # best validation accuracy 0.8 + i / 10,000
    at = _page("pages/runs.py").run()
    at.number_input(key="f_val").set_value(80.03).run()
    assert not at.exception and len(at.dataframe[0].value) == 2  # runs 4 and 5
    at.number_input(key="f_val").set_value(150).run()
    assert [e.value for e in at.error] == [
        "Val accuracy at least: type a percentage from 0 to 100, or leave it empty; got 150"]
    assert len(at.dataframe[0].value) == 5  # no filter while it says so, not the last good 80.03
