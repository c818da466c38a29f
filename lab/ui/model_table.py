"""What the model panel shows of the catalog: which models, in what order, and in words.

Pure functions of catalog entries and the panel's settings; :mod:`lab.ui.model_panel`
puts their results into its widgets.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from lab.ui.widgets_common import format_count, html_table

#: Columns the table can be sorted by: label -> (entry attribute, largest first).
SORT_COLUMNS: dict[str, tuple[str, bool]] = {
    "ImageNet acc@1": ("acc1", True),
    "parameters": ("params", False),
    "file size": ("file_size_mb", False),
    "GFLOPs": ("gflops", False),
    "name": ("key", False),
}
#: Horizontal axes of the scatter: label -> (entry attribute, scale to display units).
X_AXES: dict[str, tuple[str, float]] = {
    "parameters (M)": ("params", 1e-6),
    "file size (MB)": ("file_size_mb", 1.0),
    "GFLOPs": ("gflops", 1.0),
    "latency (ms, batch 1)": ("batch1_ms", 1.0),
    "latency (ms/image, batch 32)": ("batch32_ms", 1.0),
}
AVAILABILITY_COLOURS = {"offline": "#2e7d32", "cached": "#1565c0", "download": "#9e9e9e"}
TABLE_HEADER = ("model", "params", "MB", "GFLOPs", "ms b1", "ms/img b32", "acc@1 %", "weights")

#: Measured latencies: key -> {"batch1_ms": ..., "batch32_ms": ...}.
Latencies = Mapping[str, Mapping[str, float]]
Availability = Callable[[str], str]


def number(value: Any) -> float | None:
    """Catalog numbers may be missing (None or NaN) for some entries."""
    if value is None:
        return None
    result = float(value)
    return None if math.isnan(result) else result


def cell(value: Any, fmt: Callable[[float], str]) -> str:
    """``value`` formatted by ``fmt``, or a dash when it is missing."""
    result = number(value)
    return "–" if result is None else fmt(result)


def scatter_title() -> str:
    legend = " ".join(
        f'<span style="color:{colour}">●</span> {name}'
        for name, colour in AVAILABILITY_COLOURS.items()
    )
    return f"accuracy vs cost · click a point to choose · {legend} · ┅ Pareto front"


def visible_entries(
    entries: Iterable[Any],
    availability: Availability,
    offline_only: bool,
    max_size_mb: float,
    sort_by: str,
) -> list[Any]:
    """The entries the filters keep, sorted by column ``sort_by`` (missing values last)."""

    def keep(entry: Any) -> bool:
        if offline_only and availability(entry.key) == "download":
            return False
        size = number(entry.file_size_mb)
        return size is None or size <= max_size_mb * (1 + 1e-6)

    attribute, descending = SORT_COLUMNS[sort_by]

    def order(entry: Any) -> tuple[bool, Any]:
        value = getattr(entry, attribute)
        if attribute == "key":
            return (False, value)
        result = number(value)
        # Missing values sort last in either direction.
        if result is None:
            return (True, 0.0)
        return (False, -result if descending else result)

    return sorted(filter(keep, entries), key=order)


def latency(latencies: Latencies, key: str, batch: str) -> float | None:
    """Measured milliseconds of model ``key`` for ``batch`` ("batch1_ms"/"batch32_ms")."""
    return number(latencies.get(key, {}).get(batch))


def table_html(
    visible: list[Any], chosen: str, availability: Availability, latencies: Latencies
) -> str:
    """The scrollable table of ``visible`` entries, the ``chosen`` key's row shaded."""
    rows = [
        [
            e.key,
            cell(e.params, format_count),
            cell(e.file_size_mb, lambda v: f"{v:.1f}"),
            cell(e.gflops, lambda v: f"{v:.2f}"),
            cell(latency(latencies, e.key, "batch1_ms"), lambda v: f"{v:.1f}"),
            cell(latency(latencies, e.key, "batch32_ms"), lambda v: f"{v:.1f}"),
            cell(e.acc1, lambda v: f"{v:.1f}"),
            availability(e.key),
        ]
        for e in visible
    ]
    keys = [e.key for e in visible]
    highlight = keys.index(chosen) if chosen in keys else -1
    body = html_table(TABLE_HEADER, rows, highlight) if rows else "<i>no model matches</i>"
    return f'<div style="max-height:260px;overflow-y:auto">{body}</div>'


def info_html(entry: Any, available: str, pretrained: bool, from_scratch: bool) -> str:
    """One line about the chosen model: its size and cost, and which weights it starts from."""
    weights = "random init" if not pretrained else f"pretrained weights: {available}"
    if from_scratch:
        weights = "random init (the approach trains from scratch: no weights loaded)"
    note = ""
    if pretrained and not from_scratch and available == "download":
        note = " · <b>needs internet</b> to download the weights on first use"
    return (
        f"<b>{entry.key}</b> · {cell(entry.params, format_count)} params "
        "(with the 1000-class ImageNet head) · "
        f"{cell(entry.file_size_mb, lambda v: f'{v:.1f}')} MB · "
        f"{cell(entry.gflops, lambda v: f'{v:.2f}')} GFLOPs · "
        f"acc@1 {cell(entry.acc1, lambda v: f'{v:.1f}')} % · "
        f"input {entry.input_size} px · {weights}{note}"
    )


def scatter_point(entry: Any, x_axis: str, latencies: Latencies) -> tuple[float, float] | None:
    """(cost on ``x_axis``, ImageNet acc@1) of ``entry``; None when either is unknown."""
    attribute, scale = X_AXES[x_axis]
    if attribute.endswith("_ms"):
        x = latency(latencies, entry.key, attribute)
    else:
        x = number(getattr(entry, attribute))
    y = number(entry.acc1)
    if x is None or y is None or x <= 0:
        return None
    return x * scale, y
