"""Learning-rate finder: an exponential sweep of short training steps.

The LR grows from ``start_lr`` to ``end_lr`` over ``num_steps`` steps while the loss is
recorded; the sweep ends early once the loss explodes. The suggestion is the LR where
the smoothed loss falls fastest, before its minimum. Weights are restored afterwards.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from lab.core.data.batches import index_batches, load_batches
from lab.core.hardware.device import DeviceSetup
from lab.core.models.finetune import param_groups
from lab.core.training.cached_features import FrozenFeatures, uses_feature_cache
from lab.core.training.config import RunConfig
from lab.core.training.optim import build_optimizer
from lab.core.training.parts import TrainingParts

#: The sweep ends once the smoothed loss exceeds this multiple of its best value.
DIVERGENCE = 4.0
SMOOTHING = 0.9


@dataclass(frozen=True)
class LRFinderResult:
    """The sweep: head learning rates tried, their losses, and the suggested LR."""

    lrs: np.ndarray
    losses: np.ndarray  # smoothed (what to plot)
    raw_losses: np.ndarray
    suggested_lr: float
    diverged: bool  # True when the sweep ended early on an exploding loss


def _check(start_lr: float, end_lr: float, num_steps: int) -> None:
    if not (math.isfinite(start_lr) and start_lr > 0):
        raise ValueError(f"start_lr={start_lr}: choose a finite value > 0, e.g. 1e-7")
    if not (math.isfinite(end_lr) and end_lr > start_lr):
        raise ValueError(f"end_lr={end_lr}: choose a finite value above start_lr={start_lr}")
    if num_steps < 5:
        raise ValueError(f"num_steps={num_steps}: choose at least 5 steps, e.g. 100")


def _batches(
    parts: TrainingParts, config: RunConfig, setup: DeviceSetup, use_cache: bool
) -> Iterator[tuple[nn.Module, torch.Tensor, torch.Tensor]]:
    """Cycle over one shuffled epoch; with a frozen backbone, features are computed once."""
    generator = torch.Generator().manual_seed(config.seed)
    batches = index_batches(parts.n_train, config.batch_size, generator)
    cached: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}
    features = FrozenFeatures(parts.model, parts.head, setup)
    while True:
        for i, (_, inputs, labels) in enumerate(load_batches(parts.train, batches)):
            if use_cache and i in cached:
                yield parts.head, *cached[i]
                continue
            inputs, labels = inputs.to(setup.device), labels.to(setup.device)
            if use_cache:
                cached[i] = (features(inputs), labels)
                yield parts.head, *cached[i]
            else:
                yield parts.model, inputs, labels


def suggest_lr(lrs: np.ndarray, losses: np.ndarray) -> float:
    """The LR of the steepest fall of ``losses`` (over log LR) before their minimum."""
    if len(lrs) == 0:
        return float("nan")
    lowest = int(np.argmin(losses))
    skip = max(1, len(lrs) // 10)  # the first steps are noise around the start loss
    if lowest - skip < 3:
        return float(lrs[lowest] / 10)
    slopes = np.gradient(losses[skip : lowest + 1], np.log10(lrs[skip : lowest + 1]))
    return float(lrs[skip + int(np.argmin(slopes))])


def find_lr(
    parts: TrainingParts,
    config: RunConfig,
    setup: DeviceSetup,
    start_lr: float = 1e-7,
    end_lr: float = 10.0,
    num_steps: int = 100,
) -> LRFinderResult:
    """Sweep the head LR (backbone groups keep their ``backbone_lr_factor`` ratio)."""
    _check(start_lr, end_lr, num_steps)
    model = parts.model.to(setup.device)
    saved = {k: v.detach().clone() for k, v in model.state_dict().items()}
    was_training = model.training
    schedule = [start_lr * (end_lr / start_lr) ** (i / (num_steps - 1)) for i in range(num_steps)]
    model.train()
    try:
        raw, smooth, diverged = _sweep(parts, config, setup, schedule)
    finally:
        model.load_state_dict(saved)
        model.train(was_training)
    lr_array, smooth_array = np.asarray(schedule[: len(smooth)]), np.asarray(smooth)
    return LRFinderResult(
        lrs=lr_array,
        losses=smooth_array,
        raw_losses=np.asarray(raw),
        suggested_lr=suggest_lr(lr_array, smooth_array),
        diverged=diverged,
    )


def _sweep(
    parts: TrainingParts, config: RunConfig, setup: DeviceSetup, schedule: list[float]
) -> tuple[list[float], list[float], bool]:
    """One training step at each head LR of ``schedule``, until the loss explodes.

    Returns the raw and the smoothed loss of each step taken, and whether it exploded.
    """
    groups = param_groups(
        parts.groups, 1.0, config.effective_backbone_lr_factor, config.weight_decay
    )
    ratios = [group["lr"] for group in groups]
    optimizer = build_optimizer(groups, config.optimizer, schedule[0])
    source = _batches(parts, config, setup, uses_feature_cache(parts, config))
    scaler = torch.amp.GradScaler(setup.device.type, enabled=setup.uses_grad_scaler)
    raw: list[float] = []
    smooth: list[float] = []
    average, best = 0.0, math.inf
    for i, lr in enumerate(schedule):
        for group, ratio in zip(optimizer.param_groups, ratios, strict=True):
            group["lr"] = lr * ratio
        module, inputs, labels = next(source)
        with setup.autocast():
            loss = F.cross_entropy(module(inputs), labels)
        value = loss.item()
        if not math.isfinite(value):
            return raw, smooth, True
        average = SMOOTHING * average + (1 - SMOOTHING) * value
        smoothed = average / (1 - SMOOTHING ** (i + 1))  # remove the bias towards 0
        raw.append(value)
        smooth.append(smoothed)
        best = min(best, smoothed)
        if smoothed > DIVERGENCE * best:
            return raw, smooth, True
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
    return raw, smooth, False
