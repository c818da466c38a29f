"""Where a classifier looks: Grad-CAM maps through pytorch-grad-cam (``grad-cam`` on PyPI).

The target layer is the output of the last layer group before the head that still has a
spatial layout, found from the catalog's layer groups with one dry forward pass, so the
same call works for CNNs (N, C, H, W), Swin (N, H, W, C) and ViT tokens (N, 1 + HW, C).
Maps are computed on a copy of the model, so a run training the original is not
disturbed (the library switches its model to eval mode and needs gradients).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from pytorch_grad_cam import GradCAM
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
from torch import nn

from lab.core.models.groups import LayerGroup

Reshape = Callable[[torch.Tensor], torch.Tensor] | None


@dataclass(frozen=True)
class CamTarget:
    """The layer Grad-CAM reads and how to turn its output into (N, C, H, W)."""

    group: str
    module: nn.Module
    layout: str  # "channels_first" | "channels_last" | "tokens"

    def reshape(self) -> Reshape:
        """The library's ``reshape_transform`` for this layout (None when none is needed)."""
        if self.layout == "channels_last":
            return lambda x: x.permute(0, 3, 1, 2)
        if self.layout == "tokens":
            return _tokens_to_grid
        return None


@dataclass(frozen=True)
class CamMap:
    """A Grad-CAM map for one image: ``heatmap`` in [0, 1] at input size (H, W)."""

    heatmap: np.ndarray
    target: int
    layer: str


def _tokens_to_grid(x: torch.Tensor) -> torch.Tensor:
    n = x.shape[1]
    if math.isqrt(n) ** 2 != n:  # a class token in front of a square grid of patches
        x, n = x[:, 1:], n - 1
    side = math.isqrt(n)
    return x.reshape(x.shape[0], side, side, x.shape[2]).permute(0, 3, 1, 2)


def _layout(output: Any, head_in: int) -> str | None:
    if not isinstance(output, torch.Tensor):
        return None
    if output.ndim == 4:
        channels_last = output.shape[-1] == head_in and output.shape[1] != head_in
        return "channels_last" if channels_last else "channels_first"
    if output.ndim == 3 and output.shape[1] > 1:
        return "tokens"
    return None


def find_target(model: nn.Module, groups: Sequence[LayerGroup], sample: torch.Tensor) -> CamTarget:
    """The last group before the head whose last module's output is spatial.

    ``sample`` is one input batch (any content) used for a dry forward pass.
    """
    if len(groups) < 2:
        raise ValueError("groups: Grad-CAM needs a backbone group before the head")
    head = groups[-1].modules[0]
    candidates = [(g.name, g.modules[-1]) for g in groups[:-1] if g.modules]
    outputs: dict[int, Any] = {}
    head_in: list[int] = []
    hooks = [
        m.register_forward_hook(lambda mod, _i, out, key=i: outputs.__setitem__(key, out))
        for i, (_, m) in enumerate(candidates)
    ]
    hooks.append(head.register_forward_pre_hook(lambda _m, inp: head_in.append(inp[0].shape[-1])))
    try:
        with torch.no_grad():
            model.eval()(sample)
    finally:
        for hook in hooks:
            hook.remove()
    for i in reversed(range(len(candidates))):
        layout = _layout(outputs.get(i), head_in[0] if head_in else -1)
        if layout is not None:
            return CamTarget(candidates[i][0], candidates[i][1], layout)
    raise ValueError("model: no layer group before the head keeps a spatial layout")


def grad_cam(
    model: nn.Module,
    groups: Sequence[LayerGroup],
    inputs: torch.Tensor,
    targets: Sequence[int] | None = None,
) -> list[CamMap]:
    """Grad-CAM maps of ``inputs`` (N, 3, H, W) for classes ``targets`` (None: predicted).

    ``groups`` are the model's layer groups, head last. The model is copied to the CPU
    first; the original is left exactly as it was.
    """
    twin, twin_groups = _cpu_twin(model, groups)
    inputs = inputs.detach().float().cpu()
    target = find_target(twin, twin_groups, inputs[:1])
    with torch.no_grad():
        predicted = twin(inputs).argmax(dim=1).tolist()
    chosen = list(targets) if targets is not None else predicted
    if len(chosen) != len(inputs):
        raise ValueError(f"targets: give one class per image ({len(inputs)}), not {len(chosen)}")
    with GradCAM(twin, [target.module], reshape_transform=target.reshape()) as cam:
        maps = cam(inputs, targets=[ClassifierOutputTarget(int(c)) for c in chosen])
    return [
        CamMap(np.asarray(m, np.float32), int(c), target.group)
        for m, c in zip(maps, chosen, strict=True)
    ]


def _cpu_twin(model: nn.Module, groups: Sequence[LayerGroup]) -> tuple[nn.Module, list[LayerGroup]]:
    """A CPU copy of ``model`` with every parameter trainable, and its groups mapped."""
    memo: dict[int, Any] = {}
    twin = copy.deepcopy(model, memo).cpu().float()
    for param in twin.parameters():
        param.requires_grad_(True)  # frozen layers still pass gradients on to the map
    mapped = [
        LayerGroup(
            g.name,
            tuple(memo[id(m)] for m in g.modules),
            tuple(memo[id(p)] for p in g.extra_parameters),
        )
        for g in groups
    ]
    return twin, mapped


def central_share(heatmap: np.ndarray) -> float:
    """Share of the map's mass inside the central box holding half of the image's area."""
    h, w = heatmap.shape
    side = 1 / math.sqrt(2)
    top, left = round(h * (1 - side) / 2), round(w * (1 - side) / 2)
    inside = float(heatmap[top : h - top, left : w - left].sum())
    total = float(heatmap.sum())
    return inside / total if total > 0 else 0.0
