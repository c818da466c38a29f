"""Step 2's augmentation: the switch, what this data set gets, and one image augmented."""

from __future__ import annotations

import ipywidgets as widgets

from lab.core.data import (
    ImageDataset,
    allows_flip,
    augmentations,
    augmented_samples,
    build_transform,
)
from lab.core.models import catalog
from lab.ui.help_texts import help_text
from lab.ui.widgets_common import image_grid_png, show_png, with_classes

#: How many augmented copies of the sample image the preview shows.
AUGMENT_SAMPLES = 8


class AugmentView:
    """The widgets of the augmentation setting; the data panel owns the trait they show."""

    def __init__(self) -> None:
        self.check = with_classes(
            widgets.Checkbox(description="augment training images", tooltip=help_text("augment")),
            "tl-augment",
        )
        self.names = with_classes(widgets.HTML(""), "tl-augment-list")
        self.preview = with_classes(widgets.Image(format="png"), "tl-augment-preview")
        self.preview.layout.display = "none"

    def describe(self, dataset_name: str, on: bool) -> None:
        """Name the augmentations this data set gets (no flips for digits)."""
        text = ", ".join(augmentations(dataset_name))
        if not allows_flip(dataset_name):
            text += " · no flips: a mirrored digit is not that digit"
        if not on:
            text = "off; when on: " + text
        self.names.value = f'<span style="color:#555">{text}</span>'

    def hide(self) -> None:
        """No preview: augmentation is off, or no data set is loaded."""
        self.preview.layout.display = "none"

    def show(
        self, dataset: ImageDataset, name: str, model_key: str, image_size: int, seed: int
    ) -> None:
        """One image of ``dataset`` and random augmentations of it (raises DataError)."""
        transform = build_transform(
            catalog.preprocessing(model_key),
            image_size=image_size or None,
            augment=True,
            train=True,
            flip=allows_flip(name),
        )
        index = int(dataset.samples_per_class(1, seed=seed)[0][0])
        images = augmented_samples(dataset, index, AUGMENT_SAMPLES, transform, seed)
        rows = [("original", [dataset.image(index)]), ("augmented", images)]
        show_png(self.preview, image_grid_png(rows, cell=96))
