"""Grad-CAM through pytorch-grad-cam: every family's target layer, and real maps."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from lab.core.data import build_transform
from lab.core.models import catalog
from lab.core.models.explain import central_share, find_target, grad_cam

# One small member of each catalog family (random weights), with an input size it takes.
FAMILY_SAMPLE = [
    ("resnet18.IMAGENET1K_V1", 64),
    ("mobilenet_v3_small.IMAGENET1K_V1", 64),
    ("efficientnet_b0.IMAGENET1K_V1", 64),
    ("tf_efficientnet_lite0.in1k", 64),
    ("convnext_tiny.IMAGENET1K_V1", 64),
    ("densenet121.IMAGENET1K_V1", 64),
    ("regnet_y_400mf.IMAGENET1K_V1", 64),
    ("shufflenet_v2_x0_5.IMAGENET1K_V1", 64),
    ("squeezenet1_1.IMAGENET1K_V1", 64),
    ("mnasnet0_5.IMAGENET1K_V1", 64),
    ("googlenet.IMAGENET1K_V1", 64),
    ("alexnet.IMAGENET1K_V1", 64),
    ("swin_t.IMAGENET1K_V1", 64),
    ("maxvit_t.IMAGENET1K_V1", 224),
    ("vit_b_16.IMAGENET1K_V1", 224),
]


@pytest.mark.parametrize(("key", "size"), FAMILY_SAMPLE)
def test_every_family_gets_a_map_at_input_size(key: str, size: int) -> None:
    torch.manual_seed(0)
    model = catalog.build_model(key, 3, pretrained=False)
    groups = catalog.layer_groups(model)
    inputs = torch.randn(2, 3, size, size)
    target = find_target(model, groups, inputs[:1])
    assert target.group != groups[-1].name
    maps = grad_cam(model, groups, inputs, targets=[0, 2])
    assert [m.target for m in maps] == [0, 2]
    assert all(m.heatmap.shape == (size, size) for m in maps)
    assert all(np.isfinite(m.heatmap).all() and m.heatmap.min() >= 0 for m in maps)


def test_the_original_model_is_left_alone() -> None:
    model = catalog.build_model("resnet18.IMAGENET1K_V1", 3, pretrained=False)
    groups = catalog.layer_groups(model)
    for p in model.parameters():
        p.requires_grad_(False)
    model.train()
    grad_cam(model, groups, torch.randn(1, 3, 64, 64))
    assert model.training and not any(p.requires_grad for p in model.parameters())
    assert all(p.grad is None for p in model.parameters())


def test_central_share_of_a_flat_map_is_about_half() -> None:
    assert central_share(np.ones((224, 224))) == pytest.approx(0.5, abs=0.02)
    spot = np.zeros((100, 100))
    spot[45:55, 45:55] = 1
    assert central_share(spot) == 1.0


def test_pretrained_mobilenet_looks_at_the_centred_objects() -> None:
    from lab.core.analysis.imagenet_demo import imagenet_classifier, imagenet_photos

    key = "mobilenet_v2.IMAGENET1K_V1"
    try:
        photos = imagenet_photos(limit=12)
    except FileNotFoundError as error:
        pytest.skip(str(error))
    transform = build_transform(catalog.preprocessing(key), train=False)
    inputs = torch.stack([transform(p.image()) for p in photos])
    pretrained = imagenet_classifier(key)
    torch.manual_seed(0)
    random = catalog.get_entry(key).builder(weights=None).eval()
    targets = [p.label for p in photos]  # the true class, the same for both models
    ours = grad_cam(pretrained, catalog.layer_groups(pretrained), inputs, targets)
    twins = grad_cam(random, catalog.layer_groups(random), inputs, targets)
    centred = [central_share(m.heatmap) > 0.5 for m in ours]
    assert sum(centred) > len(photos) / 2, [round(central_share(m.heatmap), 2) for m in ours]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a flat map has no variance
        correlations = [
            np.corrcoef(a.heatmap.ravel(), b.heatmap.ravel())[0, 1]
            for a, b in zip(ours, twins, strict=True)
        ]
    # A random network's map is often flat (NaN correlation): that differs too.
    differ = [not (c > 0.8) for c in correlations]
    assert sum(differ) > len(photos) / 2, correlations
