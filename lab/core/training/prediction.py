"""Top-k predictions for a single image."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch import nn

from lab.core.hardware.device import eval_mode


def as_input(image: Any, transform: Callable[[Any], torch.Tensor] | None) -> torch.Tensor:
    """A batch of one from a PIL image, a uint8 array or an already prepared tensor."""
    if isinstance(image, torch.Tensor):
        return image if image.dim() == 4 else image.unsqueeze(0)
    if isinstance(image, np.ndarray):
        image = Image.fromarray(image)
    if not isinstance(image, Image.Image):
        raise TypeError(f"image: pass a PIL image, a numpy array or a tensor, not {type(image)}")
    if transform is None:
        raise ValueError(
            "image: this model has no image transform (built from parts without transform=); "
            "pass a preprocessed tensor instead"
        )
    return transform(image).unsqueeze(0)


@torch.no_grad()
def predict_top_k(
    model: nn.Module,
    image: Any,
    class_names: Sequence[str],
    transform: Callable[[Any], torch.Tensor] | None,
    k: int = 5,
    device: torch.device | str = "cpu",
) -> list[tuple[str, float]]:
    """The ``k`` most likely classes of ``image`` as (class name, probability), best first."""
    if k < 1:
        raise ValueError(f"k={k}: ask for at least 1 class")
    batch = as_input(image, transform).to(device)
    with eval_mode(model):
        probs = torch.softmax(model(batch).float(), dim=1)[0]
    top = torch.topk(probs, min(k, len(class_names)))
    return [
        (class_names[i], float(p)) for p, i in zip(top.values, top.indices.tolist(), strict=True)
    ]
