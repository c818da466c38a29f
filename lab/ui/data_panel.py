"""Step 2 of the lab: choose the data, look at it, and decide how much of it to use.

Loading is an explicit action (the Load button or :meth:`DataPanel.load`), so building
the panel reads no images. Errors from the data layer are shown in the panel.
"""

from __future__ import annotations

from typing import Any

import ipywidgets as widgets
import numpy as np
from traitlets import Any as AnyTrait
from traitlets import Bool, Float, Int, TraitError, Unicode, observe, validate

from lab.core.data import (
    DataError,
    DataSpec,
    load_dataset,
)
from lab.core.data.splits import check_fractions, check_n_per_class
from lab.core.models import catalog
from lab.core.serving.settings import LabSettings, current
from lab.core.serving.uploads import UploadStore
from lab.ui.augment_view import AugmentView
from lab.ui.data_preview import (
    SPLIT_COLOURS,
    draw_split_chart,
    most_train_images,
    preview_png,
    split_counts,
    splits_html,
    status_html,
)
from lab.ui.data_sources import FOLDER, UPLOADS, DataSources, dataset_options
from lab.ui.errors import guard, guarded
from lab.ui.figures import plotly_loader, split_chart
from lab.ui.help_texts import help_text
from lab.ui.traits import as_trait_error
from lab.ui.upload_panel import UploadPanel
from lab.ui.widgets_common import (
    clear_error,
    error_box,
    help_line,
    note_html,
    panel_title,
    show_error,
    show_png,
    with_classes,
)

#: Crop sizes offered besides the weights' own: small ones train much faster on a CPU.
IMAGE_SIZES = (64, 96, 128, 160, 224)


class DataPanel(widgets.VBox):
    """Choose and inspect the data; :meth:`spec` is what a run is configured with."""

    dataset_name = Unicode("animal_shapes", help="Name of the data set (see list_datasets()).")
    path = Unicode("", help="Folder with one sub-folder per class (for the 'folder' data set).")
    n_per_class = Int(50, help="Training images per class (validation/test stay fixed).")
    val_fraction = Float(0.05, help="Share of each class held out for validation.")
    test_fraction = Float(0.1, help="Share of each class held out for the final test.")
    seed = Int(0, help="Seed of the split (and of the preview's random choices).")
    augment = Bool(False, help="Augment training images (random crop, flip, colour).")
    image_size = Int(96, help="Crop size fed to the model in pixels (0: the weights' own size).")
    model_key = Unicode(catalog.DEFAULT_MODEL, help="Model whose preprocessing the preview uses.")
    num_classes = Int(0, help="Number of classes of the loaded data set (0: none loaded).")
    dataset = AnyTrait(None, allow_none=True, help="The loaded ImageDataset, or None.")

    def __init__(
        self, title: bool = False, settings: LabSettings | None = None, **kwargs: Any
    ) -> None:
        """``title=True`` adds a heading (for use outside the app); ``kwargs`` set traits.

        ``settings`` (default: :func:`lab.core.serving.settings.current`) decide which folders a
        typed path may name and where uploads go.
        """
        self._ready = False
        self.settings = settings or current()
        store = UploadStore(self.settings.upload_root, self.settings.limits)
        self.sources = DataSources(self.settings, store)
        super().__init__(**kwargs)
        self.dataset = None
        self._build_controls()
        self.uploads = UploadPanel(store, on_change=self._on_uploads_changed)
        self.class_chart = with_classes(split_chart(SPLIT_COLOURS), "tl-class-chart")
        self.children = [
            plotly_loader(),
            *panel_title("2 · Data", title),
            help_line("dataset"),
            widgets.HBox([self.dataset_select, self.path_text, self.load_button]),
            self.roots_note,
            self.uploads,
            self.status,
            self.error,
            widgets.HBox([self.n_slider, self.val_slider, self.test_slider]),
            self.size_select,
            self.split_sizes,
            self.class_chart,
            self.preview,
            widgets.HBox([self.augment_check, self.augment_list]),
            self.augment_preview,
        ]
        with_classes(self, "tl-panel", "tl-data-panel")
        self._ready = True
        self.augmenting.describe(self.dataset_name, self.augment)
        self._on_dataset_name_changed({"new": self.dataset_name})

    # -- construction -------------------------------------------------------------
    def _build_controls(self) -> None:
        self._build_source()
        self._build_sizes()
        self._build_previews()

    def _build_source(self) -> None:
        """Which data: the data set, its folder, and the load button."""
        self.dataset_select = with_classes(
            widgets.Dropdown(
                options=dataset_options(), description="data set", tooltip=help_text("dataset")
            ),
            "tl-dataset-select",
        )
        widgets.link((self, "dataset_name"), (self.dataset_select, "value"))
        dashboard = self.settings.dashboard
        self.path_text = with_classes(
            widgets.Text(
                placeholder="folder name" if dashboard else "/path/to/folder",
                description="path",
                tooltip=help_text("folder"),
            ),
            "tl-folder-path",
        )
        self.roots_note = with_classes(
            widgets.HTML(note_html(self.sources.roots_note(), 100)),
            "tl-data-roots",
        )
        widgets.link((self, "path"), (self.path_text, "value"))
        self.load_button = with_classes(
            widgets.Button(description="Load & preview", icon="eye", tooltip=help_text("load")),
            "tl-load-button",
        )
        self.load_button.on_click(guard(self, lambda _: self.load()))
        self.status = with_classes(widgets.HTML(), "tl-data-status")
        self.error = error_box()

    def _build_sizes(self) -> None:
        """How much of it: images per class, the split fractions and the image size."""
        self.n_slider = with_classes(
            widgets.IntSlider(
                min=1,
                max=max(self.n_per_class, 500),
                description="n per class",
                tooltip=help_text("n_per_class"),
                continuous_update=False,
            ),
            "tl-n-per-class",
        )
        widgets.link((self, "n_per_class"), (self.n_slider, "value"))
        # Slider ranges keep val + test below 1, so every class keeps training images.
        self.val_slider = self._fraction_slider("val fraction", 0.5, "val_fraction")
        self.test_slider = self._fraction_slider("test fraction", 0.4, "test_fraction")
        self.size_select = with_classes(
            widgets.Dropdown(
                options=[("model's own", 0)] + [(f"{n} px", n) for n in IMAGE_SIZES],
                description="image size",
                tooltip=help_text("image_size"),
            ),
            "tl-image-size",
        )
        widgets.link((self, "image_size"), (self.size_select, "value"))
        self.split_sizes = with_classes(widgets.HTML(), "tl-split-sizes")
        self.split_sizes.tooltip = help_text("splits")

    def _build_previews(self) -> None:
        self.preview = with_classes(widgets.Image(format="png"), "tl-preview")
        self.preview.layout.display = "none"
        self.augmenting = AugmentView()
        self.augment_check, self.augment_list = self.augmenting.check, self.augmenting.names
        self.augment_preview = self.augmenting.preview
        widgets.link((self, "augment"), (self.augment_check, "value"))

    def _fraction_slider(self, label: str, upper: float, trait: str) -> widgets.FloatSlider:
        slider = widgets.FloatSlider(
            min=0.05,
            max=upper,
            step=0.05,
            description=label,
            tooltip=help_text(trait),
            continuous_update=False,
            readout_format=".2f",
        )
        widgets.link((self, trait), (slider, "value"))
        return with_classes(slider, f"tl-{trait.replace('_', '-')}")

    # -- rules --------------------------------------------------------------------
    @validate("n_per_class")
    def _validate_n_per_class(self, proposal: dict[str, Any]) -> int:
        with as_trait_error():
            check_n_per_class(proposal["value"])
        return int(proposal["value"])

    @validate("val_fraction", "test_fraction")
    def _validate_fraction(self, proposal: dict[str, Any]) -> float:
        fractions = {"val_fraction": self.val_fraction, "test_fraction": self.test_fraction}
        fractions[proposal["trait"].name] = float(proposal["value"])
        with as_trait_error():
            check_fractions(**fractions)
        return float(proposal["value"])

    @validate("image_size")
    def _validate_image_size(self, proposal: dict[str, Any]) -> int:
        value = int(proposal["value"])
        if value < 0:
            raise TraitError(
                f"image_size={value}: choose a number of pixels, or 0 for the model's own"
            )
        return value

    @validate("dataset_name")
    def _validate_dataset_name(self, proposal: dict[str, Any]) -> str:
        names = [name for _, name in dataset_options()]
        if proposal["value"] not in names:
            raise TraitError(f"dataset_name={proposal['value']!r}: choose one of {names}")
        return str(proposal["value"])

    # -- handlers -----------------------------------------------------------------
    @observe("dataset_name")
    @guarded
    def _on_dataset_name_changed(self, change: dict[str, Any]) -> None:
        if not self._ready:
            return
        folder = change["new"] == FOLDER
        self.path_text.layout.display = None if folder else "none"
        self.roots_note.layout.display = None if folder and self.settings.dashboard else "none"
        self.uploads.layout.display = None if change["new"] == UPLOADS else "none"
        self._forget_dataset("Press <b>Load &amp; preview</b> to read the data set.")

    @observe("path")
    @guarded
    def _on_path_changed(self, change: dict[str, Any]) -> None:
        if self._ready and self.dataset_name == FOLDER and self.dataset is not None:
            self._forget_dataset("The folder changed: press <b>Load &amp; preview</b>.")

    def _on_uploads_changed(self) -> None:
        if self.dataset_name == UPLOADS and self.dataset is not None:
            self._forget_dataset("Your images changed: press <b>Load &amp; preview</b>.")

    @observe("n_per_class", "val_fraction", "test_fraction", "seed")
    @guarded
    def _on_split_changed(self, change: dict[str, Any]) -> None:
        if not self._ready:
            return
        if change["name"] != "n_per_class" and self.dataset is not None:
            self._fit_slider(self.dataset)
        self._render_splits()

    @observe("augment", "model_key", "image_size")
    @guarded
    def _on_augment_changed(self, change: dict[str, Any]) -> None:
        if self._ready:
            self._render_augmented()

    @observe("augment", "dataset_name")
    @guarded
    def _on_augment_list_changed(self, change: dict[str, Any]) -> None:
        if self._ready:
            self.augmenting.describe(self.dataset_name, self.augment)

    # -- public -------------------------------------------------------------------
    def load(self) -> bool:
        """Read the chosen data set and draw its previews; False (and a message) on error."""
        clear_error(self.error)
        self.status.value = f"Loading <b>{self.dataset_name}</b>…"
        folder = None
        try:
            folder = self.sources.folder(self.dataset_name, self.path)
            if folder is None:
                dataset = load_dataset(self.dataset_name)
            else:
                dataset = load_dataset(FOLDER, path=folder[0])
        except DataError as error:
            return self._fail(self.sources.message(str(error), folder))
        except Exception as error:  # noqa: BLE001 - the panel shows it instead of a traceback
            text = f"could not load {self.dataset_name!r}: {error}"
            return self._fail(self.sources.message(text, folder))
        with self.hold_sync():
            self.dataset = dataset
            self.num_classes = len(dataset.class_names)
            self._fit_slider(dataset)
            self._render_status(dataset)
            self._render_preview(dataset)
            self._render_splits()
            self._render_augmented()
        return True

    def spec(self) -> DataSpec:
        """The data part of a run configuration, from the current controls.

        Raises DataError when the typed folder is not allowed or nothing is uploaded.
        """
        folder = self.sources.folder(self.dataset_name, self.path)
        return DataSpec(
            name=self.dataset_name if folder is None else FOLDER,
            path=None if folder is None else str(folder[0]),
            n_per_class=self.n_per_class,
            val_fraction=self.val_fraction,
            test_fraction=self.test_fraction,
            seed=self.seed,
            image_size=self.image_size or None,
            augment=self.augment,
        )

    def split_counts(self) -> dict[str, np.ndarray] | None:
        """Images per class in each split for the current settings (None if none loaded)."""
        if self.dataset is None:
            return None
        return split_counts(
            self.dataset, self.val_fraction, self.test_fraction, self.n_per_class, self.seed
        )

    # -- drawing ------------------------------------------------------------------
    def _fail(self, message: str) -> bool:
        show_error(self.error, message)
        self._forget_dataset("No data set loaded.", keep_error=True)
        return False

    def _forget_dataset(self, status: str, keep_error: bool = False) -> None:
        with self.hold_sync():
            self.dataset = None
            self.num_classes = 0
            if not keep_error:
                clear_error(self.error)
            self.status.value = status
            self.split_sizes.value = ""
            self.preview.layout.display = "none"
            self.augmenting.hide()
            draw_split_chart(self.class_chart, [], None)

    def _fit_slider(self, dataset: Any) -> None:
        try:
            most = most_train_images(dataset, self.val_fraction, self.test_fraction, self.seed)
        except DataError:
            return  # _render_splits shows the message
        self.n_slider.max = most

    def _render_status(self, dataset: Any) -> None:
        self.status.value = status_html(self.dataset_name, dataset)

    def _render_preview(self, dataset: Any) -> None:
        show_png(self.preview, preview_png(dataset, self.seed))

    def _render_splits(self) -> None:
        try:
            counts = self.split_counts()
        except DataError as error:
            show_error(self.error, str(error))
            return
        if counts is None or self.dataset is None:
            return
        clear_error(self.error)
        self.split_sizes.value = splits_html(counts)
        draw_split_chart(self.class_chart, list(self.dataset.class_names), counts)

    def _render_augmented(self) -> None:
        if self.dataset is None or not self.augment:
            self.augmenting.hide()
            return
        try:
            self.augmenting.show(
                self.dataset, self.dataset_name, self.model_key, self.image_size, self.seed
            )
        except DataError as error:
            show_error(self.error, str(error))
