"""Freezing by layer group, the three approaches, and discriminative learning rates.

A model is seen as ordered layer groups (stem ... last block, head), as the catalog's
``layer_groups`` gives them. An approach decides which groups train:

- ``feature_extraction``: only the head trains; the backbone is a fixed function.
- ``fine_tuning``: the last ``trainable_groups`` groups train (the head counts as one).
- ``scratch``: everything trains (the model starts from random weights).

A frozen group is a fixed function: its parameters get no gradients and its modules
stay in eval mode even when ``model.train()`` is called, so BatchNorm running
statistics never move and dropout is off. That is what makes cached features valid.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from types import MethodType
from typing import Any

from torch import nn

from lab.core.models.groups import LayerGroup

APPROACHES = ("feature_extraction", "fine_tuning", "scratch")


def default_groups(model: nn.Module, head: nn.Module) -> list[LayerGroup]:
    """Two groups for a model outside the catalog: every top-level child but ``head``, then it."""
    backbone = tuple(child for child in model.children() if child is not head)
    if len(backbone) == len(tuple(model.children())):
        raise ValueError("head: pass a direct child of the model (e.g. model[-1] or model.fc)")
    return [LayerGroup("backbone", backbone), LayerGroup("head", (head,))]


def trainable_mask(approach: str, n_groups: int, trainable_groups: int = 1) -> list[bool]:
    """Which of ``n_groups`` groups train under ``approach`` (the head is the last group)."""
    if approach not in APPROACHES:
        raise ValueError(f"approach={approach!r}: choose one of {', '.join(APPROACHES)}")
    if n_groups < 1:
        raise ValueError("groups: the model needs at least one layer group (its head)")
    if approach == "scratch":
        return [True] * n_groups
    if approach == "feature_extraction":
        k = 1
    else:
        if trainable_groups < 1:
            raise ValueError(
                f"trainable_groups={trainable_groups}: fine-tuning trains at least the head; "
                "choose 1 or more"
            )
        k = min(trainable_groups, n_groups)
    return [i >= n_groups - k for i in range(n_groups)]


def _stay_in_eval(self: nn.Module, mode: bool = True) -> nn.Module:
    """Replacement ``train`` for frozen modules: whatever is asked, stay in eval mode."""
    return nn.Module.train(self, False)


def lock_eval(module: nn.Module) -> None:
    """Keep ``module`` (and everything below it) in eval mode until :func:`unlock_eval`."""
    # An instance attribute shadows nn.Module.train, and model.train() reaches every
    # module through child.train(mode), so the lock holds however training is switched on.
    module.__dict__["train"] = MethodType(_stay_in_eval, module)
    module.train(False)


def unlock_eval(module: nn.Module) -> None:
    """Undo :func:`lock_eval`; ``module`` keeps its current (eval) mode."""
    module.__dict__.pop("train", None)


def is_eval_locked(module: nn.Module) -> bool:
    """True when ``module`` ignores ``train()`` because its group is frozen."""
    return "train" in module.__dict__


def freeze(group: LayerGroup) -> None:
    """No gradients for ``group`` and its modules locked in eval mode."""
    for param in group.parameters():
        param.requires_grad_(False)
    # Lock only modules with nothing trainable below them, so a container that also
    # holds a trainable group (rare, but catalogs nest) still lets that group train.
    for module in group.modules:
        for sub in module.modules():
            if not any(p.requires_grad for p in sub.parameters()):
                lock_eval(sub)


def make_trainable(group: LayerGroup) -> None:
    """Gradients for every parameter of ``group`` and its modules free to train."""
    for param in group.parameters():
        param.requires_grad_(True)
    for module in group.modules:
        for sub in module.modules():
            unlock_eval(sub)


def apply_approach(
    groups: Sequence[LayerGroup], approach: str, trainable_groups: int = 1
) -> list[bool]:
    """Freeze and unfreeze ``groups`` for ``approach``; return the trainable mask."""
    mask = trainable_mask(approach, len(groups), trainable_groups)
    # Trainable groups first, so freezing can tell which containers hold trainable parts.
    for group, trains in zip(groups, mask, strict=True):
        if trains:
            make_trainable(group)
    for group, trains in zip(groups, mask, strict=True):
        if not trains:
            freeze(group)
    return mask


def lock_all_but_head(model: nn.Module, head: nn.Module) -> None:
    """Lock eval mode on every module that is not the head, inside it, or above it.

    With the backbone frozen, parameter-free layers outside any group (e.g. the dropout
    in front of MobileNetV2's last layer) would still act in training mode; locking
    them makes the whole model below the head one fixed function, which is exactly
    what cached features assume.
    """
    inside = {id(m) for m in head.modules()}
    for module in model.modules():
        above = any(sub is head for sub in module.modules())
        trains = any(p.requires_grad for p in module.parameters())
        if id(module) not in inside and not above and not trains:
            lock_eval(module)


def backbone_frozen(groups: Sequence[LayerGroup]) -> bool:
    """True when nothing before the head (the last group) has a trainable parameter."""
    return not any(p.requires_grad for g in groups[:-1] for p in g.parameters())


def effective_backbone_lr_factor(approach: str, backbone_lr_factor: float) -> float:
    """Backbone LR = head LR / this: ``backbone_lr_factor`` when fine-tuning, 1 otherwise.

    From scratch every layer starts random, so no layer deserves a smaller step.
    """
    return backbone_lr_factor if approach == "fine_tuning" else 1.0


def group_learning_rates(
    groups: Sequence[LayerGroup], lr: float, backbone_lr_factor: float = 1.0
) -> dict[str, float]:
    """Learning rate per group name: ``lr`` for the head, ``lr / factor`` for the rest."""
    if backbone_lr_factor <= 0:
        raise ValueError(
            f"backbone_lr_factor={backbone_lr_factor}: choose a factor > 0 (1 = same LR)"
        )
    rates = {g.name: lr / backbone_lr_factor for g in groups[:-1]}
    rates[groups[-1].name] = lr
    return rates


def param_groups(
    groups: Sequence[LayerGroup],
    lr: float,
    backbone_lr_factor: float = 1.0,
    weight_decay: float = 0.0,
) -> list[dict[str, Any]]:
    """Optimizer parameter groups: only trainable parameters, one entry per layer group."""
    rates = group_learning_rates(groups, lr, backbone_lr_factor)
    out: list[dict[str, Any]] = []
    for group in groups:
        params = [p for p in group.parameters() if p.requires_grad]
        if params:
            out.append(
                {
                    "params": params,
                    "lr": rates[group.name],
                    "weight_decay": weight_decay,
                    "name": group.name,
                }
            )
    if not out:
        raise ValueError("groups: nothing is trainable; unfreeze at least the head")
    return out


@dataclass(frozen=True)
class GroupSummary:
    """One row of the freezing summary."""

    name: str
    params: int
    trainable_params: int
    lr: float | None  # None when the group is frozen

    @property
    def trainable(self) -> bool:
        return self.trainable_params > 0


@dataclass(frozen=True)
class FreezeSummary:
    """Trainable and frozen parameter counts per group, head last."""

    groups: tuple[GroupSummary, ...]

    @property
    def trainable_params(self) -> int:
        return sum(g.trainable_params for g in self.groups)

    @property
    def frozen_params(self) -> int:
        return sum(g.params - g.trainable_params for g in self.groups)

    def table(self) -> str:
        """A plain-text table for logs and notebooks."""
        lines = [f"{'group':<16}{'params':>12}{'trainable':>12}{'lr':>10}"]
        for g in self.groups:
            lr = "frozen" if g.lr is None else f"{g.lr:.2g}"
            lines.append(f"{g.name:<16}{g.params:>12,}{g.trainable_params:>12,}{lr:>10}")
        lines.append(
            f"{'total':<16}{self.trainable_params + self.frozen_params:>12,}"
            f"{self.trainable_params:>12,}"
        )
        return "\n".join(lines)


def summarize(
    groups: Sequence[LayerGroup], lr: float | None = None, backbone_lr_factor: float = 1.0
) -> FreezeSummary:
    """Summarize the current freezing of ``groups`` (LRs shown when ``lr`` is given)."""
    rates = group_learning_rates(groups, lr, backbone_lr_factor) if lr is not None else {}
    rows = []
    for group in groups:
        params = list(group.parameters())
        trainable = sum(p.numel() for p in params if p.requires_grad)
        rate = rates.get(group.name) if trainable else None
        rows.append(GroupSummary(group.name, sum(p.numel() for p in params), trainable, rate))
    return FreezeSummary(tuple(rows))
