"""Grad-CAM overlays: a heatmap blended over the image the model saw."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageOps
from pytorch_grad_cam.utils.image import show_cam_on_image


def overlay_image(image: Image.Image, heatmap: np.ndarray, opacity: float = 0.5) -> Image.Image:
    """``image`` cropped to the heatmap's aspect and size, the map blended in at ``opacity``.

    ``opacity`` 0 shows the image alone, 1 the heatmap alone. The crop matches the
    evaluation transform (resize the short side, centre crop).
    """
    if not 0.0 <= opacity <= 1.0:
        raise ValueError(f"opacity={opacity}: choose a value from 0 (image) to 1 (map)")
    h, w = heatmap.shape
    base = ImageOps.fit(image.convert("RGB"), (w, h), Image.Resampling.BILINEAR)
    rgb = np.asarray(base, dtype=np.float32) / 255.0
    blended = show_cam_on_image(
        rgb, heatmap.astype(np.float32), use_rgb=True, image_weight=1 - opacity
    )
    return Image.fromarray(blended)


def overlay_png(image: Image.Image, heatmap: np.ndarray, opacity: float = 0.5) -> bytes:
    """:func:`overlay_image` as PNG bytes, for an ipywidgets ``Image``."""
    buffer = io.BytesIO()
    overlay_image(image, heatmap, opacity).save(buffer, format="PNG")
    return buffer.getvalue()
