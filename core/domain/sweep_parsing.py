"""What people type for a sweep, parsed: number lists, learning-rate ranges, per-optimizer rates and
architecture lines (`mlp 512-256 dropout=0.2 bn`, `cnn 32x1p-64x1p bn flatten dense=128`).

Every error is a `SweepError` whose message names the field and shows an example of what works.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from core.domain.architectures import ARCHITECTURES, ArchitectureError, check_options, parse_blocks
from core.domain.config import MAX_LEARNING_RATE, OPTIMIZERS
from core.domain.model_files import file_id
from core.errors import Refusal

# Sweep optimizer choices: every Keras optimizer, plus SGD with classical and Nesterov momentum.
SGD_MOMENTUM = 0.9
OPTIMIZER_CHOICES: dict[str, tuple[str, float, bool]] = {
    "sgd": ("sgd", 0.0, False),
    "sgd_momentum": ("sgd", SGD_MOMENTUM, False),
    "sgd_nesterov": ("sgd", SGD_MOMENTUM, True),
    **{key: (key, 0.0, False) for key in OPTIMIZERS if key != "sgd"},
}


class SweepError(Refusal, ValueError):
    """A sweep a user can fix; `str()` is the one-line message (field first)."""


@dataclass(frozen=True)
class Variant:
    """One architecture to try: a preset or builder key, its options and a short label."""

    label: str
    architecture: str
    options: dict = field(default_factory=dict)


_NUMBER = r"[0-9.]+(?:e-?[0-9]+)?"


def parse_numbers(text: str, field_name: str, kind=float) -> tuple:
    """'0.1, 0.01 1e-3' -> (0.1, 0.01, 0.001); SweepError naming the field for anything else."""
    parts = [p for p in re.split(r"[,\s;]+", text.strip()) if p]
    if not parts:
        raise SweepError(f"{field_name}: give at least one value, e.g. {'0.01, 0.001' if kind is float else '32, 64'}")
    values = []
    for part in parts:
        try:
            value = kind(part) if kind is float else int(part)
        except ValueError:
            raise SweepError(f"{field_name}: {part!r} is not a {'number' if kind is float else 'whole number'}; "
                             "separate values with commas") from None
        values.append(value)
    return tuple(dict.fromkeys(values))


def parse_learning_rates(text: str) -> tuple[tuple[float, ...], tuple[float, float, int] | None]:
    """A list ('0.1, 0.01') or a log range ('1e-4..1e-1 x4': 4 log-spaced points from 1e-4 to 1e-1)."""
    match = re.fullmatch(rf"\s*({_NUMBER})\s*\.\.\s*({_NUMBER})\s*(?:[x×]\s*(\d+))?\s*", text.strip(), re.I)
    if not match:
        return parse_numbers(text, "learning rates"), None
    low, high, count = float(match[1]), float(match[2]), int(match[3] or 4)
    if not 0 < low < high <= MAX_LEARNING_RATE:
        raise SweepError(f"learning rates: a range needs 0 < low < high ≤ {MAX_LEARNING_RATE:g}; got {low:g}..{high:g}")
    if not 2 <= count <= 20:
        raise SweepError(f"learning rates: a range takes 2 to 20 points (x2 .. x20); got x{count}")
    return log_points(low, high, count), (low, high, count)


def log_points(low: float, high: float, count: int) -> tuple[float, ...]:
    """`count` log-spaced values from low to high, rounded to 3 significant digits."""
    step = (math.log10(high) - math.log10(low)) / (count - 1)
    return tuple(float(f"{10 ** (math.log10(low) + i * step):.3g}") for i in range(count))


def parse_per_optimizer_lr(text: str) -> dict[str, tuple[float, ...]]:
    """Lines 'sgd_momentum: 0.1, 0.01' -> {'sgd_momentum': (0.1, 0.01)}; a range works too."""
    out = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        key, sep, values = line.partition(":")
        key = key.strip().lower()
        if not sep or key not in OPTIMIZER_CHOICES:
            raise SweepError(f"learning rates per optimizer: write 'optimizer: rates' with an optimizer of "
                             f"{', '.join(OPTIMIZER_CHOICES)}; got {line.strip()!r}")
        out[key] = parse_learning_rates(values)[0]
    return out


def parse_variant(line: str) -> Variant:
    """One architecture line: a preset key ('mlp_bn'), a custom MLP ('mlp 512-256 dropout=0.2 bn
    act=gelu'), a custom CNN ('cnn 32x1p-64x1p bn dropout=0.3 flatten dense=128') or a model file ('file:3', from
    fresh weights, or 'file:3 fine-tune' from its own)."""
    tokens = line.split()
    head = tokens[0].lower()
    if head in ARCHITECTURES and len(tokens) == 1:
        return Variant(head, head)
    if file_id(head) is not None and [t.lower() for t in tokens[1:]] in ([], ["fine-tune"]):
        return Variant(" ".join(tokens).lower(), head, {"weights": "file" if len(tokens) > 1 else "fresh"})
    if head not in ("mlp", "cnn") or len(tokens) < 2:
        raise SweepError(f"architectures: {line.strip()!r} is neither a preset ({', '.join(ARCHITECTURES)}) nor "
                         "'mlp 512-256 [dropout=0.2] [bn] [act=relu]' nor 'cnn 32x1p-64x1p [bn] [dropout=0.3] "
                         "[flatten] [dense=128]' nor a model file, 'file:3 [fine-tune]'")
    key = "custom_mlp" if head == "mlp" else "custom_cnn"
    options: dict = {}
    try:
        if head == "mlp":
            if not re.fullmatch(r"\d+([-,]\d+)*", tokens[1]):
                raise SweepError(f"architectures: hidden layer widths are whole numbers joined by '-', like "
                                 f"512-256; got {tokens[1]!r} in {line.strip()!r}")
            options["hidden_units"] = [int(u) for u in re.split(r"[-,]", tokens[1])]
        else:
            options["blocks"] = parse_blocks(tokens[1].replace("-", ","))
        for token in tokens[2:]:
            name, _, value = token.lower().partition("=")
            if name in ("bn", "batchnorm", "batch_norm"):
                options["batch_norm"] = True
            elif name == "dropout":
                options["dropout"] = float(value)
            elif name in ("act", "activation") and head == "mlp":
                options["activation"] = value
            elif name in ("flatten", "gap") and head == "cnn":
                options["head"] = name
            elif name == "dense" and head == "cnn":
                options["dense_units"] = int(value)
            else:
                raise SweepError(f"architectures: unknown setting {token!r} in {line.strip()!r}")
        check_options(key, options)
    except (ValueError, ArchitectureError) as exc:
        if isinstance(exc, SweepError):
            raise
        raise SweepError(f"architectures: {line.strip()!r}: {str(exc).removeprefix('architecture: ')}") from None
    return Variant(" ".join(tokens).lower(), key, options)


def parse_variants(text: str) -> tuple[Variant, ...]:
    """One variant per non-empty line (duplicates dropped)."""
    variants = [parse_variant(line) for line in text.splitlines() if line.strip()]
    if not variants:
        raise SweepError("architectures: list at least one, one per line (e.g. mlp_bn)")
    return tuple({v.label: v for v in variants}.values())
