"""Optimizers and learning-rate schedules by name."""

from __future__ import annotations

import math
from typing import Any

import torch
from torch.optim.lr_scheduler import LambdaLR

#: Share of the run spent warming up in the "onecycle" schedule.
WARMUP_SHARE = 0.3


def build_optimizer(
    param_groups: list[dict[str, Any]], name: str, lr: float
) -> torch.optim.Optimizer:
    """``adam`` | ``adamw`` | ``sgd`` (momentum 0.9) over prepared parameter groups."""
    if name == "adam":
        return torch.optim.Adam(param_groups, lr=lr)
    if name == "adamw":
        return torch.optim.AdamW(param_groups, lr=lr)
    if name == "sgd":
        return torch.optim.SGD(param_groups, lr=lr, momentum=0.9)
    raise ValueError(f"optimizer={name!r}: choose one of 'adam', 'adamw', 'sgd'")


def lr_factor(schedule: str, step: int, total_steps: int) -> float:
    """Multiplier of every group's base LR at ``step`` (0-based) of ``total_steps``."""
    progress = min(step / max(total_steps, 1), 1.0)
    if schedule == "constant":
        return 1.0
    if schedule == "cosine":
        return 0.5 * (1.0 + math.cos(math.pi * progress))
    if schedule == "onecycle":
        if progress < WARMUP_SHARE:
            return 0.1 + 0.9 * progress / WARMUP_SHARE
        rest = (progress - WARMUP_SHARE) / (1.0 - WARMUP_SHARE)
        return 0.5 * (1.0 + math.cos(math.pi * rest))
    raise ValueError(f"schedule={schedule!r}: choose one of 'constant', 'cosine', 'onecycle'")


def build_scheduler(optimizer: torch.optim.Optimizer, schedule: str, total_steps: int) -> LambdaLR:
    """A per-step scheduler; it scales all groups alike, keeping discriminative ratios."""
    lr_factor(schedule, 0, total_steps)  # fail early on an unknown name
    return LambdaLR(optimizer, lambda step: lr_factor(schedule, step, total_steps))
