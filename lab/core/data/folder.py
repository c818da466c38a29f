"""Your own images: a folder with one sub-folder per class."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from .base import ImageDataset
from .errors import DataError
from .images import check_image, is_image_file, open_rgb

_LAYOUT = "put the images in one sub-folder per class, e.g. <path>/cat/1.jpg, <path>/dog/2.jpg"


def _visible(path: Path) -> bool:
    # Hidden entries (.DS_Store, .ipynb_checkpoints, ...) are tool litter, not data.
    return not path.name.startswith(".")


def _class_folders(root: Path) -> list[Path]:
    if not root.exists():
        raise DataError(f"path={str(root)!r} does not exist: check the spelling, then {_LAYOUT}")
    if not root.is_dir():
        raise DataError(f"path={str(root)!r} is a file, not a folder: {_LAYOUT}")
    folders = sorted(p for p in root.iterdir() if p.is_dir() and _visible(p))
    if not folders:
        loose = sum(1 for p in root.iterdir() if p.is_file() and is_image_file(p))
        found = f"it holds {loose} image(s) but no sub-folders" if loose else "it is empty"
        raise DataError(f"path={str(root)!r} has no class sub-folders ({found}): {_LAYOUT}")
    if len(folders) == 1:
        raise DataError(
            f"path={str(root)!r} has a single class {folders[0].name!r}: a classifier needs "
            f"at least two, so add a sub-folder for each other class ({_LAYOUT})"
        )
    return folders


def _scan(folder: Path, root: Path) -> tuple[list[Path], list[str]]:
    """Usable image files under ``folder`` (recursively) and 'file: reason' for the rest."""
    good: list[Path] = []
    skipped: list[str] = []
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(root)
        if not path.is_file() or any(part.startswith(".") for part in relative.parts):
            continue
        if not is_image_file(path):
            skipped.append(
                f"{relative.as_posix()}: not an image file ({path.suffix or 'no'} ending)"
            )
            continue
        problem = check_image(path)
        if problem:
            skipped.append(f"{relative.as_posix()}: {problem}")
        else:
            good.append(path)
    return good, skipped


class FolderDataset(ImageDataset):
    """Images read from ``root/<class name>/**/<image file>``; class names sorted.

    Files that are not images, or that Pillow cannot read, are skipped and listed in
    ``skipped`` as ``"relative/path: reason"``.
    """

    def __init__(self, path: str | Path) -> None:
        root = Path(path).expanduser()
        folders = _class_folders(root)
        files: list[Path] = []
        labels: list[int] = []
        skipped: list[str] = []
        empty: list[str] = []
        for label, folder in enumerate(folders):
            good, bad = _scan(folder, root)
            files += good
            labels += [label] * len(good)
            skipped += bad
            if not good:
                empty.append(folder.name)
        if empty:
            seen = f"skipped {len(skipped)} file(s): {'; '.join(skipped[:3])}" if skipped else ""
            raise DataError(
                f"path={str(root)!r}: class folder(s) {', '.join(map(repr, empty))} hold no "
                f"readable images{f' ({seen})' if seen else ''}: add images to them or "
                "remove those folders"
            )
        super().__init__(
            f"folder:{root.name}",
            tuple(folder.name for folder in folders),
            np.asarray(labels, dtype=np.int64),
            skipped,
        )
        self.root = root
        self.files: tuple[Path, ...] = tuple(files)

    def _load(self, index: int) -> Image.Image:
        return open_rgb(self.files[index])
