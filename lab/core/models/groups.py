"""Ordered layer groups (stem ... last block, head) for freezing, one rule for every model.

The model tree is opened from the top, in registration order (which is forward order for
torchvision and timm classifiers). A module is opened into its children when it is

* a plain container (exactly ``nn.Sequential``, ``nn.ModuleList`` or ``nn.ModuleDict``):
  these hold stages or blocks, e.g. ``features`` or ``layer1``;
* an ancestor of the head, so the head stands alone;
* bigger than half of the whole model, e.g. ViT's ``encoder``.

Every unopened module that holds parameters becomes a group, except that a lone
normalization layer joins the group before it (it normalises that layer's output, e.g.
ResNet's ``bn1`` after ``conv1``). The first group is the "stem", the group holding the
head is the "head"; the others are named by their module path. Parameters that belong
directly to an opened module (ViT's class token and position embedding) join the stem.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from torch import nn

from lab.core.models.heads import head_module

_PLAIN_CONTAINERS = (nn.Sequential, nn.ModuleList, nn.ModuleDict)
_NORMS = (nn.modules.batchnorm._NormBase, nn.LayerNorm, nn.GroupNorm)


@dataclass(frozen=True, eq=False)
class LayerGroup:
    """Modules frozen and unfrozen together, plus parameters owned by no listed module.

    The one group type: :func:`layer_groups` makes them for catalog models, and
    :func:`lab.core.models.finetune.default_groups` (or the caller) for any other model.
    """

    name: str
    modules: tuple[nn.Module, ...]
    extra_parameters: tuple[nn.Parameter, ...] = ()

    def parameters(self) -> Iterator[nn.Parameter]:
        """Every parameter of the group, once."""
        seen: set[int] = set()
        for module in self.modules:
            for parameter in module.parameters():
                if id(parameter) not in seen:
                    seen.add(id(parameter))
                    yield parameter
        for parameter in self.extra_parameters:
            if id(parameter) not in seen:
                seen.add(id(parameter))
                yield parameter

    @property
    def num_params(self) -> int:
        """Number of scalar parameters in the group."""
        return sum(p.numel() for p in self.parameters())


def _count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def _has_params(module: nn.Module) -> bool:
    return next(module.parameters(), None) is not None


def _contains(module: nn.Module, target: nn.Module) -> bool:
    return any(m is target for m in module.modules())


def _opens(module: nn.Module, head: nn.Module, total: int) -> bool:
    if not any(_has_params(child) for child in module.children()):
        return False  # a layer (or a module whose only parameters are its own)
    return (
        type(module) in _PLAIN_CONTAINERS or _contains(module, head) or _count(module) * 2 > total
    )


def _leaves(
    module: nn.Module, prefix: str, head: nn.Module, total: int, loose: list[nn.Parameter]
) -> Iterator[tuple[str, nn.Module]]:
    loose.extend(module.parameters(recurse=False))
    for name, child in module.named_children():
        if not _has_params(child):
            continue
        path = f"{prefix}{name}"
        if _opens(child, head, total):
            yield from _leaves(child, f"{path}.", head, total, loose)
        else:
            yield path, child


def layer_groups(model: nn.Module) -> list[LayerGroup]:
    """Ordered groups stem ... head; every parameter of ``model`` is in exactly one."""
    head = head_module(model)
    loose: list[nn.Parameter] = []
    groups: list[tuple[str, list[nn.Module]]] = []
    head_seen = False
    for path, module in _leaves(model, "", head, _count(model), loose):
        head_seen = head_seen or module is head
        if head_seen and groups and groups[-1][0] == "head":
            groups[-1][1].append(module)  # anything registered after the head
        elif head_seen:
            groups.append(("head", [module]))
        elif isinstance(module, _NORMS) and groups:
            groups[-1][1].append(module)
        else:
            groups.append((path, [module]))
    if len(groups) < 2:
        raise ValueError(f"model={type(model).__name__}: found no layers before the head to group")
    result = [LayerGroup(name, tuple(mods)) for name, mods in groups]
    result[0] = LayerGroup("stem", result[0].modules, tuple(loose))
    return result
