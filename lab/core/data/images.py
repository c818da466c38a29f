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


#: Images with more pixels than this are refused by name (a 7000x7000 photo is
#: about 50 MP and takes ~150 MB decoded); JPEGs are decoded reduced instead (``draft``).
MAX_PIXELS = 50_000_000
#: Images are decoded to at most this many pixels on their longest side: training crops
#: are far smaller, and a 12000x12000 image would otherwise take ~430 MB per load.
MAX_SIDE = 2048
_DECODE_ERRORS = (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError)


def _too_large(width: int, height: int) -> str:
    return (
        f"{width}x{height} pixels is larger than the lab reads ({MAX_PIXELS / 1e6:.0f} MP): "
        f"downscale it, e.g. to {MAX_SIDE} pixels on its longest side"
    )


def check_image(path: Path) -> str | None:
    """Return why ``path`` cannot be used as an image, or None when it can.

    Cheap: JPEGs are decoded at 1/8 scale (which still reads every byte, so a truncated
    file fails here and not at step 1 of a run), other formats are verified by Pillow.
    """
    try:
        with Image.open(path) as image:
            width, height = image.size
            if image.format == "JPEG":
                image.draft("RGB", (max(1, width // 8), max(1, height // 8)))
                image.load()
            elif width * height > MAX_PIXELS:
                return _too_large(width, height)
            else:
                image.verify()
    except Image.DecompressionBombError:
        return _too_large(*_header_size(path))
    except _DECODE_ERRORS as error:
        return f"cannot be read as an image ({type(error).__name__}: {error})"
    return None


def _header_size(path: Path) -> tuple[int, int]:
    limit = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = None  # only to read the size from the header
    try:
        with Image.open(path) as image:
            return image.size
    finally:
        Image.MAX_IMAGE_PIXELS = limit


def _reduced(image: Image.Image) -> Image.Image:
    """``image`` decoded no larger than :data:`MAX_SIDE` (JPEG: at a reduced scale)."""
    if image.format == "JPEG":
        image.draft(image.mode, (MAX_SIDE, MAX_SIDE))
    image.load()
    factor = -(-max(image.size) // MAX_SIDE)
    return image.reduce(factor) if factor > 1 else image


def open_rgb(path: Path) -> Image.Image:
    """Decode the image at ``path`` as RGB; a file that fails raises DataError naming it.

    Images larger than :data:`MAX_SIDE` come back downscaled.
    """
    try:
        with Image.open(path) as image:
            return to_rgb(_reduced(image))
    except Image.DecompressionBombError as error:
        raise DataError(f"image file {str(path)!r}: {error}: downscale it") from error
    except _DECODE_ERRORS as error:
        raise DataError(
            f"image file {str(path)!r} cannot be decoded ({error}): remove or replace it"
        ) from error
