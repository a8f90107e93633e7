"""Figure 11: what looking inside a finished run's model costs the Streamlit process, with the shared model
cache (core/services/run_models.py) and without it.

Each case runs in a fresh process standing for the Streamlit process: TensorFlow imported, then 30
"sessions" each classify the dog photo with the run's model. Shared: through `run_models`, which loads the
model once for all of them. Not shared: each session loads its own copy and keeps it, as a per-session
cache (`st.session_state`) would. Measured: the process's resident memory (VmRSS) before and after, and
the seconds the 30 classifications took.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from bench.common import Lab

PROJECT_ROOT = Path(__file__).resolve().parent.parent
MODELS = {"deep MLP (CIFAR-10 shape, 17.1 M parameters)": ("deep_mlp", (32, 32, 3)),
          "small CNN (CIFAR-10 shape, 94,698 parameters)": ("small_cnn", (32, 32, 3))}
CHILD = r"""
import json, os, sys, time
import numpy as np
sys.path.insert(0, {root!r})
from bench.watching_sessions import rss_mb
from core.services import previews, run_models
from core.settings import load_settings
from core.training import inspection
import tensorflow  # noqa: F401  (the Streamlit process has it once a page builds a model)
settings, run_id, shared, sessions = load_settings(), {run_id}, {shared}, {sessions}
photo = previews.photo(previews.photos(settings)["dog"])
before = rss_mb(os.getpid())
started, kept = time.monotonic(), []
for _ in range(sessions):
    if shared:
        run_models.classify(run_id, photo, settings)
    else:
        model = inspection.load(settings.runs_dir / str(run_id) / "model.keras")
        kept.append(model)
        inspection.predict(model, np.zeros(model.input_shape[1:], np.float32))
print(json.dumps({{"before": before, "after": rss_mb(os.getpid()), "seconds": time.monotonic() - started}}))
"""


def _saved_run(settings, key: str, shape: tuple) -> int:
    """A succeeded run whose model file is `key` built for `shape` (untrained: memory is the same)."""
    import keras

    from core.domain.config import TrainConfig
    from core.domain.statuses import SUCCEEDED
    from core.store.runs import RunStore
    from core.training.builders import build_model

    store = RunStore(settings.store_location)
    config = TrainConfig(name=key, architecture=key, dataset="cifar10")
    run_id = store.create_run(key, config.to_dict(), epochs=1)
    store.claim(run_id, 1, "bench")
    folder = settings.runs_dir / str(run_id)
    folder.mkdir(parents=True, exist_ok=True)
    keras.saving.save_model(build_model(key, shape, 10), folder / "model.keras")
    store.finish(run_id, SUCCEEDED, test_accuracy=0.5, test_loss=1.0, train_seconds=1.0)
    store.close()
    return run_id


def run(lab: Lab, quick: bool = False, sessions: int = 30) -> list[dict]:
    """One row per model and case: RSS before and after `sessions` sessions looked at it, and the time."""
    sessions = 4 if quick else sessions
    lab.make_data()  # the CIFAR-10-shaped files the runs' dataset needs
    rows = []
    with lab.home("model_cache") as settings:
        for label, (key, shape) in MODELS.items():
            run_id = _saved_run(settings, key, shape)
            for shared in (True, False):
                code = CHILD.format(root=str(PROJECT_ROOT), run_id=run_id, shared=shared, sessions=sessions)
                out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
                figures = json.loads(out.stdout.strip().splitlines()[-1])
                rows.append({"model": label, "cache": "shared (run_models)" if shared else "one copy per session",
                             "sessions": sessions, "RSS before (MB)": round(figures["before"]),
                             "RSS after (MB)": round(figures["after"]),
                             "growth (MB)": round(figures["after"] - figures["before"]),
                             "seconds": round(figures["seconds"], 1)})
                print(rows[-1], flush=True)
    return rows


if __name__ == "__main__":
    run(Lab(), quick="--quick" in sys.argv)
