"""The image data set interface every source (built-in, torchvision, folder) provides."""

from __future__ import annotations

import abc

import numpy as np
from PIL import Image

from .errors import DataError, index_array
from .images import to_rgb


class ImageDataset(abc.ABC):
    """Labelled images with class names; ``image(i)`` always returns an RGB PIL image.

    Subclasses set ``name``, ``class_names`` and ``labels`` and implement ``_load``.
    """

    name: str
    class_names: tuple[str, ...]
    labels: np.ndarray
    skipped: list[str]

    def __init__(
        self,
        name: str,
        class_names: tuple[str, ...],
        labels: np.ndarray,
        skipped: list[str] | None = None,
    ) -> None:
        labels = index_array(labels, len(class_names), "labels", f"{name} (one per class name)")
        labels.setflags(write=False)
        self.name = name
        self.class_names = tuple(class_names)
        self.labels = labels
        self.skipped = list(skipped or [])

    @property
    def num_classes(self) -> int:
        """Number of classes (``len(class_names)``)."""
        return len(self.class_names)

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def __repr__(self) -> str:
        names = ", ".join(self.class_names[:5]) + (", ..." if self.num_classes > 5 else "")
        skipped = f", {len(self.skipped)} files skipped" if self.skipped else ""
        return (
            f"<{type(self).__name__} {self.name!r}: {len(self):,} images, "
            f"{self.num_classes} classes ({names}){skipped}>"
        )

    def image(self, index: int) -> Image.Image:
        """Image number ``index`` as an RGB PIL image."""
        if not -len(self) <= index < len(self):
            raise IndexError(f"index={index} is out of range for {len(self)} images")
        return to_rgb(self._load(int(index) % len(self)))

    @abc.abstractmethod
    def _load(self, index: int) -> Image.Image:
        """Image number ``index`` (0 <= index < len) in any mode."""

    def class_counts(self) -> np.ndarray:
        """Number of images per class, indexed like ``class_names``."""
        return np.bincount(self.labels, minlength=self.num_classes)

    def indices_by_class(self) -> dict[int, np.ndarray]:
        """Image indices of each class (ascending), for every class in ``class_names``."""
        order = np.argsort(self.labels, kind="stable")
        bounds = np.cumsum(self.class_counts())[:-1]
        return {c: part for c, part in enumerate(np.split(order, bounds))}

    def samples_per_class(self, k: int, seed: int = 0) -> dict[int, np.ndarray]:
        """Up to ``k`` random image indices per class (for a preview grid), fixed per seed."""
        if k < 1:
            raise DataError(f"k={k}: choose at least 1 sample per class")
        rng = np.random.default_rng(seed)
        return {
            c: rng.permutation(indices)[:k] if indices.size else indices
            for c, indices in self.indices_by_class().items()
        }


class ArrayImageDataset(ImageDataset):
    """Images held in memory as a uint8 array: (N, H, W) grayscale or (N, H, W, 3) RGB."""

    def __init__(
        self,
        name: str,
        images: np.ndarray,
        labels: np.ndarray,
        class_names: tuple[str, ...],
    ) -> None:
        if images.dtype != np.uint8 or images.ndim not in (3, 4):
            raise DataError(
                f"{name}: images must be a uint8 array (N, H, W) or (N, H, W, 3), "
                f"got {images.dtype} {images.shape}"
            )
        if images.shape[0] != len(labels):
            raise DataError(f"{name}: {images.shape[0]} images but {len(labels)} labels")
        super().__init__(name, class_names, labels)
        self.images = images

    @property
    def grayscale(self) -> bool:
        """Whether the images are stored with one channel."""
        return self.images.ndim == 3

    def stored_image(self, index: int) -> Image.Image:
        """Image number ``index`` in the mode it is stored in: "L" or "RGB"."""
        return Image.fromarray(self.images[index])

    def _load(self, index: int) -> Image.Image:
        return self.stored_image(index)
