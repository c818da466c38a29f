"""Convolution and activation in one oneDNN call, for the folded inference copy on CPUs.

After BatchNorm is folded (:mod:`lab.core.models.folding`), MobileNetV2 and the
EfficientNet-Lite family are chains of convolution then ReLU6. On a CPU the ReLU6 is a
pass of its own over every activation map, and under bfloat16 autocast an expensive
one (elementwise bfloat16 kernels widen to float32 and back): a fifth of MobileNetV2's
forward pass here. oneDNN applies the activation inside the convolution as a post-op
(``torch.ops.mkldnn._convolution_pointwise``, what ``torch.compile``'s CPU backend
emits), with the same results. The pairs are read off one forward pass, as the
BatchNorm pairs are; on GPUs, other dtypes, or where the operator is missing, the
module computes convolution then activation as before.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from lab.core.models.module_pairs import feeding_pairs, replace_submodule


def _operator() -> Any | None:
    """The fused operator where this torch build has it, else None."""
    if not torch.backends.mkldnn.is_available():
        return None
    try:
        return torch.ops.mkldnn._convolution_pointwise
    except (AttributeError, RuntimeError):
        return None


def _post_op(activation: nn.Module) -> tuple[str, list[float]] | None:
    """``(attr, scalars)`` of the oneDNN post-op equal to ``activation``, or None."""
    if type(activation) is nn.ReLU:
        return "relu", []
    if isinstance(activation, nn.Hardtanh) and type(activation) in (nn.Hardtanh, nn.ReLU6):
        return "hardtanh", [float(activation.min_val), float(activation.max_val)]
    return None


def _autocast_dtype() -> torch.dtype | None:
    """The CPU autocast dtype in force, or None when autocast is off."""
    try:
        enabled = torch.is_autocast_enabled("cpu")
    except TypeError:  # torch before 2.4 names it per device
        return torch.get_autocast_cpu_dtype() if torch.is_autocast_cpu_enabled() else None
    return torch.get_autocast_dtype("cpu") if enabled else None


class ConvActivation(nn.Module):
    """``activation(conv(x))`` as one oneDNN convolution with a post-op on CPU tensors
    in float32 or under bfloat16 autocast; ``conv`` then ``activation`` elsewhere."""

    def __init__(self, conv: nn.Conv2d, activation: nn.Module, post_op: tuple[str, list[float]]):
        super().__init__()
        self.conv, self.activation = conv, activation
        self.attr, self.scalars = post_op
        self._operator = _operator()
        self._weights: dict[tuple[torch.dtype, int], tuple[torch.Tensor, torch.Tensor | None]] = {}

    def _cast(self, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The weights in ``dtype``, cast once (autocast would cast them every call)."""
        weight, bias = self.conv.weight, self.conv.bias
        key = (dtype, weight.data_ptr())
        if key not in self._weights:
            self._weights.clear()
            cast_bias = None if bias is None else bias.detach().to(dtype)
            self._weights[key] = (weight.detach().to(dtype), cast_bias)
        return self._weights[key]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The activation of the convolution of ``x``."""
        if self._operator is None or x.device.type != "cpu" or x.dim() != 4:
            return self.activation(self.conv(x))
        dtype = _autocast_dtype() or x.dtype
        if dtype not in (torch.float32, torch.bfloat16) or torch.is_grad_enabled():
            return self.activation(self.conv(x))
        weight, bias = self._cast(dtype)
        conv = self.conv
        try:
            return self._operator(
                x.to(dtype),
                weight,
                bias,
                list(conv.padding),
                list(conv.stride),
                list(conv.dilation),
                conv.groups,
                self.attr,
                self.scalars,
                "",
            )
        except RuntimeError:  # a build or CPU whose oneDNN lacks this case: apart from now on
            self._operator = None
            return self.activation(self.conv(x))


def conv_activation_pairs(model: nn.Module, example: torch.Tensor) -> list[tuple[str, str]]:
    """``(convolution, activation)`` module names where the activation's input is exactly
    the convolution's output, read off one forward pass of ``example``."""
    return feeding_pairs(model, example, _fusable_conv, lambda m: _post_op(m) is not None)


def _fusable_conv(module: nn.Module) -> bool:
    return (
        type(module) is nn.Conv2d
        and module.padding_mode == "zeros"
        and not isinstance(module.padding, str)
    )


def fuse_activations(model: nn.Module, example: torch.Tensor) -> list[tuple[str, str]]:
    """Put each convolution and the activation it feeds into one :class:`ConvActivation`
    inside ``model`` (an inference copy: it is changed); returns the pairs fused, which
    :func:`unfuse_activations` takes apart again.

    A pass cannot tell whether something else also reads the convolution's output (it
    would then get the activated one), so the caller compares outputs afterwards.
    """
    if _operator() is None or example.device.type != "cpu":
        return []  # GPUs have their own fusion (cuDNN, torch.compile)
    fused = []
    for conv_name, act_name in conv_activation_pairs(model, example):
        conv, activation = model.get_submodule(conv_name), model.get_submodule(act_name)
        post_op = _post_op(activation)
        if not isinstance(conv, nn.Conv2d) or post_op is None:
            continue
        replace_submodule(model, conv_name, ConvActivation(conv, activation, post_op))
        replace_submodule(model, act_name, nn.Identity())
        fused.append((conv_name, act_name))
    return fused


def unfuse_activations(model: nn.Module, pairs: list[tuple[str, str]]) -> None:
    """Undo :func:`fuse_activations` for ``pairs``: convolution and activation apart."""
    for conv_name, act_name in pairs:
        fused = model.get_submodule(conv_name)
        assert isinstance(fused, ConvActivation)
        replace_submodule(model, conv_name, fused.conv)
        replace_submodule(model, act_name, fused.activation)
