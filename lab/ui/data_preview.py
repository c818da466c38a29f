"""What the data panel shows of a loaded data set: counts, split sizes and image grids.

Functions of the data set and the panel's settings; :mod:`lab.ui.data_panel` puts
their results into its widgets. Each raises :class:`~lab.core.data.DataError` when the
settings cannot work for this data set.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import plotly.graph_objects as go

from lab.core.data import split_indices
from lab.ui.figures import sync_figure
from lab.ui.widgets_common import image_grid_png

#: How many images per class the preview grid shows, and for how many classes at most.
PREVIEW_PER_CLASS = 6
PREVIEW_MAX_CLASSES = 10
SPLITS = ("train", "val", "test")
SPLIT_COLOURS = {"train": "#1e88e5", "val": "#fb8c00", "test": "#8e24aa"}


def status_html(name: str, dataset: Any) -> str:
    """``animal_shapes: 1,200 images · 4 classes`` (and how many files were unreadable)."""
    skipped = len(getattr(dataset, "skipped", []))
    note = f" · {skipped} unreadable file(s) skipped" if skipped else ""
    return f"<b>{name}</b>: {len(dataset):,} images · {len(dataset.class_names)} classes{note}"


def preview_png(dataset: Any, seed: int) -> bytes:
    """A grid of a few images per class, one labelled row per class."""
    samples = dataset.samples_per_class(PREVIEW_PER_CLASS, seed=seed)
    classes = list(range(len(dataset.class_names)))[:PREVIEW_MAX_CLASSES]
    rows = [(dataset.class_names[c], [dataset.image(int(i)) for i in samples[c]]) for c in classes]
    return image_grid_png(rows)


def split_counts(
    dataset: Any, val_fraction: float, test_fraction: float, n_per_class: int | None, seed: int
) -> dict[str, np.ndarray]:
    """Images per class in each split (``SPLITS``) for these settings."""
    labels = np.asarray(dataset.labels)
    splits = split_indices(labels, val_fraction, test_fraction, n_per_class, seed)
    classes = len(dataset.class_names)
    return {name: np.bincount(labels[getattr(splits, name)], minlength=classes) for name in SPLITS}


def most_train_images(dataset: Any, val_fraction: float, test_fraction: float, seed: int) -> int:
    """The most training images any class has: a larger ``n_per_class`` changes nothing."""
    counts = split_counts(dataset, val_fraction, test_fraction, None, seed)
    return max(int(counts["train"].max()), 1)


def splits_html(counts: dict[str, np.ndarray]) -> str:
    totals = {name: int(values.sum()) for name, values in counts.items()}
    return (
        f"train <b>{totals['train']:,}</b> · validation <b>{totals['val']:,}</b> · "
        f"test <b>{totals['test']:,}</b> images"
    )


def draw_split_chart(
    chart: go.FigureWidget, names: list[str], counts: dict[str, np.ndarray] | None
) -> None:
    """Bars of images per class and split; ``counts=None`` empties the chart."""
    with chart.batch_update():
        for bar, split in zip(chart.data, SPLITS, strict=True):
            bar.x, bar.y = (names, counts[split].tolist()) if counts is not None else ([], [])
    sync_figure(chart)
