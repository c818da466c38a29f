"""Reading image files and bringing every image mode to RGB."""

from __future__ import annotations

from pathlib import Path

from PIL import Image, UnidentifiedImageError

from .errors import DataError

#: File name endings read as images (lower case); other files are skipped.
IMAGE_EXTENSIONS: frozenset[str] = frozenset(
    {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm", ".pbm"}
)

_WHITE = (255, 255, 255)


def is_image_file(path: Path) -> bool:
    """Whether ``path`` has one of the :data:`IMAGE_EXTENSIONS`."""
    return path.suffix.lower() in IMAGE_EXTENSIONS


def to_rgb(image: Image.Image) -> Image.Image:
    """Return ``image`` as an RGB image.

    Transparent images (RGBA, LA, palette with transparency) are composited on white:
    dropping alpha instead would turn transparent pixels into whatever colour the file
    happens to store there, often black.
    """
    if image.mode == "RGB":
        return image
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA"):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, _WHITE)
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        # 16-bit and float images: Pillow's own convert("RGB") clips them to white.
        return _scaled_to_8bit(image).convert("RGB")
    return image.convert("RGB")


def _scaled_to_8bit(image: Image.Image) -> Image.Image:
    """Stretch a high bit-depth grayscale image to 0..255."""
    import numpy as np

    values = np.asarray(image, dtype=np.float64)
    low, high = float(values.min()), float(values.max())
    span = high - low if high > low else 1.0
    return Image.fromarray(((values - low) * (255.0 / span)).astype(np.uint8), mode="L")


def check_image(path: Path) -> str | None:
    """Return why ``path`` cannot be used as an image, or None when it can.

    Reads the header and lets Pillow verify the file, which catches most corrupt and
    truncated files without decoding every pixel.
    """
    try:
        with Image.open(path) as image:
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        return f"cannot be read as an image ({type(error).__name__})"
    return None


def open_rgb(path: Path) -> Image.Image:
    """Decode the image at ``path`` as RGB; a file that fails raises DataError naming it."""
    try:
        with Image.open(path) as image:
            image.load()
            return to_rgb(image)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise DataError(
            f"image file {str(path)!r} cannot be decoded ({error}): remove or replace it"
        ) from error
