"""Frozen backbone features for the probe and the data-efficiency curve.

A backbone's penultimate features are what its head receives; the engine's
``extract_features`` reads them with a hook on the head, for any architecture.
Images are turned into tensors once and kept in memory: the probe and the curve look
at a few hundred small images, not a whole data set.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch
from torch import nn

from lab.core.data import ImageDataset, TorchImageDataset
from lab.core.data.decoded import DecodedImages, decoded
from lab.core.hardware.device import setup_device
from lab.core.hardware.layout import choose_layout, to_layout
from lab.core.training.cached_features import FrozenFeatures


def load_images(
    dataset: ImageDataset,
    indices: np.ndarray | Sequence[int],
    transform: Callable[[Any], torch.Tensor],
) -> torch.Tensor:
    """Images ``indices`` of ``dataset`` through ``transform``, stacked as (N, 3, H, W)."""
    indices = np.asarray(indices, dtype=np.int64)
    if indices.size == 0:
        raise ValueError("indices: choose at least one image")
    split = decoded(TorchImageDataset(dataset, indices, transform))
    if isinstance(split, DecodedImages):  # in-memory images: the batched decode, same values
        return split.batch(torch.arange(len(split)))[0]
    return torch.stack([transform(dataset.image(int(i))) for i in indices])


def penultimate_features(
    model: nn.Module,
    head: nn.Module,
    images: torch.Tensor,
    batch_size: int = 64,
    device: str = "cpu",
    layout: str = "auto",
) -> np.ndarray:
    """Features entering ``head`` (a submodule of ``model``) for each image, (N, D) float32.

    Batch by batch through the engine's own feature extraction (BatchNorm folded into
    the convolutions), so the probe and the curve see exactly the features a
    feature-extraction run caches. ``layout`` is the memory layout
    (:mod:`lab.core.hardware.layout`; "auto" measures the faster one once per model
    class and image size, as runs do): channels_last made the probe's forward passes of
    64 px images about a third faster on CPU.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size={batch_size}: choose at least 1 image per batch")
    if len(images) == 0:
        raise ValueError("images: no images were given, so there are no features")
    setup = setup_device(device)
    model.to(setup.device)
    chosen = choose_layout(model, tuple(images.shape[1:]), setup, layout)
    features = FrozenFeatures(model, head, setup)
    parts = [
        features(to_layout(images[i : i + batch_size], chosen).to(setup.device)).cpu()
        for i in range(0, len(images), batch_size)
    ]
    return torch.cat(parts).numpy()


@contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    """torch's intra-op CPU threads set to ``n`` inside the block (None: unchanged),
    restored afterwards. The setting is process-wide: other work in the process sees it."""
    if n is None:
        yield
        return
    if n < 1:
        raise ValueError(f"threads={n}: choose at least 1 thread, or None to leave them")
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)
