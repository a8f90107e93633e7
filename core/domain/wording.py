"""Counts in words: "1 GPU", "2 GPUs", "0 GPUs", for every line that says how many of something."""
from __future__ import annotations


def counted(number: float, noun: str) -> str:
    """`number` and `noun`, plural unless the number is one; whole floats lose their ".0" (Ray counts CPUs
    as floats)."""
    return f"{number:g} {noun}{'' if number == 1 else 's'}"
