"""What the Lessons page does: say what a lesson needs that this machine lacks, queue a lesson's runs with
the course's settings, find a student's earlier runs of it, and grade a sweep against the assignment.

A lesson never starts something that would fail for want of data: `readiness` names what is missing and
how to get it, and `start` refuses (LessonUnavailable, one line) before anything is queued.
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from core.data.datasets import DatasetInfo
from core.domain.config import TrainConfig
from core.domain.grading import GradedRun, Point, grade
from core.domain.lessons import BY_KEY, IMAGENET_RESNET50_NOTOP, Lesson, datasets_needed, is_dogs_and_cats, run_settings
from core.domain.people import STUDENT, Actor
from core.domain.run_query import RunQuery
from core.errors import Refusal
from core.services import catalog, jobs, sweeps
from core.services.permissions import acting, owner_of
from core.settings import Settings, load_settings


class LessonUnavailable(Refusal, ValueError):
    """A lesson's data or weights are not on this machine; the message says what and how to get it."""


@dataclass(frozen=True)
class Readiness:
    """Whether a lesson can run here; if not, one line on what is missing and how to get it."""

    missing: str = ""
    dataset: str | None = None  # lesson 7: the image folder of dogs and cats it found

    @property
    def ready(self) -> bool:
        """Nothing is missing."""
        return not self.missing


def lesson(key: str) -> Lesson:
    """The lesson with URL key `key` ("6"); LessonUnavailable for an unknown one."""
    if key not in BY_KEY:
        # The key comes from a link someone may have crafted: it is not repeated back.
        raise LessonUnavailable(f"lesson: this link names no lesson; the lessons are 1 to {len(BY_KEY)}")
    return BY_KEY[key]


def _dogs_and_cats(entries: list[DatasetInfo]) -> DatasetInfo | None:
    return next((d for d in entries if d.source == "folder" and d.available and is_dogs_and_cats(d.class_names)), None)


def readiness(item: Lesson, settings: Settings | None = None, entries: list[DatasetInfo] | None = None,
              actor: Actor | None = None) -> Readiness:
    """What the lesson needs that this machine lacks (datasets, an image folder, pretrained weights);
    `entries` is the dataset catalog `actor` sees when the caller has it already (a page checking every lesson)."""
    settings = settings or load_settings()
    entries = catalog.entries(settings, actor) if entries is None else entries
    student = settings.classroom and actor is not None and actor.role == STUDENT  # the server's folders: not theirs
    if item.needs_image_folder:
        found = _dogs_and_cats(entries)
        if found is None:
            where = "on the class's server (ask your teacher)" if student else f"below {settings.data_root}"
            return Readiness(f"needs an image folder of dogs and cats: put a folder with cats/ and dogs/ "
                             f"sub-folders of photos {where}, or upload a .zip of them on the Data page")
        return Readiness(dataset=found.key)
    by_key = {d.key: d for d in entries}
    for key in datasets_needed(item):
        info = by_key.get(key)
        if info is None or not info.available:
            title = info.title if info else key
            return Readiness(f"needs {title}" + (f": {info.hint}" if info and info.hint else ""))
    if any(run.architecture == "resnet50_transfer" for run in item.runs):
        weights = settings.keras_home / "models" / IMAGENET_RESNET50_NOTOP
        if not weights.is_file():
            if student:
                return Readiness("needs the ImageNet weights of ResNet-50: ask your teacher to add them to the "
                                 "class's server")
            return Readiness(f"needs the ImageNet weights of ResNet-50 ({IMAGENET_RESNET50_NOTOP}, 94 MB) in "
                             f"{weights.parent}: with a network, Keras downloads them at the first run of "
                             "keras.applications.ResNet50(weights='imagenet'); offline, copy the file there")
    return Readiness()


def configs(item: Lesson, settings: Settings | None = None, actor: Actor | None = None) -> list[TrainConfig]:
    """The runs the lesson queues, with the course's settings; LessonUnavailable when its data is missing."""
    ready = readiness(item, settings, actor=actor)
    if not ready.ready:
        raise LessonUnavailable(f"lesson {item.number}: {ready.missing}")
    return [TrainConfig(**run_settings(run, ready.dataset)) for run in item.runs]


def start(item: Lesson, settings: Settings | None = None, actor: Actor | None = None) -> list[int]:
    """Queue the lesson's runs together (all refused if one is); returns their ids."""
    settings = settings or load_settings()
    return jobs.submit_all(configs(item, settings, actor), settings, actor=actor)


def earlier_runs(item: Lesson, settings: Settings | None = None, actor: Actor | None = None) -> list[int]:
    """The newest run of each of the lesson's runs that `actor` queued before, or [] unless all exist."""
    settings = settings or load_settings()
    owner = owner_of(acting(actor, settings))
    found, _ = jobs.query(RunQuery(text=f"Lesson {item.number} ·", page_size=500), settings, actor)
    newest = {}
    for run in found:  # newest first
        if run.owner == owner:
            newest.setdefault(run.name, run.id)
    ids = [newest.get(run.name) for run in item.runs]
    return ids if ids and all(ids) else []


def assignment_checklist(sweep_id: int, settings: Settings | None = None, actor: Actor | None = None) -> list[Point]:
    """The assignment's eight grading points for the runs of sweep `sweep_id` (trials and retrains); JobError
    for a sweep that is another's, in exam mode."""
    runs = sweeps.runs_frame(sweep_id, settings, actor)
    return grade([GradedRun(model=str(row["architecture"]), optimizer=str(row["optimizer"]),
                            config=TrainConfig.from_json(row["config"]).to_dict(), status=row["status"],
                            test_accuracy=float(row["test_accuracy"]) if pd.notna(row["test_accuracy"]) else None,
                            run=int(row["run"]), role=str(row["role"]))
                  for _, row in runs.iterrows()])
