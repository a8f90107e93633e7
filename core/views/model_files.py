"""A student's model file on the Models page (issue 31), from the description a process of its own made when the file
was added: its layer table, a diagram of its layers (skip connections visible), a summary in words, and a
leaderboard's table. Nothing here loads the file."""
from __future__ import annotations

from collections import Counter

import pandas as pd

from core.domain.model_files import ModelFile
from core.domain.statuses import EVALUATED

SCORED = ("Scored, not trained: the model file's own weights on all of the dataset's test images, in a worker. Run "
          "again scores it again; the leaderboard is on the Models page, under Score and leaderboard.")
NO_LOOK_INSIDE = ("Its model is a student's own file, which this page never loads: its scores, curves and mistakes are "
                  "above, and the model file's layers and feature maps are on the Models page.")
NOT_CLONED = "A score has no training settings to edit: train the model file from the Train page instead."


def is_scored(run) -> bool:
    """Whether `run` only scored a model file (an evaluate-only run) rather than training."""
    return run.kind == EVALUATED


def layer_table(model: ModelFile) -> pd.DataFrame:
    """One row per layer: name, type, output shape, parameters and their share of the model's; for a model whose
    layers are not one chain, also each layer's inputs (where its skip connections come from)."""
    rows = [{"layer": layer["name"], "type": layer["type"], "output shape": layer["output"],
             "parameters": int(layer["params"]), "inputs": ", ".join(layer.get("inputs", []))}
            for layer in model.layers]
    branched = any(len(layer.get("inputs", [])) > 1 for layer in model.layers)
    columns = ["layer", "type", "output shape", *(["inputs"] if branched else []), "parameters"]
    table = pd.DataFrame(rows, columns=["layer", "type", "output shape", "inputs", "parameters"])[columns]
    table["share"] = table["parameters"] / max(1, model.params)
    return table


def _quoted(text: str) -> str:
    """`text` inside a Graphviz string: a layer's name is the student's, and a quote must not end the label."""
    return str(text).replace("\\", "\\\\").replace('"', '\\"')


def diagram_dot(model: ModelFile) -> str:
    """A Graphviz description of the layers: each with its type and parameters, an arrow from each input (a file
    added before inputs were recorded is drawn as a chain)."""
    lines = ["digraph model {", "rankdir=TB;", 'node [shape=box, style="rounded,filled", fillcolor="#eef3fb", '
             'fontname="Helvetica", fontsize=10];']
    previous = None
    for layer in model.layers:
        name = _quoted(layer["name"])
        params = f"\\n{int(layer['params']):,} params" if layer["params"] else ""
        lines.append(f'"{name}" [label="{name}\\n{_quoted(layer["type"])}{params}"];')
        sources = layer.get("inputs", [previous] if previous is not None else [])
        lines.extend(f'"{_quoted(source)}" -> "{name}";' for source in sources)
        previous = layer["name"]
    lines.append("}")
    return "\n".join(lines)


def summary_text(model: ModelFile) -> str:
    """The model in a few plain sentences: what it takes and gives, its kinds of layers, where its parameters are."""
    kinds = Counter(layer["type"] for layer in model.layers if layer["type"] != "InputLayer")
    listed = ", ".join(f"{n} {kind}" for kind, n in kinds.most_common())
    shape = "×".join("any" if d is None else str(d) for d in model.input_shape)
    heaviest = max(model.layers, key=lambda layer: layer["params"], default=None)
    merges = sum(n for kind, n in kinds.items() if kind in ("Add", "Concatenate", "Multiply", "Average"))
    words = [f"Takes {shape} inputs and gives {model.classes} class scores, through {sum(kinds.values())} layers: "
             f"{listed}."]
    if merges:
        words.append(f"{merges} merge layer{'s' if merges > 1 else ''} join{'s' if merges == 1 else ''} branches "
                     "(skip connections).")
    if heaviest is not None and heaviest["params"]:
        words.append(f"{model.params:,} parameters, {heaviest['params'] / max(1, model.params):.0%} of them in "
                     f"{heaviest['type']} layer '{heaviest['name']}'.")
    return " ".join(words)


def leaderboard_table(scores) -> pd.DataFrame:
    """The leaderboard's rows as the page shows them, best first."""
    columns = ["rank", "model", "test accuracy", "test loss", "test images", "run"]
    return pd.DataFrame([dict(zip(columns, (s.rank, s.model, 100 * s.test_accuracy, s.test_loss, s.test_images,
                                            f"#{s.run_id}"))) for s in scores], columns=columns)
