"""Where the data panel's images come from, as the settings allow.

Three kinds of source: a data set by name, a typed folder path, and the session's
uploads. In dashboard mode a typed path must lie inside the data roots (or the
session's own upload folder), and messages show paths relative to a named root.
"""

from __future__ import annotations

from pathlib import Path

from lab.core.data import DataError, list_datasets
from lab.core.data.roots import DataRoot, resolve_folder, scrub
from lab.core.serving.settings import LabSettings
from lab.core.serving.uploads import UploadStore

FOLDER = "folder"
UPLOADS = "uploads"
UPLOADS_NAME = "your images"


def dataset_options() -> list[tuple[str, str]]:
    """Dropdown options (label, name): built-ins, downloads marked, a folder, uploads."""
    options = []
    for info in sorted(list_datasets(), key=lambda i: not i.offline):
        if info.name == FOLDER:
            continue
        suffix = "" if info.offline else " · needs download"
        options.append((f"{info.title}{suffix}", info.name))
    options.append(("Image folder…", FOLDER))
    options.append(("Your images (upload)…", UPLOADS))
    return options


class DataSources:
    """Turns the panel's choice into a folder the data layer may read."""

    def __init__(self, settings: LabSettings, store: UploadStore) -> None:
        self.settings, self.store = settings, store

    @property
    def roots(self) -> list[DataRoot]:
        """The roots typed paths may use: the configured ones, then the uploads."""
        found = [DataRoot.of(path) for path in self.settings.roots]
        return [*found, DataRoot(self.store.root, UPLOADS_NAME)]

    def roots_note(self) -> str:
        """Which folders a participant may type (dashboard mode), for the path box."""
        if not self.settings.dashboard:
            return ""
        names = ", ".join(root.name for root in self.roots)
        return f"folders inside: {names}"

    def folder(self, name: str, typed: str) -> tuple[Path, str] | None:
        """``(folder, name to show)`` for the folder and upload sources; None otherwise."""
        if name == UPLOADS:
            if not self.store.classes():
                raise DataError(
                    "no images uploaded yet: upload a zip of class folders, or add classes "
                    "and upload images into each"
                )
            return self.store.root, UPLOADS_NAME
        if name != FOLDER:
            return None
        if not typed.strip():
            raise DataError(
                "path='': type the folder that holds one sub-folder of images per class"
            )
        if not self.settings.dashboard:
            return Path(typed.strip()).expanduser(), typed.strip()
        return resolve_folder(typed, self.roots)

    def message(self, text: str, folder: tuple[Path, str] | None) -> str:
        """``text`` without absolute server paths (dashboard mode and uploads)."""
        text = scrub(text, self.store.root, UPLOADS_NAME)
        if folder is not None and self.settings.dashboard:
            text = scrub(text, folder[0], folder[1])
        return text
