"""Single images for the Augment page: sample photos from a folder, checked uploads, dataset images."""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from core.errors import Refusal
from core.settings import PROJECT_ROOT, Settings

SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp"}
MAX_UPLOAD_BYTES = 20 * 2**20
MAX_PIXELS = 40_000_000  # a decompression bomb declares far more
MAX_SIDE = 1024  # larger photos are shrunk: augmenting a 24-megapixel photo 12 times is slow
ASSETS_DIR = PROJECT_ROOT / "assets"
SHIPPED_PHOTOS = ("dog", "cat")  # the course's photos, in assets/ (public domain, see assets/SOURCES.md)


class ImageError(Refusal, ValueError):
    """An image that cannot be used; the message says why."""


def sample_photos(settings: Settings) -> dict[str, Path]:
    """Photos for the Augment page by name: the shipped dog and cat first, then the user's folder.

    A photo of the user's folder named like a shipped one is listed as e.g. "dog (my photos)".
    """
    photos = {name: ASSETS_DIR / f"{name}.jpg" for name in SHIPPED_PHOTOS if (ASSETS_DIR / f"{name}.jpg").is_file()}
    folder = settings.samples_dir
    if folder is None or not folder.is_dir():
        return photos
    for path in sorted(folder.iterdir()):
        if path.is_file() and path.suffix.lower() in SUFFIXES:
            photos[f"{path.stem} (my photos)" if path.stem in photos else path.stem] = path
    return photos


def decode(data: bytes, what: str = "image") -> np.ndarray:
    """Decode image bytes to uint8 RGB (H, W, 3), EXIF orientation applied, at most MAX_SIDE a side."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    if len(data) > MAX_UPLOAD_BYTES:
        raise ImageError(f"{what}: {len(data) / 2**20:.1f} MB is over the {MAX_UPLOAD_BYTES // 2**20} MB limit; "
                         "use a smaller photo")
    try:
        with Image.open(io.BytesIO(data)) as img:
            if img.width * img.height > MAX_PIXELS:
                raise ImageError(f"{what}: {img.width}×{img.height} pixels is over the "
                                 f"{MAX_PIXELS // 1_000_000} megapixel limit; use a smaller photo")
            img = ImageOps.exif_transpose(img).convert("RGB")  # phones store rotation in EXIF
            img.thumbnail((MAX_SIDE, MAX_SIDE))
            return np.asarray(img, dtype=np.uint8)
    except ImageError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError) as exc:
        raise ImageError(f"{what}: not a readable image (JPEG, PNG, BMP, GIF or WebP)") from exc


def read_square(path: Path, side: int, what: str = "") -> np.ndarray:
    """One dataset image file as uint8 RGB (side, side, 3), resized bilinearly like Keras' image loaders.

    The declared size is checked before any pixel is decoded, so a small file claiming a huge
    image (a decompression bomb) is refused instead of filling a worker's memory."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            if img.width * img.height > MAX_PIXELS:
                raise ImageError(f"{what or path.name}: {img.width}×{img.height} pixels is over the "
                                 f"{MAX_PIXELS // 1_000_000} megapixel limit; shrink or remove it")
            return np.asarray(img.convert("RGB").resize((side, side), Image.Resampling.BILINEAR), dtype=np.uint8)
    except ImageError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError) as exc:
        raise ImageError(f"{what or path.name}: not a readable image (JPEG, PNG, BMP, GIF or WebP); "
                         "replace or remove it") from exc


def load_photo(path: Path) -> np.ndarray:
    """A sample photo as uint8 RGB."""
    return decode(path.read_bytes(), path.name)


def dataset_image(x: np.ndarray) -> np.ndarray:
    """One dataset image (H, W, 1|3) as uint8 RGB."""
    return np.repeat(x, 3, axis=-1) if x.shape[-1] == 1 else x


def to_model_input(image: np.ndarray, input_shape: tuple[int, ...]) -> np.ndarray:
    """A uint8 RGB or grayscale photo as one model input: resized bilinearly to the input's height and
    width (as image folders are read), converted to its channels (ITU-R 601 luma for one), and scaled
    to [0, 1] as training batches are; float32 (H, W, C)."""
    from PIL import Image

    height, width, channels = (int(d) for d in input_shape)
    picture = Image.fromarray(image if image.ndim == 3 and image.shape[-1] == 3 else image.squeeze())
    picture = picture.convert("L" if channels == 1 else "RGB").resize((width, height), Image.Resampling.BILINEAR)
    pixels = np.asarray(picture, dtype=np.float32) / 255.0
    return pixels.reshape(height, width, channels)


def from_canvas(rgba: np.ndarray | None) -> np.ndarray | None:
    """A drawing from the browser's canvas (uint8 RGBA) as uint8 RGB over black, or None while nothing
    has been drawn on it."""
    if rgba is None or rgba.ndim != 3 or rgba.shape[-1] != 4:
        return None
    alpha = rgba[..., 3:4].astype(np.float32) / 255
    rgb = np.round(rgba[..., :3].astype(np.float32) * alpha).astype(np.uint8)
    return rgb if rgb.max() > 0 else None
