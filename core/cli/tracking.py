"""`python -m core track my_script.py [args]`: run a student's own script unchanged, every `model.fit` in it
a run on the dashboard; `python -m core sync`: send what a tracked script could not send before it ended.
The client itself is the `trainlab` package beside `core` (README, "Your own code")."""
from __future__ import annotations

import argparse
import sys

from core.errors import Refusal


class TrackRefused(Refusal):
    """A `track` or `sync` that cannot run as asked; the message says why."""


def add_tracking_commands(sub) -> None:
    """The `track` and `sync` commands."""
    track = sub.add_parser("track", help="run your own Keras script with every model.fit in it tracked",
                           description="Options come before the script; everything after it is the script's.")
    track.add_argument("--dataset", default="", help="the data's name as Train Lab knows it (e.g. fashion_mnist), "
                       "when the script does not load it with keras.datasets")
    track.add_argument("--name", default="", help="the runs' name (default: the script's and the model's)")
    track.add_argument("--save-model", action="store_true", help="also hand each trained model to Train Lab, to "
                       "look inside it on the run's page")
    track.add_argument("script", help="the script to run, as `python SCRIPT ARGS` would")
    track.add_argument("args", nargs=argparse.REMAINDER, help="the script's own arguments")
    sub.add_parser("sync", help="send the points a tracked script kept while Train Lab could not be reached")


def _track(args, parser) -> int:
    from trainlab.runner import ScriptNotFound, run_script

    try:
        return run_script(args.script, args.args, dataset=args.dataset, name=args.name, save_model=args.save_model)
    except ScriptNotFound as exc:
        raise TrackRefused(str(exc)) from None


def _sync(args, parser) -> int:
    from trainlab.sync import send_spooled

    said = send_spooled()
    for line in said:
        print(line)
    if not said:
        print("nothing to send: no tracked script left points behind")
    sys.stdout.flush()
    return 0


TRACKING_COMMANDS = {"track": _track, "sync": _sync}
