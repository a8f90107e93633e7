"""The teacher's side of classroom mode: the class's limits, exam mode, the queue's order and likely
starts, who trains what, and the assignment board. Limits bind students only; teachers and the
operator are never limited."""
from __future__ import annotations

import time

import pandas as pd

from core.domain.class_rules import ClassRules, LimitError, check_runs, check_tracked_run
from core.domain.config import ModelFiles, TrainConfig, model_parameters
from core.domain.fair_queue import Place, Training, Waiting, schedule
from core.domain.people import STUDENT, Actor
from core.domain.statuses import QUEUED, RUNNING, SUCCEEDED
from core.services.accounts import record
from core.services.capacity import runs_at_once
from core.services.estimates import estimate
from core.services.permissions import PermissionDenied, acting
from core.settings import Settings, load_settings
from core.store.accounts import list_users, save_class_settings
from core.store.queue import class_rules, owner_loads
from core.store.runs import RunStore
from core.views.csv_export import spreadsheet_csv


def _store(settings: Settings) -> RunStore:
    return RunStore(settings.store_location)


def rules(settings: Settings | None = None) -> ClassRules:
    """The class's limits and switches now."""
    return class_rules(_store(settings or load_settings()))


def set_rules(changes: dict[str, str], settings: Settings | None = None, actor: Actor | None = None) -> ClassRules:
    """Change limits by their CLI names (e.g. {"queued": "5", "hide-others": "on"}); teachers only.
    Every change is checked before any is saved (LimitError names the first bad one)."""
    settings = settings or load_settings()
    actor = acting(actor, settings)
    if not actor.is_teacher:
        raise PermissionDenied("limits: only a teacher may change the class's limits")
    updated = rules(settings)
    for key, value in changes.items():
        updated = updated.with_setting(key, value)
    save_class_settings(_store(settings), updated.to_dict())
    record(actor, "set limits", "class", ", ".join(f"{k}={v}" for k, v in changes.items()), settings)
    return updated


def check_submission(configs: list[TrainConfig], actor: Actor, settings: Settings, in_one_sweep: bool = False,
                     model_files: ModelFiles | None = None) -> None:
    """Refuse (LimitError, naming the limit and its value) a student's runs over the class's limits."""
    if actor.role != STUDENT:
        return
    limits = rules(settings)
    if limits == ClassRules(hide_others_runs=limits.hide_others_runs):
        return  # nothing is limited: no parameter counts to make
    params = [model_parameters(c, settings, model_files) for c in configs] if limits.max_params is not None else []
    check_runs(limits, [c.epochs for c in configs], params, _store(settings).queued_count(actor.name), in_one_sweep)


def check_tracked(actor: Actor, epochs: int, params: int, settings: Settings) -> None:
    """Refuse (LimitError) a student's own script's run over the class's limits on epochs and parameters."""
    if actor.role == STUDENT:
        check_tracked_run(rules(settings), epochs, params)


def queue_limit(actor: Actor, settings: Settings) -> int | None:
    """The most runs `actor` may have queued at once (a student under a class limit), or None; the store
    checks it again in the transaction that adds their runs."""
    return rules(settings).max_queued if actor.role == STUDENT else None


def epoch_cap(actor: Actor | None, settings: Settings) -> int:
    """The most epochs `actor` may ask a run for: the server's cap, or the class's lower limit for a student."""
    limit = rules(settings).max_epochs if settings.classroom and actor is not None and actor.role == STUDENT else None
    return min(settings.max_epochs, limit) if limit is not None else settings.max_epochs


def visible_owner(actor: Actor | None, settings: Settings) -> str | None:
    """In exam mode, the only owner whose runs and sweeps a student sees (their own); None: everyone's are
    visible. Every read service asks here, so exam mode holds for each page, URL and download alike; in
    classroom mode a read without a signed-in actor is refused (PermissionDenied), as a change is, so a
    page that forgot to pass one cannot read with a teacher's eyes."""
    actor = acting(actor, settings)
    if actor.role != STUDENT or not rules(settings).hide_others_runs:
        return None
    return actor.name


def may_see(actor: Actor | None, owner: str, settings: Settings) -> bool:
    """Whether `actor` may see what `owner` made (false only for another's, in exam mode)."""
    wanted = visible_owner(actor, settings)
    return wanted is None or wanted == owner


def require_teacher(actor: Actor | None, settings: Settings, what: str) -> None:
    """Refuse (PermissionDenied) unless `actor` is a teacher (or the operator): the Class page's tables."""
    if not acting(actor, settings).is_teacher:
        raise PermissionDenied(f"{what}: only a teacher may see the class's {what}")


def queue_places(settings: Settings | None = None, actor: Actor | None = None) -> dict[int, Place]:
    """Each queued run's place in the start order and likely start (seconds from now); none for a student in
    exam mode."""
    settings = settings or load_settings()
    if visible_owner(actor, settings) is not None:  # exam mode: a place and a likely start tell of others' runs
        return {}
    store = _store(settings)
    queued = store.queued_runs()
    if not queued:
        return {}
    configs = [TrainConfig.from_json(config) for _, _, config, _ in queued]
    seconds = estimate(configs, store, settings).run_seconds
    waiting = [Waiting(run_id, owner, s) for (run_id, owner, _, _), s in zip(queued, seconds)]
    training = [Training(r.owner, r.eta_seconds) for r in store.list_runs([RUNNING])]
    return schedule(waiting, training, runs_at_once(settings), owner_loads(store))


def students(settings: Settings | None = None, actor: Actor | None = None) -> pd.DataFrame:
    """Per account: runs queued, running and finished, the best validation and test accuracy, last activity
    (teachers only)."""
    settings = settings or load_settings()
    require_teacher(actor, settings, "students")
    store = _store(settings)
    runs = store.list_runs()
    best_val = _best_validation(store)
    rows = []
    for user in list_users(store):
        mine = [r for r in runs if r.owner == user.name]
        rows.append({
            "user": user.name, "role": user.role,
            "queued": sum(r.status == QUEUED for r in mine), "running": sum(r.status == RUNNING for r in mine),
            "finished": sum(r.is_finished for r in mine),
            "best val accuracy": max((best_val.get(r.id) for r in mine if best_val.get(r.id) is not None),
                                     default=None),
            "best test accuracy": max((r.test_accuracy for r in mine if r.test_accuracy is not None), default=None),
            "last run": time.strftime("%H:%M", time.localtime(max(r.created_at for r in mine))) if mine else "",
        })
    return pd.DataFrame(rows, columns=["user", "role", "queued", "running", "finished", "best val accuracy",
                                       "best test accuracy", "last run"])


def assignment_board(dataset: str, target: float, settings: Settings | None = None,
                     actor: Actor | None = None) -> pd.DataFrame:
    """Each student's best finished run on `dataset`, by validation accuracy (never chosen by test), with its
    test accuracy beside it and whether that reached `target`; ranked best first (teachers only)."""
    settings = settings or load_settings()
    require_teacher(actor, settings, "assignment board")
    store = _store(settings)
    best_val = _best_validation(store)
    students_only = {u.name for u in list_users(store) if u.role == STUDENT}
    best: dict[str, tuple] = {}
    for run in store.list_runs([SUCCEEDED]):
        if run.owner not in students_only or run.config_dict.get("dataset") != dataset:
            continue
        score = best_val.get(run.id)
        key = (score if score is not None else -1.0, run.test_accuracy or 0.0)
        if run.owner not in best or key > best[run.owner][0]:
            best[run.owner] = (key, run, score)
    rows = [{"student": owner, "run": run.id, "name": run.name, "val accuracy": score,
             "test accuracy": run.test_accuracy,
             "reached": run.test_accuracy is not None and run.test_accuracy >= target}
            for owner, (_, run, score) in best.items()]
    board = pd.DataFrame(rows, columns=["student", "run", "name", "val accuracy", "test accuracy", "reached"])
    board = board.sort_values(["val accuracy", "test accuracy"], ascending=False, na_position="last")
    board.insert(0, "rank", range(1, len(board) + 1))
    missing = sorted(students_only - set(best))
    if missing:  # students with no finished run on the dataset are on the board too, unranked, at the bottom
        board = pd.concat([board, pd.DataFrame({"student": missing, "reached": False})], ignore_index=True)
        board["rank"] = board["rank"].astype("Int64")
    return board.reset_index(drop=True)


def usual_dataset(settings: Settings | None = None, actor: Actor | None = None) -> str | None:
    """The dataset students' finished runs use most (the board opens on it), or None (teachers only)."""
    settings = settings or load_settings()
    require_teacher(actor, settings, "assignment board")
    store = _store(settings)
    students_only = {u.name for u in list_users(store) if u.role == STUDENT}
    used = pd.Series([r.config_dict.get("dataset") for r in store.list_runs([SUCCEEDED]) if r.owner in students_only])
    return str(used.mode().iloc[0]) if len(used.dropna()) else None


def board_csv(board: pd.DataFrame) -> str:
    """The assignment board as CSV (shares as fractions, for a spreadsheet)."""
    return spreadsheet_csv(board)


def _best_validation(store: RunStore) -> dict[int, float]:
    from core.store.queries import best_validation_accuracy

    return best_validation_accuracy(store)


__all__ = ["ClassRules", "LimitError", "Place", "assignment_board", "board_csv", "check_submission", "epoch_cap",
           "may_see", "queue_limit", "queue_places", "require_teacher", "rules", "set_rules", "students",
           "visible_owner"]
