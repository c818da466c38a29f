"""A view of some images of an ImageDataset as a torch Dataset of (tensor, label)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset
from torchvision.transforms import v2

from .base import ImageDataset
from .errors import index_array
from .transforms import ToRGB


def _default_transform() -> v2.Compose:
    return v2.Compose([ToRGB(), v2.ToImage(), v2.ToDtype(torch.float32, scale=True)])


class TorchImageDataset(Dataset[tuple[torch.Tensor, int]]):
    """Images ``indices`` of ``dataset``; item j is ``(transform(image), class label)``.

    Without a transform, images become float tensors in [0, 1] at their own size.
    """

    def __init__(
        self,
        dataset: ImageDataset,
        indices: np.ndarray | Sequence[int],
        transform: Callable[[Any], torch.Tensor] | None = None,
    ) -> None:
        indices = index_array(indices, len(dataset), "indices", repr(dataset.name))
        self.dataset = dataset
        self.indices = indices
        self.transform = transform if transform is not None else _default_transform()
        self.labels: np.ndarray = dataset.labels[indices]

    @property
    def class_names(self) -> tuple[str, ...]:
        """Class names of the underlying data set (labels index into them)."""
        return self.dataset.class_names

    def __len__(self) -> int:
        return int(self.indices.shape[0])

    def __getitem__(self, item: int) -> tuple[torch.Tensor, int]:
        index = int(self.indices[item])
        return self.transform(self.dataset.image(index)), int(self.dataset.labels[index])
