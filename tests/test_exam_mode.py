"""Exam mode (hide-others on): nothing of another student's reaches a student, through any service door
(runs, metrics, sweeps, tags, sweep names, checklists, boards, downloads, counts) or any page."""
from dataclasses import dataclass

import pytest
from streamlit.testing.v1 import AppTest

from core.domain.config import TrainConfig
from core.domain.run_query import RunQuery
from core.domain.statuses import SUCCEEDED
from core.domain.sweep_spec import SweepSpec, Variant
from core.services import accounts, jobs, lessons, run_models, sweeps
from core.services import classroom as class_service
from core.services.permissions import PermissionDenied
from core.store.queries import relabel
from core.store.runs import MetricPoint
from tests.conftest import AMY, BEN, PROJECT_ROOT, TESS

SECRET = "ben-secret-sweep"


@dataclass
class Class:
    """What the fixture made: ben's finished run, his queued run and his sweep; amy's own run."""

    ben_run: int
    ben_queued: int
    ben_trial: int
    ben_sweep: int
    amy_run: int


def _finish(store, run_id: int, accuracy: float) -> None:
    store.claim(run_id, 1, "host")
    store.report(run_id, [MetricPoint("epoch", 1, 1.0, 1.0, "val_accuracy", accuracy)], 1, 1, 1.0, None)
    store.finish(run_id, SUCCEEDED, test_accuracy=accuracy)


@pytest.fixture
def exam(classroom, store) -> tuple:
    """The class in exam mode: ben has a finished, tagged run with a model file, a queued run and a sweep."""
    settings = classroom
    spec = SweepSpec(name=SECRET, datasets=("digits",), variants=(Variant("mlp", "mlp"),), optimizers=("adam",),
                     learning_rates=(1e-2,), batch_sizes=(16,), epochs=(1,))
    ben_sweep = sweeps.start(spec, settings, actor=BEN)
    ben_trial = int(sweeps.runs_frame(ben_sweep, settings, actor=BEN)["run"].iloc[0])
    _finish(store, ben_trial, 0.9)
    ben_run = jobs.submit(TrainConfig(name="ben's finished run", epochs=1), settings, actor=BEN)
    _finish(store, ben_run, 0.8)
    relabel(store, ben_run, "ben's finished run", "", ["ben-tag"])
    (settings.runs_dir / str(ben_run)).mkdir(parents=True)
    (settings.runs_dir / str(ben_run) / "model.keras").write_bytes(b"stand-in")
    ben_queued = jobs.submit(TrainConfig(name="ben's queued run", epochs=1, dataset="digits", optimizer="sgd"),
                             settings, actor=BEN)
    amy_run = jobs.submit(TrainConfig(name="amy's run", epochs=1), settings, actor=AMY)
    class_service.set_rules({"hide-others": "on"}, settings, actor=TESS)
    return settings, Class(ben_run, ben_queued, ben_trial, ben_sweep, amy_run)


# Each door answers: does what `actor` gets from it show something of ben's? A refusal shows nothing.
DOORS = {
    "list_runs": lambda s, a, c: c.ben_run in {r.id for r in jobs.list_runs(s, actor=a)},
    "query": lambda s, a, c: c.ben_run in {r.id for r in jobs.query(RunQuery(), s, actor=a)[0]},
    "query by sweep": lambda s, a, c: bool(jobs.query(RunQuery(sweep=c.ben_sweep), s, actor=a)[1]),
    "get_run": lambda s, a, c: jobs.get_run(c.ben_run, s, actor=a) is not None,
    "runs_by_id": lambda s, a, c: bool(jobs.runs_by_id([c.ben_run], s, actor=a)),
    "run_metrics": lambda s, a, c: len(jobs.run_metrics(c.ben_run, s, actor=a)) > 0,
    "metrics_of": lambda s, a, c: len(jobs.metrics_of([c.ben_run, c.amy_run], s, actor=a)) > 0,
    "filter tags": lambda s, a, c: "ben-tag" in jobs.filter_values(s, actor=a)["tag"],
    "filter optimizers": lambda s, a, c: "sgd" in jobs.filter_values(s, actor=a)["optimizer"],
    "summary counts": lambda s, a, c: jobs.summary(s, actor=a).finished > 0,
    "model_file": lambda s, a, c: jobs.model_file(c.ben_run, s, actor=a) is not None,
    "run_folder": lambda s, a, c: jobs.run_folder(c.ben_run, s, actor=a) is not None,
    "sweeps": lambda s, a, c: SECRET in {row.name for row in sweeps.sweeps(s, actor=a)},
    "sweep get": lambda s, a, c: sweeps.get(c.ben_sweep, s, actor=a).name == SECRET,
    "sweep is_active": lambda s, a, c: sweeps.is_active(c.ben_sweep, s, actor=a) in (True, False),
    "sweep results (CSV)": lambda s, a, c: str(c.ben_trial) in sweeps.results_csv(sweeps.runs_frame(c.ben_sweep, s,
                                                                                                   actor=a)),
    "sweep_note": lambda s, a, c: sweeps.sweep_note(c.ben_trial, s, actor=a) is not None,
    "assignment checklist": lambda s, a, c: len(lessons.assignment_checklist(c.ben_sweep, s, actor=a)) > 0,
    "model_input": lambda s, a, c: run_models.model_input(c.ben_run, s, actor=a).dataset == "digits",
    "test_images": lambda s, a, c: len(run_models.test_images(c.ben_run, 0, 2, s, actor=a)[0]) == 2,
    "queue places": lambda s, a, c: c.ben_queued in class_service.queue_places(s, actor=a),
}
HIDDEN = (jobs.JobError, run_models.NoModel, PermissionDenied)
# In exam mode a queued run's place and likely start would tell a student of the others' runs ahead of it.
SHOWN_TO_NO_STUDENT = {"queue places"}


def _reveals(door, settings, actor, made) -> bool:
    try:
        return bool(DOORS[door](settings, actor, made))
    except HIDDEN:
        return False


@pytest.mark.parametrize("door", DOORS)
def test_exam_mode_hides_another_students_work_at_every_service_door(exam, door):
    settings, made = exam
    assert _reveals(door, settings, TESS, made)  # the door does show ben's work to the teacher
    if door not in SHOWN_TO_NO_STUDENT:
        assert _reveals(door, settings, BEN, made)  # and to ben
    assert not _reveals(door, settings, AMY, made)  # never to amy
    class_service.set_rules({"hide-others": "off"}, settings, actor=TESS)
    assert _reveals(door, settings, AMY, made)  # outside exam mode the class's work is read-only, but seen


def test_exam_mode_refuses_acting_on_another_students_sweep_as_if_it_were_not_there(exam):
    settings, made = exam
    for act in (lambda: sweeps.cancel(made.ben_sweep, settings, actor=AMY),
                lambda: sweeps.retrain_best(made.ben_sweep, "digits", 1, settings=settings, actor=AMY)):
        with pytest.raises(jobs.JobError, match=f"^sweep: there is no sweep #{made.ben_sweep}$"):
            act()


def test_the_class_tables_are_a_teachers_only(exam):
    settings, _ = exam
    for read in (lambda a: class_service.students(settings, actor=a),
                 lambda a: class_service.assignment_board("digits", 0.5, settings, actor=a),
                 lambda a: class_service.usual_dataset(settings, actor=a)):
        with pytest.raises(PermissionDenied, match="only a teacher"):
            read(AMY)
        read(TESS)


def test_in_classroom_mode_a_read_without_a_signed_in_actor_is_refused(exam):
    settings, made = exam
    for read in (lambda: jobs.list_runs(settings), lambda: jobs.get_run(made.ben_run, settings),
                 lambda: sweeps.sweeps(settings), lambda: jobs.filter_values(settings)):
        with pytest.raises(PermissionDenied, match="^sign-in: this needs a signed-in user"):
            read()


# -- the pages, as amy's signed-in browser opens them ------------------------------------------------------


@pytest.fixture
def amy_signed_in(exam, monkeypatch):
    """Amy's browser: a real session from the sign-in service, behind the gate (as serve.py serves it)."""
    from core.web import signin

    token = accounts.sign_in("amy", "amy-password", exam[0]).token
    monkeypatch.setattr("pages.common.auth._session_token", lambda: token)
    monkeypatch.setitem(signin._gate, "active", True)
    return exam


def _page(path: str, **params) -> AppTest:
    at = AppTest.from_file(str(PROJECT_ROOT / "app.py"), default_timeout=60)
    at.switch_page(path)
    for key, value in params.items():
        at.query_params[key] = value
    return at.run()


def _texts(at: AppTest) -> str:
    """Every text, option and table cell the page drew, as one string to search."""
    parts = [e.value.to_csv() for e in at.dataframe]
    parts += [repr(getattr(e, "options", "")) for e in (*at.selectbox, *at.multiselect)]
    parts += [e.value for e in (*at.markdown, *at.caption, *at.info, *at.text, *at.success, *at.error)]
    return "\n".join(parts)


def test_the_sweeps_page_shows_a_student_only_their_own_sweeps_in_exam_mode(amy_signed_in):
    at = _page("pages/sweeps.py")
    assert not at.exception
    assert SECRET not in _texts(at)
    assert at.radio(key="sweep_view").value == "New sweep"  # amy has no sweep of her own


def test_the_runs_page_filters_list_only_a_students_own_tags_and_sweeps(amy_signed_in):
    _, made = amy_signed_in
    at = _page("pages/runs.py")
    assert not at.exception
    assert "ben-tag" not in at.selectbox(key="f_tag").options
    assert all(SECRET not in option for option in at.selectbox(key="f_sweep").options)
    assert "ben's" not in _texts(at)
    linked = _page("pages/runs.py", run=str(made.ben_run), runs=f"{made.ben_run},{made.amy_run}")
    assert not linked.exception
    assert "ben's" not in _texts(linked)  # a shared link to his run or comparison shows nothing of it


def test_the_assignment_lesson_does_not_grade_another_students_sweep(amy_signed_in):
    at = _page("pages/lessons.py", lesson="10")
    assert not at.exception
    assert SECRET not in _texts(at)
    assert any("No sweep yet" in i.value for i in at.info)


def test_home_counts_only_a_students_own_runs_in_exam_mode(amy_signed_in):
    at = AppTest.from_file(str(PROJECT_ROOT / "app.py"), default_timeout=60).run()
    assert not at.exception
    assert {m.label: m.value for m in at.metric}["Queued"] == "1"  # amy's one run; ben has one more queued
    assert "ben's" not in _texts(at)


def test_another_students_run_offers_no_rename_or_tag_form(amy_signed_in):
    settings, made = amy_signed_in
    class_service.set_rules({"hide-others": "off"}, settings, actor=TESS)  # the class's runs are seen, read-only
    at = _page("pages/runs.py", run=str(made.ben_run))
    assert not at.exception
    assert any("ben's run: read-only" in c.value for c in at.caption)
    assert not [b for b in at.button if b.key == f"relabel_{made.ben_run}"]
    assert not [t for t in at.text_input if t.key == f"rename_{made.ben_run}"]
    mine = _page("pages/runs.py", run=str(made.amy_run))
    assert [b for b in mine.button if b.key == f"relabel_{made.amy_run}"]  # her own run keeps its form


def test_exam_mode_hides_another_students_uploads_and_refuses_training_on_them(exam):
    import io

    import numpy as np

    from core.services import catalog

    settings, _ = exam
    buffer = io.BytesIO()
    rng = np.random.default_rng(0)
    np.savez(buffer, x_train=rng.integers(0, 255, (12, 6, 6), np.uint8), y_train=np.arange(12) % 2,
             x_test=rng.integers(0, 255, (4, 6, 6), np.uint8), y_test=np.arange(4) % 2)
    key = catalog.save_upload("mine.npz", "bens-data", io.BytesIO(buffer.getvalue()), settings, BEN)
    assert key in {d.key for d in catalog.entries(settings, BEN)} and key in {d.key for d in
                                                                              catalog.entries(settings, TESS)}
    assert key not in {d.key for d in catalog.entries(settings, AMY)}
    from tests.test_uploads import _png, _zip

    folder = catalog.save_upload("pets.zip", "bens-pets", io.BytesIO(_zip(
        {f"pets/{c}/{i}.png": _png() for c in ("cat", "dog") for i in range(3)})), settings, BEN)
    seen = {d.key for d in catalog.entries(settings, AMY)}
    assert not any(k.startswith(folder) for k in seen)  # nor his unpacked .zip, whatever its inner folder
    assert any(k.startswith(folder) for k in {d.key for d in catalog.entries(settings, BEN)})
    with pytest.raises(PermissionDenied, match="^dataset: there is no dataset 'upload:bens-data' for you"):
        jobs.submit(TrainConfig(dataset=key, epochs=1, batch_size=4), settings, actor=AMY)
    assert jobs.submit(TrainConfig(dataset=key, epochs=1, batch_size=4), settings, actor=BEN)
    class_service.set_rules({"hide-others": "off"}, settings, actor=TESS)
    assert key in {d.key for d in catalog.entries(settings, AMY)}  # outside exam mode the class shares data


def test_a_student_is_not_shown_the_servers_folders_or_install_commands(classroom):
    from core.services import catalog

    student = {d.key: d for d in catalog.entries(classroom, AMY)}
    teacher = {d.key: d for d in catalog.entries(classroom, TESS)}
    assert "apt-get" in teacher["fashion_mnist"].hint and str(classroom.keras_home) in teacher["fashion_mnist"].hint
    assert student["fashion_mnist"].hint == "ask your teacher to add it to the class's server"
    assert all(str(classroom.home) not in d.location and "/" not in d.location for d in student.values())


def test_the_epochs_field_names_the_class_limit_a_student_is_held_to(amy_signed_in):
    settings, _ = amy_signed_in
    class_service.set_rules({"epochs": "10"}, settings, actor=TESS)
    at = _page("pages/train.py")
    assert not at.exception
    assert at.number_input(key="epochs").label == "Epochs (at most 10)"
    assert class_service.epoch_cap(TESS, settings) == settings.max_epochs  # teachers are not limited


def test_the_class_boards_target_follows_the_chosen_dataset(exam, fashion, monkeypatch):
    from core.web import signin

    token = accounts.sign_in("tess", "tess-password", exam[0]).token
    monkeypatch.setattr("pages.common.auth._session_token", lambda: token)
    monkeypatch.setitem(signin._gate, "active", True)
    at = _page("pages/teacher.py")
    assert not at.exception
    assert at.selectbox(key="board_dataset").value == "digits"  # the one here that the class uses
    assert at.text_input(key="board_target_digits").value == "90"  # no course target for digits: 90 %
    at.selectbox(key="board_dataset").set_value("fashion_mnist").run()
    assert at.text_input(key="board_target_fashion_mnist").value == "90.5"  # the course's target for it


def test_the_class_page_turns_exam_mode_on_with_a_switch_and_saves_limits_by_their_meaning(exam, monkeypatch):
    from core.web import signin

    settings, _ = exam
    token = accounts.sign_in("tess", "tess-password", settings).token
    monkeypatch.setattr("pages.common.auth._session_token", lambda: token)
    monkeypatch.setitem(signin._gate, "active", True)
    class_service.set_rules({"hide-others": "off"}, settings, actor=TESS)
    at = _page("pages/teacher.py")
    switch = at.toggle(key="limit_hide-others")
    assert switch.label == "Students see only their own runs (an exam)" and switch.value is False
    assert at.text_input(key="limit_epochs").label == "Epochs per run"
    switch.set_value(True)
    at.text_input(key="limit_epochs").set_value("12")
    at.button[[b.label for b in at.button].index("Save limits")].click().run()
    assert not at.exception and not at.error
    rules = class_service.rules(settings)
    assert rules.hide_others_runs and rules.max_epochs == 12


@pytest.mark.parametrize("who, sees_it", [("amy", False), ("tess", True)])
def test_a_failed_runs_traceback_is_for_the_teacher_never_a_student(classroom, monkeypatch, who, sees_it):
    """Found by a hostile probe: a run that failed on a student's broken upload showed its traceback, server
    paths and all, to every student who opened it."""
    from core.store.runs import RunStore
    from core.web import signin

    store = RunStore(classroom.store_location)
    run_id = store.create_run("broken", {"dataset": "digits"}, owner="amy")
    assert store.claim(run_id, pid=1, host="elsewhere") is not None
    store.finish(run_id, "failed", error="dataset: cannot read it", traceback="Traceback (most recent call last):\n  x")
    token = accounts.sign_in(who, f"{who}-password", classroom).token
    monkeypatch.setattr("pages.common.auth._session_token", lambda: token)
    monkeypatch.setitem(signin._gate, "active", True)
    at = _page("pages/runs.py", run=str(run_id))
    assert not at.exception and any("cannot read it" in e.value for e in at.error)
    assert any(e.label == "Traceback" for e in at.expander) == sees_it
