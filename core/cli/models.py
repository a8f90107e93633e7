"""`python -m core models check FILE`: a student's own `.keras` model file, checked as the server checks one
(the archive and its config against the allowlist, then loaded with safe_mode in a process of its own), and
described: its layers, parameters, input shape and classes; a refusal is one line naming the layer and why."""
from __future__ import annotations

from pathlib import Path

from core.errors import Refusal
from core.services.model_files import inspect_model_file
from core.views.display import count


class ModelFileMissing(Refusal):
    """The file to check is not there; the message says which."""


def add_model_commands(sub) -> None:
    """The `models` command and its actions."""
    models = sub.add_parser("models", help="check a Keras model file (.keras) as Train Lab would take it")
    models.add_argument("action", choices=("check",))
    models.add_argument("file", type=Path, help="the .keras file, saved with model.save('mine.keras')")


def _models(args, parser) -> int:
    if not args.file.is_file():
        raise ModelFileMissing(f"file: {args.file} is not a file here")
    loaded = inspect_model_file(args.file)
    print(f"{args.file.name}: accepted · model {loaded.name} · {count(loaded.params)} parameters · input "
          f"{'×'.join(str(d) for d in loaded.input_shape)} · {loaded.classes} classes")
    for layer in loaded.layers:
        name, kind, output = layer["name"][:30], layer["type"][:24], layer["output"][:28]
        print(f"  {name:<30} {kind:<24} {output:<28} {count(layer['params']):>12}")
    return 0


MODEL_COMMANDS = {"models": _models}
