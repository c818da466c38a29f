"""Find and replace a classifier's head, the same way for every architecture.

The head is the layer that produces the class scores: the last ``nn.Linear`` registered in
the model, or, in models without one (SqueezeNet), the last ``nn.Conv2d``. Replacing it
keeps its input width and bias and changes only the number of outputs.
"""

from __future__ import annotations

from typing import cast

from torch import nn


def head_module(model: nn.Module) -> nn.Module:
    """The layer that produces the class scores (see module docstring)."""
    return model.get_submodule(head_path(model))


def head_path(model: nn.Module) -> str:
    """Dotted name of the head inside ``model``, e.g. ``"classifier.1"`` or ``"fc"``."""
    linear = [name for name, m in model.named_modules() if isinstance(m, nn.Linear)]
    if linear:
        return linear[-1]
    convs = [name for name, m in model.named_modules() if isinstance(m, nn.Conv2d)]
    if convs:
        return convs[-1]
    raise ValueError(
        f"model={type(model).__name__}: has no nn.Linear or nn.Conv2d to use as a head"
    )


def _new_head(old: nn.Module, num_classes: int) -> nn.Module:
    weight = old.weight
    assert isinstance(weight, nn.Parameter)
    device, dtype = weight.device, weight.dtype
    if isinstance(old, nn.Linear):
        bias = old.bias is not None
        return nn.Linear(old.in_features, num_classes, bias=bias, device=device, dtype=dtype)
    assert isinstance(old, nn.Conv2d)
    return nn.Conv2d(
        old.in_channels,
        num_classes,
        kernel_size=cast(tuple[int, int], old.kernel_size),
        stride=cast(tuple[int, int], old.stride),
        padding=cast(tuple[int, int], old.padding),
        bias=old.bias is not None,
        device=device,
        dtype=dtype,
    )


def replace_head(model: nn.Module, num_classes: int) -> nn.Module:
    """Put a freshly initialised head for ``num_classes`` in place; return the new head."""
    if isinstance(num_classes, bool) or num_classes < 1:
        raise ValueError(f"num_classes={num_classes}: choose at least 1 class")
    path = head_path(model)
    parent_path, _, name = path.rpartition(".")
    parent = model.get_submodule(parent_path)
    head = _new_head(parent.get_submodule(name), num_classes)
    setattr(parent, name, head)
    return head


def drop_aux_heads(model: nn.Module) -> None:
    """Remove auxiliary classifiers (GoogLeNet, Inception v3), as torchvision does when it
    loads their weights: in training they would return extra outputs of 1000 classes."""
    if not getattr(model, "aux_logits", False):
        return
    model.aux_logits = False  # type: ignore[assignment]
    for name, _ in list(model.named_children()):
        if name.lower().startswith("aux"):
            setattr(model, name, None)
