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


def map_grid(channels: tuple[np.ndarray, ...], columns: int = 8, min_side: int = 48, pad: int = 2) -> bytes:
    """Pictures of one size (uint8, grey (H, W) or RGB (H, W, 3): feature maps, filters) as one PNG grid;
    small ones are enlarged with nearest-neighbour (each pixel a visible square) to at least `min_side`."""
    scale = max(1, -(-min_side // max(channels[0].shape[:2])))
    tiles = [np.repeat(np.repeat(c.reshape(*c.shape[:2], -1), scale, 0), scale, 1) for c in channels]
    tiles = [t if t.shape[-1] == 3 else np.repeat(t, 3, axis=-1) for t in tiles]
    return grid_png(tiles, columns=min(columns, len(tiles)), pad=pad)


def heat_overlay(image: np.ndarray, heat: np.ndarray, alpha: float = 0.45) -> np.ndarray:
    """A Grad-CAM map (0..1, the image's height and width) over the image, in a jet-like colour scale
    (blue: no weight, red: most), as uint8 RGB."""
    base = image if image.ndim == 3 and image.shape[-1] == 3 else np.repeat(image.reshape(*image.shape[:2], 1), 3, -1)
    h = np.clip(heat, 0.0, 1.0)[..., None]
    colour = np.clip(1.5 - np.abs(4 * h - np.array([3.0, 2.0, 1.0])), 0.0, 1.0) * 255  # red, green, blue ramps
    return np.round((1 - alpha) * base.astype(np.float32) + alpha * colour).astype(np.uint8)
