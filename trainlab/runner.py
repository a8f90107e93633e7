"""Run a student's script unchanged with every `model.fit` in it tracked: `python -m core track my_script.py
[args]`. The script runs as `python my_script.py [args]` would, from its own folder (so the files it reads
beside it are found), as `__main__`, with `autolog()` on; its output and its own errors are its own."""
from __future__ import annotations

import os
import runpy
import sys
import traceback
from pathlib import Path


class ScriptNotFound(FileNotFoundError):
    """The script to track is not a Python file this user can read; str(error) says which, in one line."""


def run_script(path: str, args: list[str], dataset: str = "", name: str = "", save_model: bool = False) -> int:
    """Run the script at `path` with `args` and autolog on; its exit code (1 when it raised, 130 on Ctrl+C)."""
    script = Path(path).expanduser().resolve()
    if not script.is_file() or script.suffix != ".py":
        raise ScriptNotFound(f"script: {path} is not a Python file (.py) here; give the path of your script")
    from trainlab.autolog import autolog

    autolog(dataset=dataset, name=name, save_model=save_model)
    sys.argv = [str(script), *args]
    sys.path.insert(0, str(script.parent))
    os.chdir(script.parent)
    try:
        runpy.run_path(str(script), run_name="__main__")
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except KeyboardInterrupt:
        print("KeyboardInterrupt", file=sys.stderr)
        sys.last_value = KeyboardInterrupt()  # the exit hook ends an open fit as cancelled
        return 130
    except BaseException as exc:  # the script's own error: shown as Python would, without this runner's frames
        sys.last_value = exc
        frames = traceback.extract_tb(exc.__traceback__)
        theirs = [f for f in frames if not f.filename.startswith((str(Path(__file__).parent), "<frozen runpy>"))
                  and "runpy.py" not in f.filename]
        print("Traceback (most recent call last):\n" + "".join(traceback.format_list(theirs))
              + "".join(traceback.format_exception_only(exc)), end="", file=sys.stderr)
        return 1
    return 0
