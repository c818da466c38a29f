"""An inference copy of a frozen model with BatchNorm folded into the convolution before it.

In eval mode a BatchNorm layer is a fixed per-channel scale and shift, so it can be
multiplied into the weights and bias of the convolution that feeds it (torch's
``fuse_conv_bn_eval``). The copy computes the same function with one pass fewer over
every activation map: on CPUs, where eval-mode BatchNorm is a memory-bound pass of its
own, MobileNetV2's forward pass took half the time. It serves where a frozen backbone
only computes features: the feature cache of a feature-extraction run and the probe.
The model itself is never changed, so what trains, is saved and is exported keeps its
BatchNorm layers.

Which convolution feeds which BatchNorm is read off one forward pass, so any
architecture is covered (torchvision's ``Conv2dNormActivation`` blocks, timm's
``BatchNormAct2d``, ResNet's ``conv1``/``bn1`` attributes). A convolution whose output
is also used elsewhere cannot be folded; the copy's outputs are compared with the
model's on the example batch, and on any difference the model is used as it is.
"""

from __future__ import annotations

import copy
import logging
from typing import Any

import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from lab.core.models.conv_activation import fuse_activations, unfuse_activations
from lab.core.models.finetune import unlock_eval
from lab.core.models.module_pairs import feeding_pairs, replace_submodule

log = logging.getLogger(__name__)

#: Largest difference between the copy's and the model's outputs, relative to the
#: outputs' largest magnitude, still taken as float32 rounding.
TOLERANCE = 1e-3


def _after_norm(norm: nn.BatchNorm2d) -> nn.Module | None:
    """What stays of ``norm`` once its scale and shift are in the convolution; None when
    its forward does more than we know of (it is then not folded)."""
    if type(norm) is nn.BatchNorm2d:
        return nn.Identity()
    act, drop = getattr(norm, "act", None), getattr(norm, "drop", None)
    if isinstance(act, nn.Module) and isinstance(drop, nn.Module):
        return nn.Sequential(drop, act)  # timm's BatchNormAct2d: norm, then drop, then act
    return None


def conv_norm_pairs(model: nn.Module, example: torch.Tensor) -> list[tuple[str, str]]:
    """``(convolution, BatchNorm)`` module names where the BatchNorm's input is exactly
    the convolution's output, read off one forward pass of ``example`` in eval mode
    (:func:`~lab.core.models.module_pairs.feeding_pairs`)."""
    return feeding_pairs(
        model,
        example,
        lambda m: type(m) is nn.Conv2d,
        lambda m: isinstance(m, nn.BatchNorm2d) and m.track_running_stats,
    )


def _fold(model: nn.Module, pairs: list[tuple[str, str]]) -> int:
    """Fold each pair inside ``model`` (an eval-mode copy); returns how many were folded."""
    folded = 0
    for conv_name, norm_name in pairs:
        conv, norm = model.get_submodule(conv_name), model.get_submodule(norm_name)
        assert isinstance(conv, nn.Conv2d) and isinstance(norm, nn.BatchNorm2d)
        rest = _after_norm(norm)
        if rest is None:
            continue
        fused = fuse_conv_bn_eval(conv, norm)
        fused.weight.data = fused.weight.data.contiguous(
            memory_format=_format_of(conv.weight)  # keep the model's layout
        )
        replace_submodule(model, conv_name, fused)
        replace_submodule(model, norm_name, rest)
        folded += 1
    return folded


def _format_of(weight: torch.Tensor) -> torch.memory_format:
    if weight.dim() == 4 and weight.is_contiguous(memory_format=torch.channels_last):
        return torch.channels_last
    return torch.contiguous_format


def _agree(expected: Any, got: Any) -> bool:
    if not isinstance(expected, torch.Tensor) or not isinstance(got, torch.Tensor):
        return False  # outputs of another kind are not compared, so not trusted
    expected, got = expected.float(), got.float()
    scale = float(expected.abs().max()) if expected.numel() else 0.0
    return bool((expected - got).abs().max() <= TOLERANCE * max(scale, 1.0))


def folded_copy(
    model: nn.Module, head: nn.Module, example: torch.Tensor
) -> tuple[nn.Module, nn.Module]:
    """``(copy, the copy's head)`` of ``model`` with BatchNorm folded into convolutions,
    and their activations fused into them on CPUs (:mod:`lab.core.models.conv_activation`),
    for inference on inputs like ``example``; ``(model, head)`` itself when nothing can be
    folded, ``head`` is not a submodule, or the copy's outputs differ from the model's.

    ``model`` is only run (in eval mode, its mode restored), never changed.
    """
    head_name = next((n for n, m in model.named_modules() if m is head), None)
    if head_name is None or not head_name:
        return model, head
    was_training = model.training
    model.eval()
    try:
        example = example[:2]
        pairs = conv_norm_pairs(model, example)
        if not pairs:
            return model, head
        twin = copy.deepcopy(model).eval()
        for module in twin.modules():
            # The copy only infers; a lock's bound method would also make each module a
            # reference cycle, kept alive until the next garbage collection.
            unlock_eval(module)
        with torch.no_grad():
            folded = _fold(twin, pairs)
        with torch.inference_mode():
            expected = model(example)
            same = folded > 0 and _agree(expected, twin(example))
            if same:  # each convolution's activation into it too, on CPUs
                fused = fuse_activations(twin, example)
                if fused and not _agree(expected, twin(example)):
                    unfuse_activations(twin, fused)
    finally:
        model.train(was_training)
    if not same:
        log.debug("BatchNorm folding left out: the folded copy's outputs differ")
        return model, head
    return twin, twin.get_submodule(head_name)
