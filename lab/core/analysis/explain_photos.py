"""Grad-CAM of a pretrained ImageNet classifier against its random-init twin on real photos.

The workshop's first notebook uses it: the same photo, the same class, two sets of
weights. The pretrained map sits on the object; the random one does not.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from lab.core.analysis.imagenet_demo import Photo, imagenet_classifier
from lab.core.data import build_transform
from lab.core.models import catalog
from lab.core.models.explain import CamMap, central_share, grad_cam


@dataclass(frozen=True)
class CamPair:
    """One photo's Grad-CAM for its true class under pretrained and random weights."""

    photo: Photo
    pretrained: CamMap
    random_init: CamMap

    @property
    def centre_shares(self) -> tuple[float, float]:
        """Mass inside the central half of the image: (pretrained, random init)."""
        return central_share(self.pretrained.heatmap), central_share(self.random_init.heatmap)


def compare_on_photos(
    photos: list[Photo], key: str = catalog.DEFAULT_MODEL, seed: int = 0
) -> list[CamPair]:
    """Grad-CAM of each photo's true class for model ``key``, pretrained and random init."""
    if not photos:
        raise ValueError("photos: give at least one photo (see imagenet_photos())")
    transform = build_transform(catalog.preprocessing(key), train=False)
    inputs = torch.stack([transform(p.image()) for p in photos])
    targets = [p.label for p in photos]
    pretrained = imagenet_classifier(key)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        random_init = catalog.get_entry(key).builder(weights=None).eval()
    ours = grad_cam(pretrained, catalog.layer_groups(pretrained), inputs, targets)
    twins = grad_cam(random_init, catalog.layer_groups(random_init), inputs, targets)
    return [CamPair(p, a, b) for p, a, b in zip(photos, ours, twins, strict=True)]
