"""Decoded images kept in memory as uint8 tensors, turned into model inputs per batch.

The per-image pipeline (PIL decode, resize, crop) is the expensive part of loading; it
gives uint8 pixels, and only the last steps (to float, normalize) make them floats. So
a split of a small data set keeps each image's uint8 pixels once they are decoded (the
first epoch fills the store) and finishes whole batches at once, on the run's device:
on a GPU the float conversion, normalization and augmentation run there, not in Python
on the CPU. The float results equal the per-image pipeline's: the same uint8 pixels go
through the same arithmetic.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch.utils.data import Dataset
from torchvision.transforms import v2

from .base import ArrayImageDataset
from .torch_dataset import TorchImageDataset
from .transforms import ToRGB

#: Splits whose decoded pixels would take more than this stay on the per-image path.
MAX_BYTES = 512 * 2**20


def _split(transform: Any) -> tuple[list[Any], list[Any], v2.Normalize] | None:
    """(steps up to uint8 pixels, random steps, normalization) of a ``build_transform``
    pipeline, or None for a pipeline of another shape (it then stays per-image)."""
    steps = list(getattr(transform, "transforms", []))
    kinds = [type(s) for s in steps]
    if v2.ToImage not in kinds or not steps or not isinstance(steps[-1], v2.Normalize):
        return None
    at = kinds.index(v2.ToImage)
    if kinds[at + 1 :] != [v2.ToDtype, v2.Normalize]:
        return None
    fixed: list[Any] = []
    random: list[Any] = []
    for step in steps[:at]:
        (random if _is_random(step) else fixed).append(step)
    if random and steps[: len(fixed)] != fixed:
        return None  # a fixed step after a random one: the order cannot be kept
    return fixed, random, steps[-1]


def _gray_steps(split: TorchImageDataset, fixed: list[Any]) -> list[Any] | None:
    """The decode steps for a split of grayscale images, with ``ToRGB`` left out.

    Resizing and cropping treat every channel alike (PIL resamples each band with the
    same weights and rounding), so doing them on the one stored channel and repeating it
    afterwards gives the same pixels as doing them on three equal channels, at a third
    of the resampling work and memory. None where that does not hold.
    """
    dataset = split.dataset
    if not isinstance(dataset, ArrayImageDataset) or not dataset.grayscale:
        return None
    if not fixed or not isinstance(fixed[0], ToRGB):
        return None
    if not all(isinstance(step, v2.Resize | v2.CenterCrop) for step in fixed[1:]):
        return None
    return [*fixed[1:], v2.ToImage()]


def _is_random(step: Any) -> bool:
    return isinstance(
        step, v2.RandomResizedCrop | v2.RandomHorizontalFlip | v2.RandomRotation | v2.ColorJitter
    )


class DecodedImages(Dataset[tuple[torch.Tensor, int]]):
    """A :class:`TorchImageDataset` of in-memory images, its decoded uint8 pixels kept.

    ``dataset[i]`` gives what the wrapped split gives; :meth:`batch` gives a whole batch
    on ``device`` (see :meth:`place`), with the random steps (augmentation) applied per
    image there.
    """

    def __init__(self, split: TorchImageDataset) -> None:
        pieces = _split(split.transform)
        if pieces is None:
            raise ValueError("DecodedImages: the split's transform is not a build_transform one")
        fixed, random, normalize = pieces
        self.split = split
        self.labels = torch.as_tensor(split.labels, dtype=torch.long)
        self._decode_steps = [*fixed, v2.ToImage()]
        self._gray = _gray_steps(split, fixed)
        self._random = v2.Compose(random) if random else None
        self._mean = torch.tensor(normalize.mean).view(1, -1, 1, 1)
        self._std = torch.tensor(normalize.std).view(1, -1, 1, 1)
        self._pixels: list[torch.Tensor | None] = [None] * len(split)
        self.device = torch.device("cpu")
        self.layout: Callable[[torch.Tensor], torch.Tensor] = lambda x: x

    @property
    def class_names(self) -> tuple[str, ...]:
        return self.split.class_names

    @property
    def indices(self) -> Any:
        """Image numbers of the wrapped split in its data set."""
        return self.split.indices

    @property
    def dataset(self) -> Any:
        """The wrapped split's :class:`ImageDataset`."""
        return self.split.dataset

    @property
    def transform(self) -> Any:
        """The wrapped split's per-image transform."""
        return self.split.transform

    @property
    def complete(self) -> bool:
        """Whether every image's pixels are in memory."""
        return all(p is not None for p in self._pixels)

    @property
    def kept_bytes(self) -> int:
        """Bytes of decoded pixels held now."""
        return sum(p.numel() * p.element_size() for p in self._pixels if p is not None)

    def forget(self) -> None:
        """Let the kept pixels go (the run is over); any asked for again are decoded again."""
        self._pixels = [None] * len(self.split)

    def place(
        self, device: torch.device, layout: Callable[[torch.Tensor], torch.Tensor] | None = None
    ) -> None:
        """Finish batches on ``device``, in the memory ``layout`` the model wants."""
        self.device = device
        self._mean, self._std = self._mean.to(device), self._std.to(device)
        if layout is not None:
            self.layout = layout

    @property
    def computes_here(self) -> bool:
        """Whether batches are finished on the CPU without random steps, where the model
        computes too: loading them ahead would compete with it for the cores."""
        return self.device.type == "cpu" and self._random is None

    def __len__(self) -> int:
        return len(self.split)

    def pixels(self, item: int) -> torch.Tensor:
        """uint8 (C, H, W) pixels of image ``item`` (before any random step); C is 1 for
        grayscale images, whose three equal channels are made in :meth:`batch`."""
        kept = self._pixels[item]
        if kept is None:
            index, source = int(self.split.indices[item]), self.split.dataset
            if self._gray is not None and isinstance(source, ArrayImageDataset):
                image = _through(self._gray, source.stored_image(index))
            else:
                image = _through(self._decode_steps, source.image(index))
            kept = torch.as_tensor(image).clone()
            self._pixels[item] = kept
        return kept

    def __getitem__(self, item: int) -> tuple[torch.Tensor, int]:
        return self._finish([self.pixels(item)], torch.device("cpu"))[0], int(self.labels[item])

    def batch(self, positions: Sequence[int] | torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(inputs, labels)`` of ``positions``: inputs on the placed device, normalized."""
        items = torch.as_tensor(positions).tolist()
        if self._random is not None and self.device.type == "cpu":
            # On a CPU, PIL augments faster than tensor ops: the per-image path as before.
            inputs = torch.stack([self.split[i][0] for i in items])
            return self.layout(inputs), self.labels[items]
        inputs = self._finish([self.pixels(i) for i in items], self.device)
        return self.layout(inputs), self.labels[items]

    def _finish(self, pixels: list[torch.Tensor], device: torch.device) -> torch.Tensor:
        moved = [p.to(device, non_blocking=True) for p in pixels]
        if self._random is not None:  # per image, so each gets its own random draw
            moved = [self._random(p.repeat(3, 1, 1) if len(p) == 1 else p) for p in moved]
        # The arithmetic of v2.ToDtype(float32, scale=True) and v2.Normalize, batched.
        stacked = torch.stack(moved).to(torch.float32).mul_(1.0 / 255)
        mean, std = self._mean.to(device), self._std.to(device)
        if stacked.shape[1] == 1:  # grayscale: three equal channels, as ToRGB makes them
            return stacked.expand(-1, 3, -1, -1).sub(mean).div_(std)
        return stacked.sub_(mean).div_(std)


def _through(steps: Sequence[Any], image: Any) -> Any:
    """``image`` through ``steps`` in turn, as ``v2.Compose`` would: a v2 step is applied
    by its own ``transform``, without ``forward``'s sorting out of a sample of several
    inputs, a third of the time of decoding a small image."""
    for step in steps:
        if isinstance(step, v2.Transform):
            image = step.transform(image, step.make_params([image]))
        else:
            image = step(image)
    return image


def decoded(split: Any, limit_bytes: int = MAX_BYTES) -> Any:
    """``split`` wrapped as :class:`DecodedImages` when that is possible and small enough
    (a uint8 image of every item within ``limit_bytes``); ``split`` itself otherwise."""
    if not isinstance(split, TorchImageDataset) or not isinstance(split.dataset, ArrayImageDataset):
        return split  # image files may be large and many: they stay on the per-image path
    if len(split) == 0 or _split(split.transform) is None:
        return split
    wrapped = DecodedImages(split)
    sample = wrapped.pixels(0)
    if sample.numel() * len(split) > limit_bytes:
        return split
    return wrapped
