"""Images side by side in one picture, for download buttons."""
from __future__ import annotations

import io

import numpy as np


def grid_png(images: list[np.ndarray], columns: int = 6, pad: int = 4) -> bytes:
    """The images side by side in a grid, as PNG bytes for a download button."""
    from PIL import Image

    h = max(i.shape[0] for i in images)
    w = max(i.shape[1] for i in images)
    rows = -(-len(images) // columns)
    sheet = Image.new("RGB", (columns * (w + pad) + pad, rows * (h + pad) + pad), "white")
    for k, img in enumerate(images):
        r, c = divmod(k, columns)
        sheet.paste(Image.fromarray(img), (pad + c * (w + pad), pad + r * (h + pad)))
    buffer = io.BytesIO()
    sheet.save(buffer, "PNG")
    return buffer.getvalue()
