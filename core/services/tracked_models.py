"""A tracked run's trained model, sent over the class's API from a student's laptop (`save_model=True` on the
`trainlab` client): checked like any model file a student hands in (core/services/model_files.py: the archive
and its allowlist first, then loaded with safe_mode in a process of its own), kept as the student's model file
(its layers, diagram, feature maps and score on the Models page, where it can also be trained again), and kept in
the run's folder for the run's Download button. The dashboard never loads it in its own process: the run's
"Look inside" says where to look instead (MARKER)."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

from core.domain.model_files import ModelFile
from core.domain.people import Actor
from core.domain.statuses import RUNNING, SUCCEEDED
from core.domain.tracked_runs import TrackedRunRefused
from core.services import model_files
from core.services.tracking import reporter_run, store_of
from core.settings import Settings, load_settings
from core.store.model_files import model_file

MARKER = "model_file.json"  # in a run's folder: its model.keras came from a laptop and is this model file


def linked_model_file(run_id: int, settings: Settings) -> int | None:
    """The model file a run's model was kept as when it came over the class's API, else None."""
    try:
        return int(json.loads((settings.runs_dir / str(run_id) / MARKER).read_text())["model_file"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _name(run_id: int, run_name: str) -> str:
    """The model file's name: the run's number and as much of its name as the name rule takes."""
    return f"run {run_id} {model_files.name_from_file(run_name + '.keras')}"[:40].strip(" .-_")


def already_kept(run_id: int, key: str, settings: Settings, actor: Actor) -> ModelFile | None:
    """Before a model's file is read: refuse (one line) one its sender may not send for run `run_id` (not a run its
    reporter started, still training, not succeeded); the model file kept for it already (sent again), or None."""
    store = store_of(settings)
    reporter_run(store, run_id, key, actor, "model")
    linked = linked_model_file(run_id, settings)
    if linked is not None and (kept := model_file(store, linked)) is not None:
        return kept
    run = store.get(run_id)
    if run.status == RUNNING:
        raise TrackedRunRefused(f"model.run: #{run_id} is still training; send its model after fit ends")
    if run.status != SUCCEEDED:
        raise TrackedRunRefused(f"model.run: #{run_id} ended {run.status}; only a run that succeeded keeps a model")
    return None


def receive(run_id: int, key: str, path: Path, settings: Settings, actor: Actor) -> ModelFile:
    """Keep the model a reporter sent for its ended run `run_id` (the file at `path`, already bounded in size):
    checked and stored as `actor`'s model file and as the run's model. Sent again (its answer was lost), the
    same model file answers. A Refusal (one line) stores nothing."""
    kept = already_kept(run_id, key, settings, actor)
    if kept is not None:
        return kept
    run = store_of(settings).get(run_id)
    kept = model_files.add(path, _name(run_id, run.name), settings, actor)
    folder = settings.runs_dir / str(run_id)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / MARKER).write_text(json.dumps({"model_file": kept.id}))  # before the model: never loaded here
    shutil.copyfile(settings.models_dir / f"{kept.id}.keras", folder / "model.part")
    (folder / "model.part").replace(folder / "model.keras")
    return kept


def sent_model_note(run_id: int, settings: Settings | None = None, actor: Actor | None = None) -> str | None:
    """What a run's page says in place of "Look inside the model" when its model was sent over the class's API
    (None for any other run)."""
    settings = settings or load_settings()
    kept = linked_model_file(run_id, settings)
    if kept is None:
        return None
    found = model_files.usable_file(kept, settings, actor)
    name = f"the model file “{found.title}”" if found is not None else f"model file #{kept}"
    return (f"Its trained model was sent by its script over the class's API and is kept as {name}: look inside it "
            "on the Models page (its layers, diagram, feature maps and score). The dashboard does not load a model "
            "a script sent in its own process.")
