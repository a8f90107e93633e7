"""`python -m core models check|add|list`: a student's own `.keras` model file, checked as the server checks one
(the archive and its config against the allowlist, then loaded with safe_mode in a process of its own) and
described (`check`), kept under a name to train later (`add`), or the files kept so far (`list`); a refusal is one
line naming the layer and why."""
from __future__ import annotations

import time
from pathlib import Path

from core.errors import Refusal
from core.services import model_files
from core.views.display import count


class ModelFileMissing(Refusal):
    """The file to check is not there, or no name was given; the message says which."""


def add_model_commands(sub) -> None:
    """The `models` command and its actions."""
    models = sub.add_parser("models", help="check, add or list Keras model files (.keras) of your own")
    models.add_argument("action", choices=("check", "add", "list"))
    models.add_argument("file", type=Path, nargs="?", help="the .keras file, saved with model.save('mine.keras')")
    models.add_argument("--name", default="", help="add: the name to keep it under (e.g. my-cnn)")


def _describe(label: str, model) -> None:
    print(f"{label} · model {model.name} · {count(model.params)} parameters · input "
          f"{'×'.join(str(d) for d in model.input_shape)} · {model.classes} classes")
    for layer in model.layers:
        name, kind, output = layer["name"][:30], layer["type"][:24], layer["output"][:28]
        print(f"  {name:<30} {kind:<24} {output:<28} {count(layer['params']):>12}")


def _models(args, parser) -> int:
    if args.action == "list":
        for row in model_files.listed():
            print(f"#{row.id} {row.owner or 'operator'} / {row.name} · {count(row.params)} parameters · input "
                  f"{'×'.join(str(d) for d in row.input_shape)} · {row.classes} classes · added "
                  f"{time.strftime('%Y-%m-%d %H:%M', time.localtime(row.created_at))}")
        return 0
    if args.file is None or not args.file.is_file():
        raise ModelFileMissing(f"file: {args.file or 'no file'} is not a file here; give the path of a .keras file")
    if args.action == "check":
        _describe(f"{args.file.name}: accepted", model_files.inspect_model_file(args.file))
        return 0
    if not args.name:
        raise ModelFileMissing("name: give the name to keep it under, e.g. --name my-cnn")
    row = model_files.add(args.file, args.name)
    print(f"added as #{row.id} {row.owner or 'operator'} / {row.name}: {count(row.params)} parameters")
    return 0


MODEL_COMMANDS = {"models": _models}
