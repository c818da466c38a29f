"""Write a data set out as an image folder (one sub-folder per class), e.g. for a script.

Files are named by their index in the data set, zero-padded, so reading the folder back
in sorted order gives each class's images in their original order: the seeded split of
the folder then holds the very images the lab's split of the data set held.
"""

from __future__ import annotations

from pathlib import Path

from .base import ImageDataset
from .errors import DataError


def class_folder_names(class_names: tuple[str, ...]) -> list[str]:
    """Folder names whose sorted order is the label order (numbered when names are not)."""
    names = [name.replace("/", "_") for name in class_names]
    if sorted(names) == names and len(set(names)) == len(names):
        return names
    width = len(str(len(names) - 1))
    return [f"{label:0{width}d}_{name}" for label, name in enumerate(names)]


def write_image_folder(dataset: ImageDataset, folder: str | Path) -> Path:
    """Write every image of ``dataset`` as ``folder/<class>/<index>.png``; return ``folder``.

    Refuses a folder that already holds files, so nothing of the user's is overwritten.
    """
    root = Path(folder).expanduser()
    if root.exists() and any(root.iterdir()):
        raise DataError(
            f"folder={str(root)!r} is not empty: choose a new folder to write the images to"
        )
    names = class_folder_names(dataset.class_names)
    for name in names:
        (root / name).mkdir(parents=True, exist_ok=True)
    width = len(str(max(len(dataset) - 1, 0)))
    for index, label in enumerate(dataset.labels.tolist()):
        dataset.image(index).save(root / names[label] / f"{index:0{width}d}.png")
    return root
