"""torchvision data sets: downloaded once when online, then read from ``root``.

All official splits of a data set are pooled into one ImageDataset; the lab draws its own
stratified train/validation/test split from the pool.
"""

from __future__ import annotations

import os
import tarfile
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from .base import ImageDataset
from .errors import DataError

#: Where downloads go unless ``root`` is given; the environment variable moves it.
DATA_DIR_VARIABLE = "TRANSFER_LAB_DATA"
OFFLINE_CHOICES = ("animal_shapes", "mnist5k", "digits")


def default_root() -> Path:
    """Download folder: ``$TRANSFER_LAB_DATA`` or ``~/.cache/transfer-lab/datasets``."""
    configured = os.environ.get(DATA_DIR_VARIABLE)
    if configured:
        return Path(configured).expanduser()
    return Path.home() / ".cache" / "transfer-lab" / "datasets"


@dataclass(frozen=True)
class TorchvisionSource:
    """How to build one torchvision data set: class name and keyword sets, one per split."""

    title: str
    class_name: str
    splits: tuple[dict[str, Any], ...]
    description: str


SOURCES: dict[str, TorchvisionSource] = {
    "cifar10": TorchvisionSource(
        "CIFAR-10",
        "CIFAR10",
        ({"train": True}, {"train": False}),
        "60,000 colour photos, 32x32, 10 classes (airplane ... truck); about 170 MB.",
    ),
    "fashion_mnist": TorchvisionSource(
        "Fashion-MNIST",
        "FashionMNIST",
        ({"train": True}, {"train": False}),
        "70,000 clothing images, 28x28 grayscale, 10 classes; about 30 MB.",
    ),
    "oxford_pets": TorchvisionSource(
        "Oxford-IIIT Pets",
        "OxfordIIITPet",
        ({"split": "trainval"}, {"split": "test"}),
        "7,349 photos of 37 cat and dog breeds; about 800 MB.",
    ),
    "flowers102": TorchvisionSource(
        "Flowers-102",
        "Flowers102",
        ({"split": "train"}, {"split": "val"}, {"split": "test"}),
        "8,189 photos of 102 flower species; about 350 MB.",
    ),
    "eurosat": TorchvisionSource(
        "EuroSAT",
        "EuroSAT",
        ({},),
        "27,000 Sentinel-2 satellite tiles, 64x64 RGB, 10 land-use classes; about 90 MB.",
    ),
}


def _labels_of(part: Any) -> np.ndarray:
    # Read labels from the data set's own lists so that images are not decoded just to
    # learn their class; fall back to iterating for sets that keep them elsewhere.
    for attribute in ("targets", "_labels", "labels"):
        values = getattr(part, attribute, None)
        if values is not None and len(values) == len(part):
            return np.asarray([int(v) for v in values], dtype=np.int64)
    return np.asarray([int(part[i][1]) for i in range(len(part))], dtype=np.int64)


class TorchvisionDataset(ImageDataset):
    """One or more torchvision data sets (their splits) seen as one ImageDataset."""

    def __init__(self, name: str, parts: Sequence[Any], class_names: Sequence[str]) -> None:
        self.parts = list(parts)
        self._ends = np.cumsum([len(part) for part in self.parts])
        labels = np.concatenate([_labels_of(part) for part in self.parts])
        super().__init__(name, tuple(class_names), labels)

    def _load(self, index: int) -> Image.Image:
        which = int(np.searchsorted(self._ends, index, side="right"))
        start = int(self._ends[which - 1]) if which else 0
        image = self.parts[which][index - start][0]
        if not isinstance(image, Image.Image):
            raise DataError(f"{self.name}: item {index} is {type(image).__name__}, not an image")
        return image


def _offline_error(name: str, root: Path, download: bool, error: Exception) -> DataError:
    source = SOURCES[name]
    action = "could not be downloaded" if download else "is not in root (download=False)"
    return DataError(
        f"{source.title} ({name!r}) {action}: {type(error).__name__}: {error}. "
        f"Run once with network access to download it into root={str(root)!r}, or copy the "
        f"files of torchvision.datasets.{source.class_name} there yourself; without network, "
        f"choose a built-in offline data set: {', '.join(OFFLINE_CHOICES)}."
    )


def load_torchvision(
    name: str, root: str | Path | None = None, download: bool = True
) -> TorchvisionDataset:
    """Load torchvision data set ``name`` (a key of :data:`SOURCES`), downloading if allowed.

    Raises DataError when the files are neither in ``root`` nor downloadable.
    """
    import torchvision.datasets

    source = SOURCES[name]
    folder = Path(root).expanduser() if root is not None else default_root()
    builder: Callable[..., Any] = getattr(torchvision.datasets, source.class_name)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        parts = [builder(root=str(folder), download=download, **kw) for kw in source.splits]
    except (OSError, RuntimeError, tarfile.TarError, zipfile.BadZipFile) as error:
        # URLError and socket errors are OSErrors; torchvision raises RuntimeError for
        # missing or corrupt files; a cut-off download fails to extract.
        raise _offline_error(name, folder, download, error) from error
    classes = getattr(parts[0], "classes", None)
    if not classes:
        classes = [str(c) for c in range(int(_labels_of(parts[0]).max()) + 1)]
    return TorchvisionDataset(name, parts, classes)
