"""Sweeps: expansion (grid, random, per-optimizer rates, ranges), caps, grouping in the store,
successive halving in real training, retraining the best setting, results and CSV."""
from dataclasses import replace

import pytest

from core.domain.config import ConfigError, TrainConfig
from core.domain.statuses import CANCELLED, QUEUED, SUCCEEDED
from core.domain.sweep_parsing import (
    SweepError,
    Variant,
    log_points,
    parse_learning_rates,
    parse_numbers,
    parse_per_optimizer_lr,
    parse_variant,
    parse_variants,
)
from core.domain.sweep_spec import Halving, SweepSpec, assignment_preset, expand, run_count
from core.services import jobs, sweeps
from core.store.queries import RunQuery, query_runs
from core.store.runs import MetricPoint
from core.store.sweeps import NewRun, create_sweep
from core.training.fit import execute_run
from core.training.halving import keep_going
from tests.conftest import on_both_databases

GRID = SweepSpec(name="t", datasets=("digits",), variants=parse_variants("mlp\nmlp 32 dropout=0.2\ncnn 8x1p bn"),
                 optimizers=("sgd_momentum", "adam"), learning_rates=(1e-2, 1e-3), batch_sizes=(16, 32),
                 epochs=(2,), seeds=(1,), shared={"train_subset": 200})


# -- expansion ---------------------------------------------------------------------------------
def test_grid_is_the_full_product_with_readable_params():
    trials = expand(GRID, max_runs=200)
    assert run_count(GRID) == len(trials) == 3 * 2 * 2 * 2
    combos = {(t.params["architecture"], t.params["optimizer"], t.params["learning_rate"], t.params["batch_size"])
              for t in trials}
    assert len(combos) == 24  # every combination once
    sgd = next(t for t in trials if t.params["optimizer"] == "sgd_momentum")
    assert (sgd.config.optimizer, sgd.config.momentum, sgd.config.nesterov) == ("sgd", 0.9, False)
    cnn = next(t for t in trials if t.params["architecture"].startswith("cnn"))
    assert cnn.config.architecture == "custom_cnn" and cnn.config.arch_options == {"blocks": [[8, 1, True]],
                                                                                   "batch_norm": True}
    assert all(t.config.train_subset == 200 and t.config.seed == 1 for t in trials)


def test_learning_rates_can_differ_per_optimizer():
    spec = replace(GRID, per_optimizer_lr={"sgd_momentum": (0.1, 0.05, 0.01)})
    trials = expand(spec, 200)
    rates = {o: sorted({t.params["learning_rate"] for t in trials if t.params["optimizer"] == o})
             for o in ("sgd_momentum", "adam")}
    assert rates == {"sgd_momentum": [0.01, 0.05, 0.1], "adam": [0.001, 0.01]}
    assert len(trials) == 3 * 2 * (3 + 2)


def test_learning_rate_lists_and_log_ranges_parse():
    assert parse_learning_rates("0.1, 0.01;1e-3") == ((0.1, 0.01, 0.001), None)
    assert parse_learning_rates("1e-4..1e-1 x4") == ((0.0001, 0.001, 0.01, 0.1), (0.0001, 0.1, 4))
    assert log_points(1e-3, 1e-1, 3) == (0.001, 0.01, 0.1)
    assert parse_per_optimizer_lr("sgd_nesterov: 0.1, 0.01\n\nadam: 1e-3") == {"sgd_nesterov": (0.1, 0.01),
                                                                              "adam": (0.001,)}
    for text, words in (("0.1, fast", "learning rates: 'fast' is not a number"),
                        ("1e-1..1e-4", "0 < low < high"), ("1e-4..1e-1 x50", "2 to 20 points"),
                        ("1e-3..1e309", "high ≤ 10; got 0.001..inf")):  # inf overflowed into a bug
        with pytest.raises(SweepError, match=words):
            parse_learning_rates(text)
    with pytest.raises(SweepError, match="learning rates per optimizer: .* got 'sgdd: 0.1'"):
        parse_per_optimizer_lr("sgdd: 0.1")
    with pytest.raises(SweepError, match="batch sizes: 'x' is not a whole number"):
        parse_numbers("32, x", "batch sizes", int)


def test_architecture_lines_name_their_mistake():
    assert parse_variant("mlp_bn") == Variant("mlp_bn", "mlp_bn", {})
    assert parse_variant("mlp 256-128 act=gelu bn").options == {"hidden_units": [256, 128], "activation": "gelu",
                                                                "batch_norm": True}
    assert parse_variant("cnn 16x2p-32x1 flatten dense=64").options == {
        "blocks": [[16, 2, True], [32, 1, False]], "head": "flatten", "dense_units": 64}
    for line, words in (("mlp 512-abc", "whole numbers joined by '-'"), ("cnn 32x1p foo", "unknown setting 'foo'"),
                        ("vgg17", "neither a preset"), ("mlp 512 dropout=1.5", "dropout must be from 0"),
                        ("mlp 512 act=wiggle", "activation must be one of")):
        with pytest.raises(SweepError, match=f"architectures: .*{words}"):
            parse_variant(line)
    with pytest.raises(SweepError, match="architectures: list at least one"):
        parse_variants("\n  \n")


def test_random_search_draws_the_budget_reproducibly():
    spec = replace(GRID, mode="random", trials=7, lr_range=(1e-4, 1e-1, 4), search_seed=3)
    first, again = expand(spec, 200), expand(spec, 200)
    assert [t.params for t in first] == [t.params for t in again] and len(first) == 7
    rates = [t.params["learning_rate"] for t in first]
    assert all(1e-4 <= r <= 1e-1 for r in rates) and len(set(rates)) == 7  # drawn log-uniformly, not from a list
    other = expand(replace(spec, search_seed=4), 200)
    assert [t.params for t in other] != [t.params for t in first]
    # Over lists only, a budget larger than the grid draws each point once.
    listed = expand(replace(GRID, mode="random", trials=100), 200)
    assert len(listed) == 24 and len({tuple(sorted(t.params.items())) for t in listed}) == 24


def test_caps_refuse_absurd_sweeps_before_building_anything():
    huge = replace(GRID, seeds=tuple(range(1000)), batch_sizes=tuple(range(1, 1001)))
    with pytest.raises(SweepError,
                       match=r"sweep: 12,000,000 runs is more than the cap of 200 \(TRAINLAB_MAX_SWEEP_RUNS\)"):
        expand(huge, 200)
    with pytest.raises(SweepError, match="trials: must be from 1 to 50"):
        expand(replace(GRID, mode="random", trials=80, lr_range=(1e-4, 1e-2, 3)), 50)
    with pytest.raises(SweepError, match="optimizers: choose at least one"):
        expand(replace(GRID, optimizers=()), 200)


def test_assignment_preset_covers_the_assignment():
    spec = assignment_preset()
    trials = expand(spec, 200)
    assert set(spec.datasets) == {"mnist", "fashion_mnist"}
    options = [v.options for v in spec.variants]
    assert any(o.get("dropout") for o in options) and any(o.get("batch_norm") for o in options)
    assert len(spec.variants) >= 3
    optimizers = {t.config.optimizer for t in trials} | {t.params["optimizer"] for t in trials}
    assert {"sgd", "adam"} <= optimizers and len({t.params["optimizer"] for t in trials}) >= 3
    for opt in spec.optimizers:
        assert len({t.params["learning_rate"] for t in trials if t.params["optimizer"] == opt}) >= 2
    assert all(t.config.split_mode == "random" and t.config.validation_split > 0 for t in trials)


# -- planning and the store --------------------------------------------------------------------
def test_plan_checks_every_trial_and_estimates(lab):
    plan = sweeps.plan(GRID, lab)
    assert len(plan.trials) == 24 and len(plan.estimate.run_seconds) == 24 and not plan.estimate.measured
    assert plan.wall_seconds < sum(plan.estimate.run_seconds)  # two workers share the load
    with pytest.raises(ConfigError, match=r"batch_size: .* \(in trial mlp · digits\)"):
        sweeps.plan(replace(GRID, batch_sizes=(500,)), lab)
    with pytest.raises(SweepError, match="early stopping: .*validation split above 0"):
        sweeps.plan(replace(GRID, halving=Halving(), shared={"validation_split": 0.0}), lab)


@on_both_databases
def test_a_sweep_groups_its_runs_and_cancels_only_them(lab, store):
    other = jobs.submit(TrainConfig(name="not in the sweep"), lab)
    sweep_id = sweeps.start(replace(GRID, batch_sizes=(16,)), lab)
    runs = sweeps.runs_frame(sweep_id, lab)
    assert len(runs) == 12 and set(runs["status"]) == {QUEUED} and set(runs["role"]) == {"trial"}
    page, total = query_runs(store, RunQuery(sweep=sweep_id))
    assert total == 12 and other not in {r.id for r in page}
    assert sweeps.progress(runs, lab).text() == "0 / 12 done"
    assert sweeps.cancel(sweep_id, lab) == 12
    assert sweeps.progress(sweeps.runs_frame(sweep_id, lab), lab).text() == "12 / 12 done, 12 cancelled"
    assert set(sweeps.runs_frame(sweep_id, lab)["status"]) == {CANCELLED}
    assert store.get(other).status == QUEUED  # the other run is untouched
    sweeps.delete(sweep_id, lab)
    assert query_runs(store, RunQuery(sweep=sweep_id))[1] == 0 and store.get(other) is not None
    with pytest.raises(jobs.JobError, match="sweep: there is no sweep"):
        sweeps.get(sweep_id, lab)


@on_both_databases
def test_results_pick_the_best_by_validation_never_test(lab, store):
    spec = replace(GRID, variants=GRID.variants[:1], optimizers=("adam",), batch_sizes=(16,))
    sweep_id = sweeps.start(spec, lab)
    a, b = sweeps.runs_frame(sweep_id, lab)["run"]
    for run_id, val, test in ((a, 0.9, 0.5), (b, 0.8, 0.99)):
        store.claim(int(run_id), 1, "here")
        store.report(int(run_id), [MetricPoint("epoch", 10, 1.0, 1.0, "val_accuracy", val)], 1, 10, 1.0, None)
        store.finish(int(run_id), SUCCEEDED, test_accuracy=test, train_seconds=3.0)
    table = sweeps.trials_table(sweeps.runs_frame(sweep_id, lab))
    assert table.loc[table["best"], "run"].tolist() == [a]
    csv = sweeps.results_csv(sweeps.runs_frame(sweep_id, lab))
    assert csv.splitlines()[0].startswith("run,status,dataset,architecture,optimizer,learning_rate")
    assert len(csv.splitlines()) == 3

    retrain = sweeps.retrain_best(sweep_id, "digits", epochs=5, settings=lab)
    config = TrainConfig.from_json(store.get(retrain).config)
    assert config.validation_split == 0 and config.epochs == 5 and config.learning_rate == 1e-2
    assert config.train_subset is None  # train + validation: every training sample
    report = sweeps.retrain_report(sweeps.runs_frame(sweep_id, lab))
    assert report.loc[0, "retrain run"] == retrain and report.loc[0, "best val accuracy"] == 0.9
    with pytest.raises(jobs.JobError, match="retrain: no trial on mnist"):
        sweeps.retrain_best(sweep_id, "mnist", epochs=5, settings=lab)
    with pytest.raises(ConfigError, match="epochs: must be a whole number from 1 to 200 .*; got 2.5"):
        sweeps.retrain_best(sweep_id, "digits", epochs=2.5, settings=lab)  # refused, never cut to 2


# -- successive halving --------------------------------------------------------------------------
def test_keep_going_keeps_the_top_third():
    assert keep_going({1: 0.5}, 1, eta=3)  # too few trials at the rung to judge
    scores = {1: 0.9, 2: 0.8, 3: 0.7, 4: 0.6, 5: 0.5, 6: 0.4}
    assert [keep_going(scores, r, 3) for r in scores] == [True, True, False, False, False, False]
    assert keep_going({1: 0.5, 2: 0.5, 3: 0.5}, 1, 3) and not keep_going({1: 0.5, 2: 0.5, 3: 0.5}, 2, 3)


def test_halving_stops_a_poor_trial_in_real_training(lab, store):
    # Adam at a sane rate first, then SGD at a rate far too small to learn: the second falls out at epoch 1.
    spec = SweepSpec(name="halving", datasets=("digits",), variants=(Variant("mlp", "mlp"),),
                     optimizers=("adam", "sgd"), per_optimizer_lr={"adam": (1e-3,), "sgd": (1e-7,)},
                     batch_sizes=(16,), epochs=(4,), shared={"train_subset": 300}, halving=Halving(eta=2))
    sweep_id = sweeps.start(spec, lab)
    good, poor = (int(r) for r in sweeps.runs_frame(sweep_id, lab)["run"])
    assert execute_run(good, lab) == SUCCEEDED and execute_run(poor, lab) == SUCCEEDED
    runs = sweeps.runs_frame(sweep_id, lab).set_index("run")
    assert runs.loc[good, "stopped_at"] is None or runs["stopped_at"].isna()[good]
    assert runs.loc[poor, "stopped_at"] == 1
    assert store.get(good).epoch == 4 and store.get(poor).epoch == 1
    assert runs.loc[poor, "test_accuracy"] is not None  # a stopped trial is still evaluated
    assert sweeps.sweep_note(poor, lab) == (f"Trial of sweep #{sweep_id} halving; stopped early after epoch 1 by "
                                            "successive halving (outside the top trials)")
    assert sweeps.sweep_note(good, lab) == f"Trial of sweep #{sweep_id} halving"
    assert sweeps.sweep_note(jobs.submit(TrainConfig(), lab), lab) is None


def test_a_range_every_optimizer_overrides_counts_as_lists():
    spec = replace(GRID, mode="random", trials=50, lr_range=(1e-4, 1e-1, 4),
                   per_optimizer_lr={"sgd_momentum": (0.1,), "adam": (1e-3,)})
    assert run_count(spec) == len(expand(spec, 200)) == 3 * 2 * 2  # the grid, each point once


@on_both_databases
def test_estimates_come_from_finished_runs_like_these(lab, store):
    from core.services.estimates import RUN_OVERHEAD_SECONDS, estimate

    config = TrainConfig(train_subset=200, epochs=2, batch_size=32)  # 160 training + 40 validation samples
    guess = estimate([config], store, lab)
    assert not guess.measured
    done = store.create_run("done", config.to_dict(), epochs=2)
    store.claim(done, 1, "here")
    store.set_plan(done, epochs=2, steps=10, param_count=1)
    store.report(done, [], epoch=2, batch=10, progress=1.0, eta_seconds=None)
    store.finish(done, SUCCEEDED, train_seconds=2.0)  # 2 epochs × 10 steps × 32 samples in 2 s = 320/s
    measured = estimate([config, replace(config, epochs=4)], store, lab)
    assert measured.measured
    assert measured.run_seconds[0] == pytest.approx(2 * (160 + 40 / 3) / 320 + RUN_OVERHEAD_SECONDS)
    assert (measured.run_seconds[1] - RUN_OVERHEAD_SECONDS
            == pytest.approx(2 * (measured.run_seconds[0] - RUN_OVERHEAD_SECONDS)))
    assert measured.wall_seconds(2) == pytest.approx(max(measured.run_seconds))  # one run per worker
    assert measured.wall_seconds(1) == pytest.approx(sum(measured.run_seconds))


def test_a_sweeps_estimate_near_its_end_is_what_its_last_trial_has_left(lab, store):
    """7 of 8 trials done in about 9 s each and the last one starting: the estimate stays near one trial's time
    (a first batch's ETA once made it 14 minutes), and follows that trial's own ETA once it has one."""
    from core.services.estimates import estimate

    trial = TrainConfig(train_subset=200, epochs=2, batch_size=32)
    _, run_ids = create_sweep(store, "near the end", {}, [NewRun(f"t{i}", trial.to_dict(), 2, {"seed": i})
                                                          for i in range(8)])
    for run_id in run_ids:
        store.claim(run_id, 1, "here")
        store.set_plan(run_id, epochs=2, steps=5, param_count=1)
    for run_id in run_ids[:7]:
        store.report(run_id, [], epoch=2, batch=5, progress=1.0, eta_seconds=None)
        store.finish(run_id, SUCCEEDED, train_seconds=9.0)
    last = run_ids[7]
    store.report(last, [], epoch=1, batch=1, progress=0.1, eta_seconds=None)  # no pace yet: no ETA of its own
    one_trial = sweeps.progress(sweeps.runs_frame(1, lab), lab)
    assert one_trial.text().startswith("7 / 8 done")
    full = estimate([trial], store, lab)
    assert full.measured and full.run_seconds[0] < 20  # measured on its 7 siblings: about their 9 s, and start-up
    assert one_trial.eta_seconds == pytest.approx(0.9 * full.run_seconds[0])  # a tenth of it is done
    store.report(last, [], epoch=2, batch=2, progress=0.7, eta_seconds=3.0)
    assert sweeps.progress(sweeps.runs_frame(1, lab), lab).eta_seconds == pytest.approx(3.0)
