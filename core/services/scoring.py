"""Evaluate-only runs and the leaderboard (issue 31): a trained model file scored on a dataset's test split without
training, as a run of its own kind that goes through the queue and a worker like any other, so a teacher can put
every student's submitted model on one table scored on the same test images (the way Kaggle InClass scores
submissions). The Streamlit process never loads a student's file: the worker does."""
from __future__ import annotations

from dataclasses import dataclass

from core.data.datasets import get_info
from core.domain.config import ConfigError, TrainConfig
from core.domain.model_files import file_id
from core.domain.people import Actor
from core.domain.statuses import EVALUATED
from core.services import jobs, model_files
from core.services.classroom import visible_owner
from core.services.permissions import acting
from core.settings import Settings, load_settings
from core.store.model_files import model_files as all_model_files
from core.store.queries import evaluated_runs
from core.store.runs import RunStore


def evaluate(model_id: int, dataset: str, settings: Settings | None = None, actor: Actor | None = None,
             test_subset: int | None = None) -> int:
    """Queue a run that scores model file `model_id`'s own weights on `dataset`'s test split (all of it, or a
    stratified `test_subset`); its id. ConfigError in one line when the file is not one `actor` may use or does
    not fit the dataset; nothing is queued then."""
    settings = settings or load_settings()
    actor = acting(actor, settings)
    found = model_files.usable_file(model_id, settings, actor)
    if found is None:
        raise ConfigError("architecture", f"model file #{model_id} is not one you may use here; "
                          "`python -m core models list` shows yours")
    config = TrainConfig(dataset=dataset, architecture=found.key, arch_options={"weights": "file"}, epochs=1,
                         validation_split=0.0, test_subset=test_subset, name=f"{found.title} scored on {dataset}")
    return jobs.submit_all([config], settings, actor, kind=EVALUATED)[0]


@dataclass(frozen=True)
class Score:
    """One model file's latest score on a dataset's test split: a leaderboard's row."""

    rank: int
    model: str  # "tess / my-cnn"
    owner: str
    test_accuracy: float
    test_loss: float
    test_images: int
    run_id: int
    scored_at: float


def leaderboard(dataset: str, settings: Settings | None = None, actor: Actor | None = None) -> list[Score]:
    """Every model file's latest score on all of `dataset`'s test images, best first (ties: the earlier scored
    first). Scores on a subset of the test split are left out: the table compares the same images only. In exam
    mode a student sees their own rows only."""
    settings = settings or load_settings()
    store = RunStore(settings.store_location)
    titles = {row.id: row.title for row in all_model_files(store)}  # the rows shown are already the visible ones
    info = get_info(dataset, settings)
    latest: dict[int, object] = {}
    for run in evaluated_runs(store, dataset, visible_owner(actor, settings)):  # newest first
        config = TrainConfig.from_json(run.config)
        key = file_id(config.architecture)
        if config.test_subset is None and key not in latest and run.test_accuracy is not None:
            latest[key] = run
    ordered = sorted(latest.items(), key=lambda item: (-item[1].test_accuracy, item[1].finished_at or 0))
    return [Score(rank, titles.get(key, f"model file #{key} (removed)"), run.owner,
                  run.test_accuracy, run.test_loss, info.test_size if info else 0, run.id, run.finished_at or 0)
            for rank, (key, run) in enumerate(ordered, start=1)]


def latest(model_id: int, dataset: str, settings: Settings | None = None, actor: Actor | None = None):
    """The newest evaluate-only run of model file `model_id` on `dataset` that `actor` may see, whatever its status
    (the page says when one is queued, scoring or failed), or None."""
    settings = settings or load_settings()
    found = evaluated_runs(RunStore(settings.store_location), dataset, visible_owner(actor, settings),
                           f"file:{model_id}", succeeded=False)
    return found[0] if found else None
