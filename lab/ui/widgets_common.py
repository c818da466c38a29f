"""Small helpers shared by the set-up panels: CSS classes, error boxes, image grids."""

from __future__ import annotations

import html
import io
from collections.abc import Sequence
from typing import TypeVar

import ipywidgets as widgets
from PIL import Image, ImageDraw, ImageFont

from lab.ui.help_texts import help_text
from lab.ui.pump import Sends

W = TypeVar("W", bound=widgets.DOMWidget)


def with_classes(widget: W, *classes: str) -> W:
    """Add stable CSS classes (used by styles and browser tests) and return ``widget``."""
    for name in classes:
        widget.add_class(name)
    return widget


def error_box() -> widgets.HTML:
    """An initially hidden HTML widget with the ``tl-error`` class for messages to users."""
    box = with_classes(widgets.HTML(""), "tl-error")
    box.layout.display = "none"
    return box


def show_error(box: widgets.HTML, message: str, sends: Sends | None = None) -> None:
    """Show ``message`` (plain text, escaped) in an error box made by :func:`error_box`.

    Pass the batch's ``sends`` when the pump shows it (the messages are counted there).
    """
    value = f'<span style="color:#b00020">&#9888; {html.escape(message)}</span>'
    if sends is None:
        box.value = value
        box.layout.display = None
    else:
        sends.set(box, value=value)
        sends.show(box, True)


def clear_error(box: widgets.HTML) -> None:
    """Hide an error box and forget its message."""
    box.value = ""
    box.layout.display = "none"


def panel_title(text: str, show: bool) -> list[widgets.Widget]:
    """A heading for a panel shown on its own; none inside the app, whose accordion names it."""
    if not show:
        return []
    return [with_classes(widgets.HTML(f"<h3>{html.escape(text)}</h3>"), "tl-panel-title")]


def note_html(text: str, size: int = 90) -> str:
    """``text`` (HTML, escaped by the caller) in the lab's grey note style."""
    return f'<span style="color:#666;font-size:{size}%">{text}</span>'


def note_line(text: str) -> widgets.HTML:
    """A grey explanation line of plain ``text`` (escaped here), class ``tl-help``."""
    return with_classes(widgets.HTML(note_html(html.escape(text))), "tl-help")


def help_line(key: str) -> widgets.HTML:
    """The grey explanation line of the concept ``key`` (see :mod:`lab.ui.help_texts`)."""
    return note_line(help_text(key))


def format_count(n: float) -> str:
    """Format a parameter count compactly: 3504872 -> '3.50 M'."""
    if n >= 1e9:
        return f"{n / 1e9:.2f} G"
    if n >= 1e6:
        return f"{n / 1e6:.2f} M"
    if n >= 1e3:
        return f"{n / 1e3:.1f} k"
    return f"{int(n)}"


def image_grid_png(
    rows: Sequence[tuple[str, Sequence[Image.Image]]], cell: int = 72, label_width: int = 90
) -> bytes:
    """Draw labelled rows of images (one row per label) into a single PNG.

    One image widget for the whole grid keeps the number of frontend messages small, and
    composing with Pillow is far faster than a matplotlib figure of many axes.
    """
    n_cols = max((len(images) for _, images in rows), default=0)
    pad = 4
    width = label_width + max(n_cols, 1) * (cell + pad)
    height = max(len(rows), 1) * (cell + pad)
    canvas = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(canvas)
    font = ImageFont.load_default(size=12)
    for r, (label, images) in enumerate(rows):
        top = r * (cell + pad)
        text = label if len(label) <= 12 else label[:11] + "…"
        draw.text((4, top + cell // 2), text, fill="#333333", font=font, anchor="lm")
        for c, image in enumerate(images):
            # Nearest keeps tiny images (28 px digits) crisp instead of blurred.
            thumb = image.convert("RGB")
            thumb.thumbnail((cell, cell), Image.Resampling.NEAREST)
            if max(thumb.size) < cell:
                scale = cell / max(thumb.size)
                size = (max(1, round(thumb.width * scale)), max(1, round(thumb.height * scale)))
                thumb = thumb.resize(size, Image.Resampling.NEAREST)
            left = label_width + c * (cell + pad)
            canvas.paste(
                thumb, (left + (cell - thumb.width) // 2, top + (cell - thumb.height) // 2)
            )
    buffer = io.BytesIO()
    canvas.save(buffer, format="PNG")
    return buffer.getvalue()


def show_png(image: widgets.Image, png: bytes) -> None:
    """Show ``png`` in ``image`` at its natural width (the frontend would stretch it)."""
    image.value = png
    # A PNG's width is the first field of its IHDR chunk, bytes 16-20, big-endian.
    image.width = str(int.from_bytes(png[16:20], "big"))
    image.layout.display = None


def html_table(header: Sequence[str], rows: Sequence[Sequence[str]], highlight: int = -1) -> str:
    """A compact HTML table; row ``highlight`` (index into ``rows``) is shaded.

    Cells are escaped here, so callers pass plain text.
    """
    style = "padding:2px 8px;text-align:right;white-space:nowrap"
    head = "".join(f'<th style="{style}">{html.escape(h)}</th>' for h in header)
    body = []
    for i, row in enumerate(rows):
        shade = ' style="background:#e3f2fd;font-weight:600"' if i == highlight else ""
        cells = "".join(f'<td style="{style}">{html.escape(cell)}</td>' for cell in row)
        body.append(f"<tr{shade}>{cells}</tr>")
    return (
        '<table style="border-collapse:collapse;font-size:90%">'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    )


def lr_slider(description: str, tooltip: str) -> widgets.FloatLogSlider:
    """A learning-rate slider; every LR slider shares this range, step and readout.

    Two sliders with different steps snap one value to two different numbers.
    """
    return widgets.FloatLogSlider(
        base=10, min=-6, max=0, step=0.01, description=description,
        readout_format=".1e", tooltip=tooltip,
    )  # fmt: skip
