"""Batches of a data set: positions in (shuffled) batches, and the batches loaded.

Images held decoded in memory are finished a whole batch at a time, tensors in memory
are indexed directly, anything else is collated on helper threads (see ``prefetch``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import torch
from torch.utils.data import Dataset, TensorDataset, default_collate

from lab.core.data.decoded import DecodedImages
from lab.core.data.prefetch import loader_threads, prefetched_map


def index_batches(n: int, batch_size: int, generator: torch.Generator | None) -> list[torch.Tensor]:
    """Positions 0..n-1 in batches: shuffled with ``generator``, in order without one."""
    order = torch.arange(n) if generator is None else torch.randperm(n, generator=generator)
    return list(order.split(batch_size))


def load_batches(
    dataset: Dataset[Any], batches: Sequence[torch.Tensor]
) -> Iterator[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    """Yield ``(positions, inputs, labels)`` for each batch of positions."""
    if isinstance(dataset, DecodedImages) and dataset.computes_here:
        # The model computes on every core: a helper loading ahead would take one, and
        # the model's threads wait at each op for the one that lost it (``benchmarks``
        # P7). Decoding is mostly Python, so more helpers would not go faster either.
        for positions in batches:
            yield (positions, *dataset.batch(positions))
        return
    if isinstance(dataset, DecodedImages):
        # Pixels decoded once and kept; a whole batch is finished at once on the device.
        def finish(positions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
            return (positions, *dataset.batch(positions))

        yield from prefetched_map(
            finish, batches, workers=1 if dataset.complete else loader_threads()
        )
        return
    if isinstance(dataset, TensorDataset):
        # Tensors in memory: indexing beats a DataLoader's per-item collate by far.
        inputs, labels = dataset.tensors[0], dataset.tensors[1]
        for positions in batches:
            yield positions, inputs[positions], labels[positions]
        return

    # No worker processes (they fork, which notebooks and threads do not take well):
    # helper threads load the next batches while this one is computed.
    def load(positions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        inputs, labels = default_collate([dataset[i] for i in positions.tolist()])
        return positions, inputs, torch.as_tensor(labels)

    yield from prefetched_map(load, batches, workers=loader_threads())
