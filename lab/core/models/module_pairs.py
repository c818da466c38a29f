"""Which module feeds which, read off one forward pass; and swapping a submodule.

The inference copies of :mod:`lab.core.models.folding` and
:mod:`lab.core.models.conv_activation` rewrite pairs of modules where the second's
input is exactly the first's output. Reading the pairs off a forward pass covers any
architecture (torchvision's ``Conv2dNormActivation`` blocks, timm's ``BatchNormAct2d``,
ResNet's ``conv1``/``bn1`` attributes) without knowing how its ``forward`` is written.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import torch
from torch import nn


def feeding_pairs(
    model: nn.Module,
    example: torch.Tensor,
    is_source: Callable[[nn.Module], bool],
    is_sink: Callable[[nn.Module], bool],
) -> list[tuple[str, str]]:
    """``(source, sink)`` module names where the sink's input is exactly the source's
    output (an ``nn.Identity`` between them passes the same tensor on), read off one
    forward pass of ``example`` under ``inference_mode``.

    Modules called more than once, and sources that feed more than one sink, are left
    out: one rewrite could not serve every call.
    """
    names = {id(m): n for n, m in model.named_modules()}
    calls: Counter[str] = Counter()
    produced: dict[int, tuple[str, torch.Tensor]] = {}  # tensors kept, so ids stay unique
    fed: list[tuple[str, str]] = []

    def source_hook(module: nn.Module, _args: Any, output: torch.Tensor) -> None:
        calls[names[id(module)]] += 1
        produced[id(output)] = (names[id(module)], output)

    def sink_hook(module: nn.Module, args: tuple[Any, ...]) -> None:
        calls[names[id(module)]] += 1
        source = produced.get(id(args[0])) if args else None
        if source is not None:
            fed.append((source[0], names[id(module)]))

    handles = []
    for module in model.modules():
        if is_source(module):
            handles.append(module.register_forward_hook(source_hook))
        elif is_sink(module):
            handles.append(module.register_forward_pre_hook(sink_hook))
    try:
        with torch.inference_mode():
            model(example)
    finally:
        for handle in handles:
            handle.remove()
    per_source = Counter(source for source, _ in fed)
    return [
        (source, sink)
        for source, sink in fed
        if per_source[source] == 1 and calls[source] == 1 and calls[sink] == 1
    ]


def replace_submodule(model: nn.Module, name: str, module: nn.Module) -> None:
    """Put ``module`` in ``model`` where submodule ``name`` was."""
    parent, _, child = name.rpartition(".")
    setattr(model.get_submodule(parent) if parent else model, child, module)
