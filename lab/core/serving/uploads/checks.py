"""Checks on uploaded files: size and count limits, image headers, safe names."""

from __future__ import annotations

import io
import re
import warnings
from collections.abc import Sequence

from PIL import Image, UnidentifiedImageError

from lab.core.data.errors import DataError
from lab.core.data.images import IMAGE_EXTENSIONS
from lab.core.serving.settings import UploadLimits

#: Endings of archives, which are never unpacked from inside another upload.
ARCHIVE_EXTENSIONS = frozenset(
    {".zip", ".tar", ".gz", ".tgz", ".bz2", ".xz", ".7z", ".rar", ".zst", ".lz", ".lzma"}
)
_UNSAFE = re.compile(r"[^\w.\- ]+")
MAX_NAME = 64


class UploadError(DataError):
    """An upload refused as a whole; the message names the limit and the way out."""


def _mb(n_bytes: int) -> str:
    return f"{n_bytes / 2**20:.1f} MB"


def check_upload_size(sizes: Sequence[int], limits: UploadLimits) -> None:
    """Refuse an upload of files of ``sizes`` bytes that breaks a limit (UploadError)."""
    if len(sizes) > limits.max_files:
        raise UploadError(
            f"{len(sizes)} files in one upload: the limit is {limits.max_files} "
            "(LAB_UPLOAD_MAX_FILES); upload them in smaller groups"
        )
    total = sum(sizes)
    if total > limits.max_bytes:
        raise UploadError(
            f"this upload is {_mb(total)}: the limit is {_mb(limits.max_bytes)} per upload "
            "(LAB_UPLOAD_MAX_MB); upload fewer or smaller images at a time"
        )


def suffix(name: str) -> str:
    """The lower-case ending of a file name ('' if none)."""
    base = name.rsplit("/", 1)[-1]
    return "." + base.rsplit(".", 1)[-1].lower() if "." in base.strip(".") else ""


def is_image_name(name: str) -> bool:
    return suffix(name) in IMAGE_EXTENSIONS


def is_archive_name(name: str) -> bool:
    return suffix(name) in ARCHIVE_EXTENSIONS


def check_image_bytes(name: str, data: bytes, max_pixels: int) -> str | None:
    """Why the uploaded file ``name`` is not a usable image, or None when it is.

    The pixel count is read from the header before anything is decoded, so a
    decompression bomb (a small file that decodes to gigabytes) is refused cheaply.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                width, height = image.size
                if width * height > max_pixels:
                    return _too_many_pixels(name, width, height, max_pixels)
                image.verify()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        return (
            f"{name}: more pixels than is safe to decode (the limit is {max_pixels:,} per "
            "image, LAB_MAX_PIXELS): scale it down and upload it again"
        )
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        return f"{name}: cannot be read as an image ({type(error).__name__})"
    return None


def _too_many_pixels(name: str, width: int, height: int, max_pixels: int) -> str:
    return (
        f"{name}: {width}x{height} = {width * height:,} pixels is over the limit of "
        f"{max_pixels:,} per image (LAB_MAX_PIXELS): scale it down and upload it again"
    )


def safe_name(name: str, what: str = "class name") -> str:
    """``name`` as a single safe folder or file name, or a DataError saying why not.

    Path separators, ``..`` and hidden names are refused outright; other odd characters
    become ``_``.
    """
    text = name.strip()
    if not text:
        raise DataError(f"{what}='': type a name, e.g. 'cat'")
    if "/" in text or "\\" in text or text in (".", "..") or text.startswith("."):
        raise DataError(
            f"{what}={name!r}: use a plain name without '/', '\\' or a leading '.', e.g. 'cat'"
        )
    cleaned = _UNSAFE.sub("_", text)[:MAX_NAME].strip()
    if not cleaned.strip("_"):
        raise DataError(f"{what}={name!r}: use letters or digits, e.g. 'cat'")
    return cleaned
