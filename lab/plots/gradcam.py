"""Grad-CAM overlays: a heatmap blended over the image the model saw."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure
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


def cam_comparison_figure(pairs: Sequence[Any], opacity: float = 0.5) -> Figure:
    """Rows of photo | pretrained Grad-CAM | random-init Grad-CAM (matplotlib); titles give
    the share of each map inside the central half of the photo."""
    fig = Figure(figsize=(7.5, 2.6 * max(len(pairs), 1)))
    for row, pair in enumerate(pairs):
        image = pair.photo.image()
        pre, rnd = pair.centre_shares
        panels = [
            (ImageOps.fit(image, pair.pretrained.heatmap.shape[::-1]), pair.photo.label_name),
            (
                overlay_image(image, pair.pretrained.heatmap, opacity),
                f"pretrained ({pre:.0%} centre)",
            ),
            (
                overlay_image(image, pair.random_init.heatmap, opacity),
                f"random init ({rnd:.0%} centre)",
            ),
        ]
        for col, (picture, title) in enumerate(panels):
            ax = fig.add_subplot(len(pairs), 3, row * 3 + col + 1)
            ax.imshow(picture)
            ax.set_title(title, fontsize=9)
            ax.axis("off")
    fig.tight_layout()
    return fig
