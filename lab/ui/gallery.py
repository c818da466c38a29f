"""A gallery of validation images drawn into one PNG, so showing it is one message."""

from __future__ import annotations

import html
import io
from collections.abc import Sequence

import ipywidgets as widgets
from PIL import Image, ImageDraw, ImageFont

from lab.ui.pump import Sends
from lab.ui.widgets_common import with_classes

#: At most this many images are drawn; the title says how many there are in all.
MAX_IMAGES = 32


def thumbnail_grid_png(
    items: Sequence[tuple[Image.Image, str]], columns: int = 8, cell: int = 88
) -> bytes:
    """Draw ``(image, caption)`` pairs in a grid, the caption under each image."""
    if columns < 1:
        raise ValueError(f"columns={columns}: choose at least 1 column")
    caption_h, pad = 16, 6
    rows = max(1, -(-len(items) // columns))
    width = min(max(len(items), 1), columns) * (cell + pad) + pad
    canvas = Image.new("RGB", (width, rows * (cell + caption_h + pad) + pad), "white")
    draw = ImageDraw.Draw(canvas)
    font = ImageFont.load_default(size=11)
    for i, (image, caption) in enumerate(items):
        left = pad + (i % columns) * (cell + pad)
        top = pad + (i // columns) * (cell + caption_h + pad)
        thumb = image.convert("RGB")
        # Upscale tiny images with nearest so 28-px digits stay crisp, not blurred.
        scale = cell / max(thumb.size)
        size = (max(1, round(thumb.width * scale)), max(1, round(thumb.height * scale)))
        thumb = thumb.resize(size, Image.Resampling.NEAREST)
        canvas.paste(thumb, (left + (cell - thumb.width) // 2, top + (cell - thumb.height) // 2))
        text = caption if len(caption) <= 16 else caption[:15] + "…"
        draw.text((left + cell // 2, top + cell + 2), text, fill="#333333", font=font, anchor="mt")
    buffer = io.BytesIO()
    canvas.save(buffer, format="PNG")
    return buffer.getvalue()


class Gallery(widgets.VBox):
    """A title line and one image; :meth:`show` replaces both (the pump calls it)."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.title = with_classes(widgets.HTML(""), "tl-gallery-title")
        self.image = with_classes(widgets.Image(format="png"), "tl-gallery-image")
        self.image.layout.display = "none"
        self.image.layout.align_self = "flex-start"  # natural size, not stretched
        self.children = [self.title, self.image]
        with_classes(self, "tl-gallery")

    def show(
        self,
        title: str,
        items: Sequence[tuple[Image.Image, str]],
        sends: Sends,
        total: int | None = None,
    ) -> None:
        """Show up to :data:`MAX_IMAGES` of ``items`` under ``title`` (plain text).

        ``total`` is how many there are in all when ``items`` is only the first few.
        """
        shown = items[:MAX_IMAGES]
        total = len(items) if total is None else total
        count = f" (showing {len(shown)} of {total})" if total > len(shown) else ""
        if not total:
            count = ": none"
        sends.set(self.title, value=f"<b>{html.escape(title)}</b>{count}")
        if shown:
            sends.set(self.image, value=thumbnail_grid_png(shown))
        sends.show(self.image, bool(shown))
