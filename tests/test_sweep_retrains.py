"""A sweep that retrains its best setting by itself (issue 32: `sweep start --retrain-best EPOCHS`): queued once,
as soon as every trial on the dataset has ended, on all the training data; refused up front when its owner could
never run it. The dispatcher's own call is in tests/test_integration_workers.py (a real pool)."""
import pytest

from core.cli.main import main
from core.domain.people import STUDENT, TEACHER, Actor
from core.domain.statuses import QUEUED, SUCCEEDED
from core.domain.sweep_parsing import SweepError, parse_variants
from core.domain.sweep_spec import SweepSpec
from core.services import accounts, sweep_retrains, sweeps
from core.services import classroom as class_service
from core.training.fit import execute_run

TWO_TRIALS = SweepSpec(name="retrained", datasets=("digits",), variants=parse_variants("mlp"), optimizers=("adam",),
                       learning_rates=(1e-3, 1e-2), batch_sizes=(32,), epochs=(1,),
                       shared={"train_subset": 200}, retrain_epochs=2)


def test_the_best_setting_is_retrained_by_itself_once_the_search_has_ended(lab, store, capsys):
    sweep_id = sweeps.start(TWO_TRIALS, lab)
    first, second = (int(r) for r in sweeps.runs_frame(sweep_id, lab)["run"])
    assert sweep_retrains.queue_due(lab) == []  # both trials still queued
    assert sweep_retrains.retrain_notes(sweep_id, lab) == {"digits": "queued by itself once every trial on it has "
                                                                     "ended"}
    assert execute_run(first, lab) == SUCCEEDED
    assert sweep_retrains.queue_due(lab) == []  # one trial left: the winner is not certain yet
    assert execute_run(second, lab) == SUCCEEDED
    (retrain,) = sweep_retrains.queue_due(lab)
    assert sweep_retrains.queue_due(lab) == []  # once
    run = store.get(retrain)
    best = sweeps.best_trials(sweeps.runs_frame(sweep_id, lab))["digits"]
    assert run.status == QUEUED and run.config_dict["learning_rate"] == best["learning_rate"]
    assert (run.config_dict["epochs"], run.config_dict["validation_split"], run.config_dict["train_subset"]) == \
        (2, 0.0, None)  # every training image, no validation split, the asked epochs
    assert sweep_retrains.retrain_notes(sweep_id, lab) == {"digits": f"queued as run #{retrain}"}
    assert main(["sweep", "show", str(sweep_id)]) == 0
    out = capsys.readouterr().out
    assert f"retrain of the best on digits: queued as run #{retrain}" in out and f"#{retrain:<5} queued" in out


def test_a_retrain_its_owner_could_never_run_is_refused_before_anything_is_queued(lab, store, capsys):
    assert main(["sweep", "start", "--preset", "assignment", "--datasets", "digits", "--retrain-best", "500"]) == 2
    assert capsys.readouterr().err.startswith("error: retrain the best: epochs: ")
    assert store.list_runs() == [] and sweeps.sweeps(lab) == []
    with pytest.raises(SweepError, match="^retrain the best: epochs must be a whole number from 1 up; got 0$"):
        sweeps.start(TWO_TRIALS.__class__(**{**TWO_TRIALS.__dict__, "retrain_epochs": 0}), lab)


def test_a_dataset_named_twice_is_retrained_once(lab, store):
    from dataclasses import replace

    sweep_id = sweeps.start(replace(TWO_TRIALS, datasets=("digits", "digits")), lab)  # a bug's traceback before
    assert len(sweeps.runs_frame(sweep_id, lab)) == 4
    assert list(sweep_retrains.retrain_notes(sweep_id, lab)) == ["digits"]


def test_a_students_retrain_is_queued_as_the_student_under_the_class_limits(lab, store, monkeypatch):
    monkeypatch.setenv("TRAINLAB_CLASSROOM", "1")
    from core.settings import load_settings

    settings = load_settings()
    for name, role in (("tess", "teacher"), ("amy", "student")):
        accounts.add(name, role, f"{name}-password", settings)
    tess, amy = Actor("tess", TEACHER), Actor("amy", STUDENT)
    class_service.set_rules({"epochs": "3"}, settings, actor=tess)
    with pytest.raises(SweepError, match="^retrain the best: limit: 5 epochs is over the class limit of 3"):
        sweeps.start(TWO_TRIALS.__class__(**{**TWO_TRIALS.__dict__, "retrain_epochs": 5}), settings, amy)
    sweep_id = sweeps.start(TWO_TRIALS, settings, amy)
    for run_id in sweeps.runs_frame(sweep_id, settings, amy)["run"]:
        assert execute_run(int(run_id), settings) == SUCCEEDED
    (retrain,) = sweep_retrains.queue_due(settings)
    assert store.get(retrain).owner == "amy"
