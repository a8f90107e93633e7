"""The Sweeps page under AppTest, against a real run store and queue in a temp lab."""

import pandas as pd
import pytest

from core.domain.statuses import CANCELLED, QUEUED, SUCCEEDED
from core.domain.sweep_spec import SweepSpec, parse_variants
from core.services import sweeps
from core.store.runs import MetricPoint
from tests.test_pages import _page


def _frame(at, column: str) -> pd.DataFrame:
    """The first table on the page with this column (AppTest does not expose a table's key)."""
    return next(d.value for d in at.dataframe if column in d.value.columns)


def _infos(at) -> list[str]:
    return [i.value for i in at.info]


def test_defining_a_sweep_shows_its_size_and_refuses_bad_input(lab):
    at = _page("pages/sweeps.py").run()
    assert not at.exception and at.radio(key="sweep_view").value == "New sweep"
    assert any("**8 runs**" in text for text in _infos(at))  # 2 architectures × 2 optimizers × 2 rates
    at.text_input(key="sw_learning_rates").set_value("0.1, fast").run()
    assert [e.value for e in at.error] == ["Learning rates: 'fast' is not a number; separate values with commas"]
    assert at.button(key="sw_start").disabled
    at.text_input(key="sw_learning_rates").set_value("1e-4..1e-1 x5").run()
    assert any("**20 runs**" in text for text in _infos(at)) and not at.error
    at.text_area(key="sw_architectures").set_value("mlp\nmlp 64-32 dropout=2").run()
    assert at.error[0].value.startswith("Architectures: 'mlp 64-32 dropout=2': option dropout must be from 0")
    at.text_area(key="sw_architectures").set_value("mlp").run()
    at.text_input(key="sw_seeds").set_value(", ".join(str(i) for i in range(60))).run()
    assert at.error[0].value.startswith("sweep: 600 runs is more than the cap of 200 (TRAINLAB_MAX_SWEEP_RUNS)")
    assert at.button(key="sw_start").disabled


def test_the_assignment_preset_starts_a_sweep_that_can_be_cancelled(lab):
    at = _page("pages/sweeps.py").run()
    at.button(key="sw_preset").click().run()
    # The test lab has only the bundled digits, so the preset runs there: 3 × 3 optimizers × 2 rates.
    assert any("**18 runs**" in text for text in _infos(at))
    assert ("MNIST and Fashion-MNIST are not on this machine, so the preset runs on Digits 8×8 (bundled) "
            "only; get them on the Data page to sweep the assignment's datasets.") in _infos(at)
    assert at.multiselect(key="sw_optimizers").value == ["sgd_momentum", "adam", "rmsprop"]
    at.button(key="sw_start").click().run()
    assert not at.exception and at.radio(key="sweep_view").value == "Results"
    table = _frame(at, "best")
    assert len(table) == 18 and set(table["status"]) == {QUEUED}
    assert "0 / 18 done" in at.get("progress")[0].proto.text
    at.button(key="sw_cancel").click().run()
    sweep_id = sweeps.sweeps(lab)[0].id
    assert set(sweeps.runs_frame(sweep_id, lab)["status"]) == {CANCELLED}


def _finished_sweep(lab, store) -> int:
    spec = SweepSpec(name="done", datasets=("digits",), variants=parse_variants("mlp\nmlp_bn"),
                     optimizers=("sgd_momentum", "adam"), learning_rates=(1e-2, 1e-3), batch_sizes=(32,), epochs=(2,))
    sweep_id = sweeps.start(spec, lab)
    for i, run_id in enumerate(sweeps.runs_frame(sweep_id, lab)["run"]):
        run_id = int(run_id)
        store.claim(run_id, 1, "here")
        store.report(run_id, [MetricPoint("epoch", 10, 1.0, 1.0, "val_accuracy", 0.5 + i / 20),
                              MetricPoint("epoch", 20, 2.0, 2.0, "val_accuracy", 0.6 + i / 20)], 2, 10, 1.0, None)
        store.finish(run_id, SUCCEEDED, test_accuracy=0.55 + i / 20, train_seconds=2.0)
    return sweep_id


def test_results_show_the_best_charts_csv_and_retrain_beside_the_targets(lab, store):
    sweep_id = _finished_sweep(lab, store)
    at = _page("pages/sweeps.py").run()
    assert not at.exception and at.radio(key="sweep_view").value == "Results"
    table = _frame(at, "best")
    assert table.loc[table["best"] == "★", "run"].tolist() == [int(table["run"].max())]  # highest val accuracy
    assert "8 / 8 done" in at.get("progress")[0].proto.text
    charts = {c.proto.id for c in at.get("plotly_chart")}
    assert len(charts) == 3
    csv = at.get("download_button")[0]
    assert csv.proto.label == "Download the table (CSV)"
    at.number_input(key="sw_retrain_epochs_digits").set_value(3).run()
    at.button(key="sw_retrain_digits").click().run()
    assert not at.exception and any("the best setting on digits, retrained" in m.value for m in at.success)
    runs = sweeps.runs_frame(sweep_id, lab)
    retrain = runs[runs["role"] == "retrain"]
    assert len(retrain) == 1 and retrain["epochs"].iloc[0] == 3
    report = _frame(at, "retrain run")
    assert report.loc[0, "retrain run"] == retrain["run"].iloc[0] and report.loc[0, "retrain status"] == QUEUED


def test_compare_the_top_runs_filters_the_runs_page(lab, store):
    sweep_id = _finished_sweep(lab, store)
    at = _page("pages/sweeps.py").run()
    at.button(key="sw_compare").click().run()
    assert at.session_state["f_sweep"] == sweep_id and len(at.session_state["compare_runs"]) == 5
    runs_page = _page("pages/runs.py")
    runs_page.session_state["f_sweep"] = sweep_id
    runs_page.session_state["compare_runs"] = at.session_state["compare_runs"]
    runs_page.run()
    assert not runs_page.exception
    assert len(_frame(runs_page, "progress")) == 8  # only the sweep's runs
    assert runs_page.multiselect(key="compare_runs").value == at.session_state["compare_runs"]


@pytest.mark.parametrize("changes, message", [
    ({"sw_mode": "random", "sw_trials": 0}, "Trials: must be a whole number from 1 up; got 0"),
    ({"sw_mode": "random", "sw_trials": 2.5}, "Trials: must be a whole number from 1 up; got 2.5"),
    ({"sw_mode": "random", "sw_search_seed": -1}, "Search seed: must be a whole number from 0 to 2147483647; got -1"),
    ({"sw_halving": True, "sw_eta": 1}, "Stop poor trials early: keep 1 in η (a whole number from 2 to 10)"),
    ({"sw_name": "x" * 61}, "Sweep name: must be at most 60 characters; got 61"),
    ({"sw_batch_sizes": "0"}, "Batch sizes: every value must be 1 or more; got 0"),
])
def test_a_new_sweep_refuses_values_out_of_range_instead_of_replacing_them(lab, changes, message):
    at = _page("pages/sweeps.py").run()
    for key, value in changes.items():
        widget = at.radio(key=key) if key == "sw_mode" else at.toggle(key=key) if key == "sw_halving" else \
            at.text_input(key=key) if key in ("sw_name", "sw_batch_sizes") else at.number_input(key=key)
        widget.set_value(value).run()
    assert not at.exception
    assert any(message in e.value for e in at.error), [e.value for e in at.error]
    assert at.button(key="sw_start").disabled and sweeps.sweeps(lab) == []
