"""Reading an uploaded zip of class folders without trusting it.

Nothing is extracted by path: each entry's name is checked (no absolute paths, no
``..``, no symbolic links or device files, no nested archives), its size is bounded,
and only its bytes are handed on; the store decides where they go. Refused entries are
named, non-image files are counted, and the rest of the zip still comes in.
"""

from __future__ import annotations

import io
import stat
import zipfile
from dataclasses import dataclass, field

from lab.core.serving.settings import UploadLimits

from .checks import UploadError, check_upload_size, is_archive_name, is_image_name

_LITTER = ("__MACOSX", ".DS_Store", "Thumbs.db")


@dataclass(frozen=True)
class ArchiveEntry:
    """One image file of the zip: its class (folder), file name and bytes."""

    class_name: str
    file_name: str
    data: bytes


@dataclass
class ZipContents:
    """What a zip holds that may come in, and what was refused or skipped, by name."""

    entries: list[ArchiveEntry] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def _unsafe_reason(info: zipfile.ZipInfo) -> str | None:
    name = info.filename
    parts = name.replace("\\", "/").split("/")
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        return f"{name}: absolute paths are not allowed in a zip (refused)"
    if ".." in parts:
        return f"{name}: '..' in a zip entry could write outside its folder (refused)"
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        return f"{name}: symbolic links are not unpacked (refused)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) or stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode):
        return f"{name}: device files and pipes are not unpacked (refused)"
    if is_archive_name(name):
        return f"{name}: archives inside the zip are not unpacked: unzip it and upload its images"
    return None


def _is_litter(parts: list[str]) -> bool:
    return any(part in _LITTER or part.startswith(".") for part in parts)


def _class_parts(names: list[list[str]]) -> int:
    """How many leading folders to drop: one if the whole zip sits in a single folder."""
    tops = {parts[0] for parts in names}
    if len(tops) == 1 and all(len(parts) >= 3 for parts in names):
        return 1
    return 0


def read_class_zip(data: bytes, limits: UploadLimits) -> ZipContents:
    """The images of a zip laid out as ``<class>/<image>`` (optionally in one top folder).

    Raises UploadError for a file that is not a zip, a zip over the limits or one with
    no images; entries that are unsafe are refused by name, other files skipped.
    """
    check_upload_size([len(data)], limits)
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise UploadError(
            "the file is not a zip archive: zip your class folders and retry"
        ) from None
    with archive:
        infos = [i for i in archive.infolist() if not i.is_dir()]
        contents = ZipContents()
        safe = []
        for info in infos:
            reason = _unsafe_reason(info)
            if reason:
                contents.refused.append(reason)
            elif not _is_litter(info.filename.split("/")):
                safe.append(info)
        check_upload_size([i.file_size for i in safe], _unpacked(limits))
        _collect(archive, safe, contents)
    if not contents.entries:
        found = "it is empty" if not infos else "none of its files is an image in a class folder"
        if contents.refused:
            found = "refused: " + "; ".join(contents.refused[:3])
        raise UploadError(
            f"the zip holds no usable images ({found}): put the images in one folder per "
            "class, e.g. cat/1.jpg, dog/2.jpg, and zip those folders"
        )
    return contents


def _unpacked(limits: UploadLimits) -> UploadLimits:
    # Images barely compress, so unpacked sizes far above the zip's own mean a zip bomb.
    return UploadLimits(4 * limits.max_bytes, limits.max_files, limits.max_pixels)


def _collect(archive: zipfile.ZipFile, infos: list[zipfile.ZipInfo], out: ZipContents) -> None:
    names = [info.filename.split("/") for info in infos]
    drop = _class_parts(names)
    for info, parts in zip(infos, names, strict=True):
        parts = parts[drop:]
        if not is_image_name(info.filename):
            out.skipped.append(f"{info.filename}: not an image file")
        elif len(parts) < 2:
            out.skipped.append(f"{info.filename}: not inside a class folder")
        else:
            with archive.open(info) as handle:
                data = handle.read(info.file_size + 1)
            out.entries.append(ArchiveEntry(parts[0], parts[-1], data))
