"""What the "Your code" page shows: how to report a student's own Keras script or notebook to this Train Lab,
in snippets made for this server (its address, the client's wheel), and a student's API keys as a table."""
from __future__ import annotations

import shlex
import time
from urllib.parse import urlsplit

import pandas as pd

TRACK_COMMAND = ".venv/bin/python -m core track my_script.py"
ARGUMENTS = ("Anything after the script's name is the script's own (`… track train.py --epochs 5` hands `--epochs 5` "
             "to train.py); Train Lab's options come before it: `--dataset fashion_mnist`, `--name …`.")
AUTOLOG = "import trainlab\n\ntrainlab.autolog()  # every model.fit after this is a run"
CALLBACK = ("from trainlab import TrainLabCallback\n\n"
            "model.fit(x, y, validation_split=0.1, epochs=5,\n"
            "          callbacks=[TrainLabCallback(dataset=\"fashion_mnist\")])")
CAPTURED = ("Each `fit` becomes a run: its live loss and accuracy, every metric Keras reports at each epoch's end "
            "(validation included), progress and time left, the optimizer and its settings, learning rate, batch "
            "size, epochs, how much training and validation data, the model's layers and parameter count, the "
            "input shape, the script's name and arguments, and a `model.evaluate` after `fit` as its test "
            "figures. Ctrl+C ends it as cancelled, an error as failed with the error, and Cancel on the Runs page "
            "stops `fit` at its next batch. With `save_model=True` (or `track --save-model`) a fit that succeeded "
            "also hands its trained model over; sent to a class's server it is checked there and kept as your "
            "model file on the Models page.")


def server_address(page_url: str | None) -> str:
    """The address the browser reached this server at ("http://10.0.0.5:8501"), for the laptop commands."""
    parts = urlsplit(page_url or "")
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme in ("http", "https") and parts.netloc else \
        "http://SERVER:8501"


def install_command(address: str, wheel: str) -> str:
    """The one `pip install` a laptop needs, from this server alone."""
    return f"pip install {shlex.quote(f'{address}/client/{wheel}')}"


def environment(address: str, key: str = "YOUR_KEY") -> str:
    """The two settings a laptop's script reads, for a POSIX shell and for Windows' PowerShell (one per line:
    a key and an address on one line were cut at 1024 px)."""
    return (f"# macOS, Linux\nexport TRAINLAB_URL={shlex.quote(address)}\nexport TRAINLAB_KEY={shlex.quote(key)}\n"
            f"# Windows PowerShell\n$env:TRAINLAB_URL = \"{address}\"\n$env:TRAINLAB_KEY = \"{key}\"")


def when(seconds: float) -> str:
    """A moment as the page's other tables write it."""
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(seconds))


def keys_table(keys) -> pd.DataFrame:
    """A student's keys (core.store.api_keys.KeyRow): label, how it starts, when made and last used, state."""
    return pd.DataFrame([{"label": k.label, "starts with": f"{k.hint}…", "made": when(k.created_at),
                          "last used": when(k.last_used_at) if k.last_used_at else "never",
                          "state": "revoked" if k.revoked_at else "live"} for k in keys],
                        columns=["label", "starts with", "made", "last used", "state"])
