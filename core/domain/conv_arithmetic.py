"""Conv arithmetic: the output side of a convolution or pooling layer, and its formula with the numbers in."""
from __future__ import annotations

import math


def conv_output_size(size: int, kernel: int, stride: int, padding: str | int) -> int:
    """Output side of a conv/pool layer. 'same': ceil(n / s); 'valid': floor((n - k) / s) + 1;
    a number P of padded pixels on each side: floor((n + 2P - k) / s) + 1."""
    if padding == "same":
        return math.ceil(size / stride)
    pad = 0 if padding == "valid" else int(padding)
    return (size + 2 * pad - kernel) // stride + 1


def conv_formula(size: int, kernel: int, stride: int, padding: str | int) -> str:
    """The formula with the numbers in, e.g. 'floor((32 - 3) / 1) + 1 = 30'."""
    out = conv_output_size(size, kernel, stride, padding)
    if padding == "same":
        return f"ceil({size} / {stride}) = {out}"
    pad = 0 if padding == "valid" else int(padding)
    padded = f"{size} + 2×{pad}" if pad else f"{size}"
    return f"floor(({padded} - {kernel}) / {stride}) + 1 = {out}"
