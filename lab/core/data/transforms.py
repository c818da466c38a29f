"""Preprocessing that matches the chosen weights, with optional training augmentation."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import torch
from PIL import Image
from torchvision.transforms import InterpolationMode, v2

from .base import ImageDataset
from .errors import DataError
from .images import to_rgb

IMAGENET_MEAN: tuple[float, float, float] = (0.485, 0.456, 0.406)
IMAGENET_STD: tuple[float, float, float] = (0.229, 0.224, 0.225)

Size = int | Sequence[int]


class PreprocessingLike(Protocol):
    """What :func:`build_transform` reads: any object with these attributes will do."""

    @property
    def mean(self) -> Sequence[float]: ...

    @property
    def std(self) -> Sequence[float]: ...

    @property
    def resize_size(self) -> Size: ...

    @property
    def crop_size(self) -> Size: ...


@dataclass(frozen=True)
class Preprocessing:
    """Evaluation preprocessing of a set of weights: resize, centre crop, normalize."""

    mean: tuple[float, ...] = IMAGENET_MEAN
    std: tuple[float, ...] = IMAGENET_STD
    resize_size: int = 256
    crop_size: int = 224
    interpolation: str = "bilinear"


class ToRGB:
    """Transform step: any PIL mode -> RGB (grayscale becomes three equal channels).

    A class rather than a lambda so that data loader worker processes can pickle it.
    """

    def __call__(self, image: Image.Image) -> Image.Image:
        return to_rgb(image)

    def __repr__(self) -> str:
        return "ToRGB()"


def _first(size: Size) -> int:
    return int(size) if isinstance(size, (int, np.integer)) else int(size[0])


def _as_size(size: Size) -> int | list[int]:
    if isinstance(size, (int, np.integer)):
        return int(size)
    values = [int(v) for v in size]
    return values[0] if len(values) == 1 else values


def _interpolation(preproc: Any) -> InterpolationMode:
    value = getattr(preproc, "interpolation", InterpolationMode.BILINEAR)
    if isinstance(value, InterpolationMode):
        return value
    try:
        return InterpolationMode(str(value).lower())
    except ValueError:
        # timm and torchvision name some modes differently; bilinear is a safe fallback.
        return InterpolationMode.BILINEAR


def sizes(preproc: PreprocessingLike, image_size: int | None = None) -> tuple[Size, Size]:
    """(resize size, crop size); ``image_size`` replaces the crop, keeping the weights'
    resize-to-crop ratio (e.g. 256/224), so small images can be used for fast CPU runs."""
    if image_size is None:
        return _as_size(preproc.resize_size), _as_size(preproc.crop_size)
    if isinstance(image_size, bool) or image_size < 1:
        raise DataError(f"image_size={image_size}: choose a positive number of pixels, or None")
    ratio = _first(preproc.resize_size) / _first(preproc.crop_size)
    return max(image_size, round(image_size * ratio)), int(image_size)


#: Data sets whose images change meaning when mirrored (digits; letters and text alike).
NO_FLIP_DATASETS = frozenset({"digits", "mnist5k"})


def allows_flip(dataset_name: str) -> bool:
    """Whether mirroring keeps ``dataset_name``'s images what they are (not for digits)."""
    return dataset_name not in NO_FLIP_DATASETS


def augmentations(dataset_name: str) -> tuple[str, ...]:
    """The training augmentations :func:`build_transform` applies to ``dataset_name``."""
    flip = ("horizontal flip",) if allows_flip(dataset_name) else ()
    return ("random crop", *flip, "rotation ±10°", "colour jitter")


def build_transform(
    preproc: PreprocessingLike,
    image_size: int | None = None,
    augment: bool = False,
    train: bool = True,
    flip: bool = True,
) -> v2.Compose:
    """PIL image (any mode) -> normalized float tensor (3, crop, crop).

    Evaluation (and training without ``augment``): resize the shorter side, centre crop.
    Training with ``augment``: random resized crop, horizontal flip (when ``flip``; see
    :func:`allows_flip`), small rotation and colour jitter. ``image_size`` overrides the
    crop size of ``preproc``.
    """
    resize, crop = sizes(preproc, image_size)
    interpolation = _interpolation(preproc)
    steps: list[Callable[..., Any]] = [ToRGB()]
    if train and augment:
        steps += [
            v2.RandomResizedCrop(crop, scale=(0.5, 1.0), interpolation=interpolation),
            *([v2.RandomHorizontalFlip()] if flip else []),
            v2.RandomRotation(10, interpolation=InterpolationMode.BILINEAR),
            v2.ColorJitter(brightness=0.3, contrast=0.3, saturation=0.3, hue=0.02),
        ]
    else:
        steps += [v2.Resize(resize, interpolation=interpolation), v2.CenterCrop(crop)]
    steps += [
        v2.ToImage(),
        v2.ToDtype(torch.float32, scale=True),
        v2.Normalize(mean=list(preproc.mean), std=list(preproc.std)),
    ]
    return v2.Compose(steps)


def _normalization(transform: Callable[..., Any]) -> tuple[list[float], list[float]] | None:
    for step in getattr(transform, "transforms", []):
        if isinstance(step, v2.Normalize):
            return list(step.mean), list(step.std)
    return None


def tensor_to_image(
    tensor: torch.Tensor,
    mean: Sequence[float] | None = None,
    std: Sequence[float] | None = None,
) -> Image.Image:
    """A (3, H, W) tensor as an RGB PIL image, undoing ``Normalize(mean, std)`` if given."""
    values = tensor.detach().float().cpu()
    if mean is not None and std is not None:
        values = values * torch.tensor(std).view(-1, 1, 1) + torch.tensor(mean).view(-1, 1, 1)
    pixels = (values.clamp(0, 1) * 255).round().to(torch.uint8).permute(1, 2, 0).numpy()
    return to_rgb(Image.fromarray(pixels.squeeze(-1) if pixels.shape[-1] == 1 else pixels))


def augmented_samples(
    dataset: ImageDataset,
    index: int,
    n: int,
    transform: Callable[..., Any],
    seed: int = 0,
) -> list[Image.Image]:
    """``n`` results of ``transform`` on image ``index``, as displayable RGB images.

    Draws from a seeded random state (the global one is left untouched), so a preview
    shows the same variations each time it is drawn.
    """
    if n < 1:
        raise DataError(f"n={n}: choose at least 1 sample")
    source = dataset.image(index)
    stats = _normalization(transform)
    mean, std = stats if stats else (None, None)
    results = []
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for _ in range(n):
            out = transform(source)
            results.append(tensor_to_image(out, mean, std) if torch.is_tensor(out) else out)
    return results
