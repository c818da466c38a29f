"""Find the validation images behind a trainer's validation split (for the gallery)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from PIL import Image

from lab.core.data import tensor_to_image
from lab.ui.messages import ValidationImages


def validation_images(val: Any) -> ValidationImages | None:
    """True labels and images of the validation split ``val`` (``None`` if unknown).

    Understands the lab's own image datasets (original images, not the model's
    normalized input) and ``(inputs, labels)`` tensor datasets.
    """
    if hasattr(val, "dataset") and hasattr(val, "indices") and hasattr(val, "labels"):
        source, indices = val.dataset, np.asarray(val.indices)
        return ValidationImages(
            labels=np.asarray(val.labels), image=lambda k: source.image(int(indices[k]))
        )
    tensors = getattr(val, "tensors", None)
    if tensors is not None and len(tensors) == 2:
        inputs, labels = tensors
        return ValidationImages(
            labels=labels.detach().cpu().numpy(), image=lambda k: _tensor_image(inputs[k])
        )
    return None


def _tensor_image(tensor: torch.Tensor) -> Image.Image:
    if tensor.ndim == 3 and tensor.shape[0] in (1, 3):
        values = tensor.float()
        low, high = float(values.min()), float(values.max())
        # Inputs may be normalized: stretch to [0, 1] just for looking at them.
        scaled = (values - low) / (high - low) if high > low else values * 0
        return tensor_to_image(scaled.expand(3, -1, -1))
    return Image.new("RGB", (32, 32), "#cccccc")  # not an image: a grey tile per item
