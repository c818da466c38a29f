"""Penultimate features of a frozen backbone, computed once and kept by dataset position.

With the backbone frozen (and no augmentation) every epoch would push the same images
through the same fixed function. The cache fills batch by batch while the first epoch
trains the head on those very features, so progress shows from the first step; later
epochs train the head on cached tensors only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from lab.core.hardware.device import DeviceSetup
from lab.core.models.finetune import backbone_frozen
from lab.core.models.folding import folded_copy

if TYPE_CHECKING:
    from lab.core.training.config import RunConfig
    from lab.core.training.parts import TrainingParts


def uses_feature_cache(parts: TrainingParts, config: RunConfig) -> bool:
    """Whether the head trains on cached features: a frozen backbone and fixed inputs.

    The one rule for runs and the LR finder alike: features stay valid only while
    no backbone parameter trains and every epoch sees the same (unaugmented) images.
    """
    return config.cache_features and backbone_frozen(parts.groups) and not parts.augment


class FeatureCapture:
    """Forward pre-hook on ``head`` that keeps its (flattened) input of the last call."""

    def __init__(self, head: nn.Module) -> None:
        self.features: torch.Tensor | None = None
        self._handle = head.register_forward_pre_hook(self._grab)

    def _grab(self, _module: nn.Module, args: tuple[Any, ...]) -> None:
        self.features = torch.flatten(args[0], 1)

    def remove(self) -> None:
        self._handle.remove()

    def __enter__(self) -> FeatureCapture:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()


@torch.no_grad()
def extract_features(
    model: nn.Module, head: nn.Module, inputs: torch.Tensor, setup: DeviceSetup
) -> torch.Tensor:
    """Features entering ``head`` for ``inputs``, as float32 on the model's device.

    Runs the whole model in eval mode: the frozen backbone is a fixed function, and a
    dropout that sits in front of the head must not thin the features that get cached.
    """
    was_training = model.training
    if was_training:  # a model already in eval mode (the folded copy) is left as it is
        model.eval()
    try:
        with FeatureCapture(head) as capture, setup.autocast():
            model(inputs)
    finally:
        if was_training:
            model.train()
    if capture.features is None:
        raise RuntimeError(
            "head: the model never called its head; pass the module that gets "
            "the penultimate features (e.g. model.fc or model.classifier)"
        )
    return capture.features.float()


class FrozenFeatures:
    """``extract_features`` of a frozen ``model`` through its BatchNorm-folded copy
    (:mod:`lab.core.models.folding`), made from the first batch asked for.

    The copy is taken when first needed, so a random-init backbone is copied after its
    statistics were recalibrated; :meth:`release` lets it go once the features are kept.
    """

    def __init__(self, model: nn.Module, head: nn.Module, setup: DeviceSetup) -> None:
        self.model, self.head, self.setup = model, head, setup
        self._folded: tuple[nn.Module, nn.Module] | None = None

    def __call__(self, inputs: torch.Tensor) -> torch.Tensor:
        if self._folded is None:
            self._folded = folded_copy(self.model, self.head, inputs)
        return extract_features(*self._folded, inputs, self.setup)

    def release(self) -> None:
        """Drop the folded copy (a later call makes a new one)."""
        self._folded = None


class FeatureCache:
    """Features and labels for ``n`` dataset positions, filled in any order."""

    def __init__(self, n: int, device: torch.device) -> None:
        self.n = n
        self.device = device
        self.features: torch.Tensor | None = None  # allocated on first store (size unknown)
        self.labels = torch.zeros(n, dtype=torch.long, device=device)
        self.filled = torch.zeros(n, dtype=torch.bool)

    @property
    def complete(self) -> bool:
        return bool(self.filled.all())

    def store(self, positions: torch.Tensor, features: torch.Tensor, labels: torch.Tensor) -> None:
        """Keep ``features`` and ``labels`` of dataset ``positions``."""
        if self.features is None:
            self.features = torch.empty(
                (self.n, features.shape[1]), dtype=features.dtype, device=self.device
            )
        self.features[positions.to(self.device)] = features.to(self.device)
        self.labels[positions.to(self.device)] = labels.to(self.device)
        self.filled[positions.cpu()] = True

    def batch(self, positions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Cached ``(features, labels)`` of ``positions`` (all must be filled)."""
        if self.features is None or not bool(self.filled[positions.cpu()].all()):
            raise RuntimeError("feature cache: positions requested before they were computed")
        where = positions.to(self.device)
        return self.features[where], self.labels[where]
