"""Small, synchronous training loops on tensors held in memory, for many short runs.

The data-efficiency curve trains dozens of models on a few images each; the Trainer's
thread, events and per-epoch validation are for one run a person watches. These loops
keep the engine's rules (only trainable parameters reach the optimizer, frozen groups
stay in eval mode, per-group learning rates) and give every arm the same step budget.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from lab.core.models.batchnorm import batchnorm_layers, recalibrate, tensor_batches
from lab.core.models.finetune import apply_approach, effective_backbone_lr_factor, param_groups
from lab.core.models.groups import LayerGroup
from lab.core.training.optim import build_optimizer


def step_budget(n_train: int, batch_size: int, epochs: int, min_steps: int) -> int:
    """Optimizer steps for ``epochs`` passes over ``n_train`` images, at least ``min_steps``,
    so that a handful of images still gets enough updates to learn what it can."""
    if n_train < 1:
        raise ValueError("n_train: need at least one training image")
    per_epoch = math.ceil(n_train / min(batch_size, n_train))
    return max(min_steps, epochs * per_epoch)


def _batches(n: int, batch_size: int, steps: int, generator: torch.Generator) -> list[torch.Tensor]:
    # Full batches only: a batch of one image breaks BatchNorm in training mode.
    size = min(batch_size, n)
    order = torch.cat(
        [torch.randperm(n, generator=generator) for _ in range(steps * size // n + 2)]
    )
    return [order[i * size : (i + 1) * size] for i in range(steps)]


def _train_steps(
    module: nn.Module,
    optimizer: torch.optim.Optimizer,
    inputs: torch.Tensor,
    labels: torch.Tensor,
    steps: int,
    batch_size: int,
    seed: int,
) -> None:
    """``steps`` cross-entropy steps of ``module`` (in training mode) on shuffled batches."""
    generator = torch.Generator().manual_seed(seed)
    device = next(module.parameters()).device
    module.train()
    for batch in _batches(len(labels), batch_size, steps, generator):
        loss = nn.functional.cross_entropy(
            module(inputs[batch].to(device)), labels[batch].to(device)
        )
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()


def fit_head(
    head: nn.Module,
    features: torch.Tensor,
    labels: torch.Tensor,
    steps: int,
    batch_size: int = 32,
    lr: float = 1e-3,
    seed: int = 0,
) -> nn.Module:
    """Train ``head`` alone on cached backbone ``features`` (Adam, cross-entropy)."""
    optimizer = torch.optim.Adam(head.parameters(), lr=lr)
    _train_steps(head, optimizer, features, labels, steps, batch_size, seed)
    head.eval()
    return head


def fit_network(
    model: nn.Module,
    groups: Sequence[LayerGroup],
    approach: str,
    images: torch.Tensor,
    labels: torch.Tensor,
    steps: int,
    batch_size: int = 32,
    lr: float = 1e-3,
    backbone_lr_factor: float = 10.0,
    trainable_groups: int = 1,
    seed: int = 0,
) -> nn.Module:
    """Train ``model`` on ``images`` with the engine's freezing for ``approach``
    ("scratch": everything; "fine_tuning": the last ``trainable_groups`` groups, the
    backbone at ``lr / backbone_lr_factor``)."""
    apply_approach(groups, approach, trainable_groups)
    divisor = effective_backbone_lr_factor(approach, backbone_lr_factor)
    optimizer = build_optimizer(param_groups(groups, lr, divisor), "adam", lr)
    _train_steps(model, optimizer, images, labels, steps, batch_size, seed)
    recalibrate_batchnorm(model, images, batch_size)
    model.eval()
    return model


def recalibrate_batchnorm(model: nn.Module, images: torch.Tensor, batch_size: int = 32) -> None:
    """Recompute the running statistics of trainable BatchNorm layers over ``images``.

    After a few dozen steps the running averages still remember the random start, and a
    model trained from scratch then predicts one class in eval mode however well it fits
    in training mode. Averaging over the training images (see :mod:`lab.core.models.batchnorm`)
    gives every arm evaluation statistics that match its weights. Frozen layers keep
    theirs: they are the pretrained network's.
    """
    size = min(batch_size, len(images))
    layers = batchnorm_layers(model, frozen=False)
    recalibrate(model, tensor_batches(images, size, limit=None), layers)
    model.eval()


@torch.no_grad()
def accuracy(
    module: nn.Module, inputs: torch.Tensor, labels: torch.Tensor, batch_size: int = 128
) -> float:
    """Share of ``inputs`` that ``module`` (in eval mode) classifies as ``labels``."""
    if len(labels) == 0:
        raise ValueError("labels: need at least one example to measure accuracy")
    module.eval()
    device = next(module.parameters()).device
    correct = 0
    for start in range(0, len(labels), batch_size):
        scores = module(inputs[start : start + batch_size].to(device))
        correct += int((scores.argmax(1).cpu() == labels[start : start + batch_size]).sum())
    return correct / len(labels)
