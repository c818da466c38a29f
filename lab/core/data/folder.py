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


def _inside(path: Path, root: Path) -> bool:
    """Whether ``path``, links resolved, lies inside the data folder ``root``."""
    return path.resolve().is_relative_to(root.resolve())


def _repeats(link: Path, entries: list[Path]) -> bool:
    """A linked class folder that holds another class folder (or is one, or the root)."""
    target = link.resolve()
    return link.is_symlink() and any(
        other != link and other.resolve().is_relative_to(target) for other in entries
    )


def _class_folders(root: Path) -> tuple[list[Path], list[str]]:
    """Class folders, and a note for each linked one that is not followed."""
    if not root.exists():
        raise DataError(f"path={str(root)!r} does not exist: check the spelling, then {_LAYOUT}")
    if not root.is_dir():
        raise DataError(f"path={str(root)!r} is a file, not a folder: {_LAYOUT}")
    entries = sorted(p for p in root.iterdir() if p.is_dir() and _visible(p))
    # A link out of the data folder is not read (nor its file names listed); a link to
    # the data folder itself would count every other class's images again.
    outside = [p for p in entries if not _inside(p, root)]
    repeats = [p for p in entries if p not in outside and _repeats(p, entries)]
    notes = [f"{p.name}/: a link out of the data folder, not followed" for p in outside]
    notes += [f"{p.name}/: a link to images of other classes, not counted again" for p in repeats]
    folders = [p for p in entries if p not in outside and p not in repeats]
    if not folders:
        loose = sum(1 for p in root.iterdir() if p.is_file() and is_image_file(p))
        found = f"it holds {loose} image(s) but no sub-folders" if loose else "it is empty"
        raise DataError(f"path={str(root)!r} has no class sub-folders ({found}): {_LAYOUT}")
    if len(folders) == 1:
        raise DataError(
            f"path={str(root)!r} has a single class {folders[0].name!r}: a classifier needs "
            f"at least two, so add a sub-folder for each other class ({_LAYOUT})"
        )
    return folders, notes


def _scan(folder: Path, root: Path, seen: set[Path]) -> tuple[list[Path], list[str]]:
    """Usable image files under ``folder`` (recursively) and 'file: reason' for the rest.

    ``seen`` holds the files (links resolved) already counted: each is counted once.
    """
    good: list[Path] = []
    skipped: list[str] = []
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(root)
        if not path.is_file() or any(part.startswith(".") for part in relative.parts):
            continue
        name = relative.as_posix()
        if not _inside(path, root):
            skipped.append(f"{name}: a link out of the data folder, not followed")
            continue
        if path.resolve() in seen:
            skipped.append(f"{name}: the same file as another image, counted once")
            continue
        if not is_image_file(path):
            skipped.append(f"{name}: not an image file ({path.suffix or 'no'} ending)")
            continue
        problem = check_image(path)
        if problem:
            skipped.append(f"{name}: {problem}")
        else:
            seen.add(path.resolve())
            good.append(path)
    return good, skipped


class FolderDataset(ImageDataset):
    """Images read from ``root/<class name>/**/<image file>``; class names sorted.

    Files that are not images, or that Pillow cannot read, are skipped and listed in
    ``skipped`` as ``"relative/path: reason"``.
    """

    def __init__(self, path: str | Path) -> None:
        root = Path(path).expanduser()
        folders, skipped = _class_folders(root)
        files: list[Path] = []
        labels: list[int] = []
        empty: list[str] = []
        seen: set[Path] = set()
        # Real folders first: a linked class that only repeats them ends up empty.
        for label, folder in sorted(enumerate(folders), key=lambda lf: lf[1].is_symlink()):
            good, bad = _scan(folder, root, seen)
            files += good
            labels += [label] * len(good)
            skipped += bad
            if not good:
                empty.append(folder.name)
        if empty:
            why = f"skipped {len(skipped)} file(s): {'; '.join(skipped[:3])}" if skipped else ""
            raise DataError(
                f"path={str(root)!r}: class folder(s) {', '.join(map(repr, empty))} hold no "
                f"readable images{f' ({why})' if why else ''}: add images to them or "
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
