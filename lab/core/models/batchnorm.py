"""One meaning of "random init": BatchNorm statistics recomputed on the training images.

A freshly initialised network's BatchNorm layers hold running statistics of 0 and 1,
which describe no data: in eval mode the activations then drift in scale layer after
layer, and what a frozen random backbone gives a head depends on that accident. The
lab therefore treats every random-init network alike before it is evaluated or its
features are taken: the statistics of its BatchNorm layers are recomputed as the plain
average over batches of training images (as "precise BN" does), the rest of the
network in eval mode. The probe's random twin, a run on a frozen random backbone and a
short from-scratch run all use it, so "no pretraining" means one thing everywhere.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import torch
from torch import nn

from lab.core.models.finetune import is_eval_locked

BatchNorm = nn.modules.batchnorm._BatchNorm
#: Training images averaged over: enough for per-channel means and variances (each
#: image gives one value per pixel), few enough to cost a fraction of an epoch.
CALIBRATION_IMAGES = 64


def batchnorm_layers(model: nn.Module, frozen: bool | None = None) -> list[BatchNorm]:
    """BatchNorm layers of ``model`` that keep running statistics; with ``frozen`` set,
    only those whose group is frozen (True) or trains (False)."""
    layers = [m for m in model.modules() if isinstance(m, BatchNorm) and m.track_running_stats]
    if frozen is None:
        return layers
    return [m for m in layers if is_eval_locked(m) == frozen]


@torch.no_grad()
def recalibrate(
    model: nn.Module,
    batches: Iterable[torch.Tensor],
    layers: Sequence[BatchNorm] | None = None,
    between_batches: Callable[[], None] | None = None,
) -> int:
    """Replace the running statistics of ``layers`` (default: all of ``model``'s) by
    their average over ``batches`` of inputs; returns the number of images used.

    Every module keeps the mode it had; batches of a single image are skipped (BatchNorm
    cannot take statistics of one value per channel).
    """
    layers = list(batchnorm_layers(model) if layers is None else layers)
    if not layers:
        return 0
    modes = {m: m.training for m in model.modules()}
    momenta = [m.momentum for m in layers]
    device = next(model.parameters()).device
    seen = 0
    try:
        model.eval()
        for m in layers:
            m.reset_running_stats()
            m.momentum = None  # a cumulative average over every batch below
            nn.Module.train(m, True)  # also past a frozen group's eval lock
        for inputs in batches:
            if between_batches is not None:
                between_batches()
            if len(inputs) > 1:
                model(inputs.to(device))
                seen += len(inputs)
    finally:
        for m, momentum in zip(layers, momenta, strict=True):
            m.momentum = momentum
        for module, training in modes.items():
            module.training = training
    return seen


def tensor_batches(
    images: torch.Tensor, batch_size: int = 32, limit: int | None = CALIBRATION_IMAGES
) -> Iterable[torch.Tensor]:
    """About ``limit`` of ``images``, evenly spaced (all with None), in batches."""
    step = 1 if limit is None else max(1, -(-len(images) // limit))
    return images[::step].split(max(batch_size, 2))
