"""Staged unfreezing: the head first with the backbone frozen, then the last groups.

Like fastai's ``fine_tune(epochs, freeze_epochs)``: for ``freeze_epochs`` epochs only the
head trains (on cached features when the inputs are fixed), then the last
``trainable_groups`` groups (head included) train with discriminative learning rates.
With ``gradual`` one more group joins every epoch until ``trainable_groups`` train.
``epochs`` counts every epoch, frozen ones included.

At an unfreeze the optimizer and the schedule are built again for the groups that now
train and the epochs left, as fastai starts a new one-cycle fit for the second stage.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from lab.core.models.finetune import (
    apply_approach,
    param_groups,
    summarize,
    trainable_mask,
    unlock_eval,
)
from lab.core.models.groups import LayerGroup
from lab.core.training.events import GroupsUnfrozen
from lab.core.training.optim import build_optimizer, build_scheduler

if TYPE_CHECKING:
    from lab.core.training.config import RunConfig
    from lab.core.training.parts import TrainingParts
    from lab.core.training.training_loop import TrainingLoop


def is_staged(config: RunConfig) -> bool:
    """Whether ``config`` asks for staged unfreezing (fine-tuning with frozen epochs)."""
    return config.approach == "fine_tuning" and config.freeze_epochs > 0


def groups_per_epoch(config: RunConfig, n_groups: int) -> list[int]:
    """How many groups (from the end, head included) train in each epoch, first to last."""
    target = sum(trainable_mask(config.approach, n_groups, config.trainable_groups))
    freeze = config.freeze_epochs if is_staged(config) else 0
    return plan_groups(config.epochs, freeze, target, config.gradual)


def plan_groups(epochs: int, freeze_epochs: int, target: int, gradual: bool = False) -> list[int]:
    """Groups training per epoch: 1 (the head) for ``freeze_epochs``, then ``target``
    (reached one group per epoch when ``gradual``)."""
    plan = []
    for epoch in range(1, epochs + 1):
        after = epoch - freeze_epochs
        if after <= 0 and freeze_epochs > 0:
            plan.append(1)
        else:
            plan.append(min(target, 1 + after) if gradual and freeze_epochs > 0 else target)
    return plan


@dataclass(frozen=True)
class Stage:
    """Epochs ``first``..``last`` (from 1) train the last ``groups`` groups."""

    first: int
    last: int
    groups: int
    trainable_params: int

    def describe(self) -> str:
        """e.g. ``epochs 1-2: head (2,562 trainable)``."""
        span = (
            f"epoch {self.first}" if self.first == self.last else f"epochs {self.first}-{self.last}"
        )
        what = "head" if self.groups == 1 else f"head + last {self.groups - 1} group(s)"
        return f"{span}: {what} ({self.trainable_params:,} trainable)"


def stages(config: RunConfig, groups: Sequence[LayerGroup]) -> list[Stage]:
    """The run's schedule as stages of equal trainable groups, with parameter counts."""
    sizes = [sum(p.numel() for p in g.parameters()) for g in groups]
    return stages_of(groups_per_epoch(config, len(groups)), sizes)


def stages_of(plan: Sequence[int], sizes: Sequence[int]) -> list[Stage]:
    """Consecutive epochs of ``plan`` with equal groups as stages; ``sizes`` per group."""
    out: list[Stage] = []
    for epoch, k in enumerate(plan, start=1):
        if out and out[-1].groups == k:
            last = out[-1]
            out[-1] = Stage(last.first, epoch, k, last.trainable_params)
        else:
            out.append(Stage(epoch, epoch, k, sum(sizes[len(sizes) - k :])))
    return out


def initial_groups(config: RunConfig, n_groups: int) -> tuple[str, int]:
    """``(approach, trainable_groups)`` to freeze by before the first epoch."""
    if is_staged(config):
        return "feature_extraction", 1
    return config.approach, config.trainable_groups


def unfreeze(
    loop: TrainingLoop, parts: TrainingParts, config: RunConfig, epoch: int, k: int, before: int
) -> GroupsUnfrozen:
    """Let the last ``k`` groups (``before`` of them trained so far) train from ``epoch``
    on; the loop gets a new optimizer. Cached features stop here: the backbone's output
    changes from now on.
    """
    names = [g.name for g in parts.groups]
    with loop.control.model_lock:
        for module in parts.model.modules():
            unlock_eval(module)  # lock_all_but_head locked modules outside every group
        apply_approach(parts.groups, "fine_tuning", k)
        loop.uses_cache, loop.train_cache, loop.val_cache = False, None, None
        rates = param_groups(
            parts.groups, config.lr, config.effective_backbone_lr_factor, config.weight_decay
        )
        loop.optimizer = build_optimizer(rates, config.optimizer, config.lr)
        remaining = (config.epochs - epoch + 1) * loop.steps_per_epoch
        loop.scheduler = build_scheduler(loop.optimizer, config.schedule, remaining)
    summary = summarize(parts.groups)
    return GroupsUnfrozen(
        epoch=epoch,
        groups=tuple(names[len(names) - k : len(names) - before]),
        trainable_groups=k,
        trainable_params=summary.trainable_params,
        frozen_params=summary.frozen_params,
    )
