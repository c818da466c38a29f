"""Build models whose parameters live on the ``meta`` device: shapes without memory.

``with torch.device("meta"):`` is not enough: it also sends the helper tensors some models
compute with while they are built (RegNet derives its stage widths with ``torch.arange``
and reads them back with ``.tolist()``, which a meta tensor cannot do). Here only
parameters and buffers move to ``meta``, as each module registers them; helper tensors stay
ordinary, and each layer's own initialisation then runs on meta tensors, costing nothing.

:func:`fill_parameters` then gives such parameters memory and values drawn from a
generator of the caller's own, so a model can be built beside a training run without
drawing from torch's global generator, which the run's dropout draws from.
"""

from __future__ import annotations

import contextlib
import math
import threading
from collections.abc import Iterator

import torch
from torch import nn

_META = torch.device("meta")
_state = threading.local()  # only the thread that asked builds on meta
_lock = threading.Lock()
_users = 0
_register_parameter = nn.Module.register_parameter
_register_buffer = nn.Module.register_buffer


def building_on_meta() -> bool:
    """Whether this thread is inside ``parameters_on_meta``."""
    return bool(getattr(_state, "depth", 0))


def _meta_parameter(self: nn.Module, name: str, param: nn.Parameter | None) -> None:
    _register_parameter(self, name, param)
    if param is not None and building_on_meta() and type(param) is nn.Parameter:
        self._parameters[name] = nn.Parameter(param.to(_META), param.requires_grad)


def _meta_buffer(
    self: nn.Module, name: str, tensor: torch.Tensor | None, persistent: bool = True
) -> None:
    if tensor is not None and building_on_meta() and getattr(_state, "buffers", True):
        tensor = tensor.to(_META)
    _register_buffer(self, name, tensor, persistent)


@contextlib.contextmanager
def parameters_on_meta(buffers: bool | None = None) -> Iterator[None]:
    """Within this block (on this thread), new modules get meta parameters, and meta
    buffers too unless ``buffers`` is False (then buffers keep the values computed while
    the model is built, e.g. Swin's relative position index). None: as the enclosing
    block says (True outside any)."""
    global _users
    with _lock:
        if _users == 0:
            nn.Module.register_parameter = _meta_parameter  # type: ignore[method-assign]
            nn.Module.register_buffer = _meta_buffer  # type: ignore[method-assign]
        _users += 1
    _state.depth = getattr(_state, "depth", 0) + 1
    outer = getattr(_state, "buffers", True)
    _state.buffers = outer if buffers is None else buffers
    try:
        yield
    finally:
        _state.buffers = outer
        _state.depth -= 1
        with _lock:
            _users -= 1
            if _users == 0:
                nn.Module.register_parameter = _register_parameter  # type: ignore[method-assign]
                nn.Module.register_buffer = _register_buffer  # type: ignore[method-assign]


@torch.no_grad()
def fill_parameters(model: nn.Module, generator: torch.Generator) -> nn.Module:
    """Give ``model``'s meta parameters CPU memory and values from ``generator``:
    weights uniform in ±1/sqrt(fan-in) (the scale of torch's default layer init), 1-D
    scales 1 and biases 0. Values for timing, not for training. Returns ``model``."""
    for module in model.modules():
        for name, param in list(module._parameters.items()):
            if param is None or not param.is_meta:
                continue
            value = torch.empty(param.shape, dtype=param.dtype)
            if value.dim() > 1:
                bound = 1.0 / math.sqrt(max(value[0].numel(), 1))
                value.uniform_(-bound, bound, generator=generator)
            else:
                value.fill_(0.0 if "bias" in name else 1.0)
            module._parameters[name] = nn.Parameter(value, param.requires_grad)
    return model
