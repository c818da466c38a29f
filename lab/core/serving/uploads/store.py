"""A session's uploaded images: one folder per class, loadable like any image folder.

The store owns ``<upload root>/<session id>/images/<class>/<file>``. Every write goes
through a check (limits, safe names, image headers) and lands via a temporary file and
``os.replace``, so a refused or failed upload never leaves half a file, and nothing
uploaded before is touched by a later, refused upload.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from lab.core.data.errors import DataError
from lab.core.serving.settings import UploadLimits

from .archive import read_class_zip
from .checks import check_image_bytes, check_upload_size, is_image_name, safe_name


@dataclass
class UploadReport:
    """What one upload added (images per class), refused (named) and skipped (named)."""

    added: dict[str, int] = field(default_factory=dict)
    refused: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    @property
    def n_added(self) -> int:
        return sum(self.added.values())

    def summary(self) -> str:
        """One line for the panel: counts first, then the first few names refused."""
        parts = [f"added {self.n_added} image(s)"]
        if self.added:
            parts[0] += " to " + ", ".join(f"{c} (+{n})" for c, n in self.added.items())
        if self.skipped:
            parts.append(f"skipped {len(self.skipped)} file(s) that are not images")
        if self.refused:
            shown = "; ".join(self.refused[:3])
            more = f" and {len(self.refused) - 3} more" if len(self.refused) > 3 else ""
            parts.append(f"refused {len(self.refused)}: {shown}{more}")
        return " · ".join(parts)


class UploadStore:
    """Classes and images of one session under ``root`` (created on first write)."""

    def __init__(
        self, upload_root: str | Path, limits: UploadLimits, session: str | None = None
    ) -> None:
        self.session = session or uuid.uuid4().hex
        self.root = Path(upload_root).expanduser().resolve() / self.session / "images"
        self.limits = limits

    # -- reading ------------------------------------------------------------------
    def classes(self) -> dict[str, list[str]]:
        """Class name -> sorted image file names, classes in name order."""
        if not self.root.is_dir():
            return {}
        return {
            folder.name: sorted(p.name for p in folder.iterdir() if p.is_file())
            for folder in sorted(self.root.iterdir())
            if folder.is_dir()
        }

    def files(self, class_name: str) -> list[Path]:
        """The image files of ``class_name``."""
        return [self._folder(class_name) / name for name in self.classes().get(class_name, [])]

    # -- classes ------------------------------------------------------------------
    def add_class(self, name: str) -> str:
        """Create class ``name`` (a safe folder name is derived); returns the name used."""
        clean = safe_name(name)
        if clean in self.classes():
            raise DataError(f"class {clean!r} exists already: choose another name")
        self._folder(clean).mkdir(parents=True)
        return clean

    def rename_class(self, old: str, new: str) -> str:
        """Rename class ``old`` to ``new``; its images move with it."""
        source, clean = self._existing(old), safe_name(new)
        if clean == old:
            return clean
        if clean in self.classes():
            raise DataError(f"class {clean!r} exists already: choose another name")
        os.replace(source, self._folder(clean))
        return clean

    def remove_class(self, name: str) -> None:
        """Delete class ``name`` and its images."""
        shutil.rmtree(self._existing(name))

    def remove_image(self, class_name: str, file_name: str) -> None:
        """Delete one image of ``class_name``."""
        path = self._existing(class_name) / safe_name(file_name, "file name")
        if not path.is_file():
            raise DataError(f"class {class_name!r} has no image {file_name!r}")
        path.unlink()

    def clear(self) -> None:
        """Delete the whole session folder (e.g. when the page closes)."""
        shutil.rmtree(self.root.parent, ignore_errors=True)

    # -- uploads ------------------------------------------------------------------
    def add_images(self, class_name: str, files: Iterable[tuple[str, bytes]]) -> UploadReport:
        """Add uploaded ``(file name, bytes)`` pairs to an existing class."""
        files = list(files)
        check_upload_size([len(data) for _, data in files], self.limits)
        folder = self._existing(class_name)
        report = UploadReport()
        for name, data in files:
            self._add_one(folder, name, data, report)
        return report

    def add_zip(self, data: bytes) -> UploadReport:
        """Add the images of a zip of class folders (classes are created as needed)."""
        contents = read_class_zip(data, self.limits)
        report = UploadReport(refused=list(contents.refused), skipped=list(contents.skipped))
        for entry in contents.entries:
            try:
                folder = self._folder(safe_name(entry.class_name))
            except DataError as error:
                report.refused.append(f"{entry.class_name}/{entry.file_name}: {error}")
                continue
            folder.mkdir(parents=True, exist_ok=True)
            self._add_one(folder, entry.file_name, entry.data, report)
        return report

    def _add_one(self, folder: Path, name: str, data: bytes, report: UploadReport) -> None:
        base = name.replace("\\", "/").rsplit("/", 1)[-1]
        if not is_image_name(base):
            report.skipped.append(f"{base}: not an image file")
            return
        problem = check_image_bytes(base, data, self.limits.max_pixels)
        if problem:
            report.refused.append(problem)
            return
        target = _unique(folder, safe_name(base, "file name"))
        temporary = target.with_name(f".{target.name}.tmp")
        try:
            temporary.write_bytes(data)
            os.replace(temporary, target)
        finally:
            temporary.unlink(missing_ok=True)
        report.added[folder.name] = report.added.get(folder.name, 0) + 1

    # -- paths --------------------------------------------------------------------
    def _folder(self, name: str) -> Path:
        return self.root / name

    def _existing(self, name: str) -> Path:
        folder = self._folder(safe_name(name))
        if not folder.is_dir():
            known = ", ".join(map(repr, self.classes())) or "none yet"
            raise DataError(f"class {name!r} does not exist (classes: {known}): add it first")
        return folder


def _unique(folder: Path, name: str) -> Path:
    """``folder / name``, or ``stem-2.ext``, ``stem-3.ext``... if that is taken."""
    target = folder / name
    stem, dot, ext = name.rpartition(".")
    n = 2
    while target.exists():
        target = folder / (f"{stem}-{n}{dot}{ext}" if dot else f"{name}-{n}")
        n += 1
    return target
