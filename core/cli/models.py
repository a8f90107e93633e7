"""`python -m core models check|add|list|share|unshare|remove|evaluate|leaderboard`: a student's own `.keras` model
file, checked as the server checks one (the archive and its config against the allowlist, then loaded with safe_mode
in a process of its own) and described (`check`), kept under a name to train later as architecture file:ID (`add`),
the files kept so far (`list`), shared with the class or not (`share ID`, `unshare ID`), removed (`remove ID`), its
own weights scored on a dataset's test split (`evaluate ID --dataset D`) and the scores side by side (`leaderboard
--dataset D`); a refusal is one line naming the layer, the field and why."""
from __future__ import annotations

import time
from pathlib import Path

from core.domain.people import OPERATOR
from core.errors import Refusal
from core.services import model_files, scoring
from core.views.display import count, percent


class ModelFileMissing(Refusal):
    """The file to check is not there, or no name was given; the message says which."""


def add_model_commands(sub) -> None:
    """The `models` command and its actions."""
    models = sub.add_parser("models", help="check, add or list Keras model files (.keras) of your own")
    models.add_argument("action", choices=("check", "add", "list", "share", "unshare", "remove", "evaluate",
                                           "leaderboard"))
    models.add_argument("file", nargs="?", help="check, add: the .keras file, saved with model.save('mine.keras'); "
                        "share, unshare, remove, evaluate: the model file's number (models list)")
    models.add_argument("--name", default="", help="add: the name to keep it under (e.g. my-cnn)")
    models.add_argument("--dataset", default="", help="evaluate, leaderboard: the dataset whose test split scores it")


def _describe(label: str, model) -> None:
    print(f"{label} · model {model.name} · {count(model.params)} parameters · input "
          f"{'×'.join(str(d) for d in model.input_shape)} · {model.classes} classes")
    for layer in model.layers:
        name, kind, output = layer["name"][:30], layer["type"][:24], layer["output"][:28]
        print(f"  {name:<30} {kind:<24} {output:<28} {count(layer['params']):>12}")


def _list() -> int:
    for row in model_files.listed():
        print(f"#{row.id} {row.title} · file:{row.id} · {count(row.params)} parameters · input "
              f"{'×'.join(str(d) for d in row.input_shape)} · {row.classes} classes · added "
              f"{time.strftime('%Y-%m-%d %H:%M', time.localtime(row.created_at))}{' · shared' if row.shared else ''}")
    return 0


def _number(args) -> int:
    if not (args.file or "").isdigit():
        raise ModelFileMissing(f"file: give the model file's number (`models list`), e.g. 3; got {args.file!r}")
    return int(args.file)


def _dataset(args) -> str:
    if not args.dataset:
        raise ModelFileMissing("dataset: give the dataset whose test split scores it, e.g. --dataset fashion_mnist")
    return args.dataset


def _leaderboard(args) -> int:
    scores = scoring.leaderboard(_dataset(args), actor=OPERATOR)
    if not scores:
        print(f"no model file has been scored on all of {args.dataset}'s test images yet (`models evaluate`)")
    for score in scores:
        print(f"{score.rank:>3}. {score.model:<40} {percent(score.test_accuracy):>8}  loss {score.test_loss:.4f}  "
              f"{count(score.test_images)} test images  run #{score.run_id}")
    return 0


def _models(args, parser) -> int:
    if args.action in SIMPLE:
        return SIMPLE[args.action](args)
    path = Path(args.file or "")
    if not args.file or not path.is_file():
        raise ModelFileMissing(f"file: {args.file or 'no file'} is not a file here; give the path of a .keras file")
    if args.action == "check":
        _describe(f"{path.name}: accepted", model_files.inspect_model_file(path))
        return 0
    if not args.name:
        raise ModelFileMissing("name: give the name to keep it under, e.g. --name my-cnn")
    row = model_files.add(path, args.name)
    print(f"added as #{row.id} {row.title}: {count(row.params)} parameters; train it as architecture file:{row.id}")
    return 0


def _share(args, shared: bool) -> int:
    row = model_files.share(_number(args), shared, actor=OPERATOR)
    print(f"#{row.id} {row.title} is {'shared with the class' if row.shared else 'no longer shared'}")
    return 0


def _evaluate(args) -> int:
    run_id = scoring.evaluate(_number(args), _dataset(args), actor=OPERATOR)
    print(f"run #{run_id} queued: it scores the file's own weights on {args.dataset}'s test split "
          f"(`python -m core show {run_id}`)")
    return 0


def _remove(args) -> int:
    row = model_files.remove(_number(args), actor=OPERATOR)
    print(f"#{row.id} {row.title} removed; the runs that trained it keep their own models and scores")
    return 0


SIMPLE = {"list": lambda args: _list(), "leaderboard": _leaderboard, "evaluate": _evaluate, "remove": _remove,
          "share": lambda args: _share(args, True), "unshare": lambda args: _share(args, False)}
MODEL_COMMANDS = {"models": _models}
