"""DataPanel: traits, split sizes, spec(), previews and in-panel errors (no browser)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from traitlets import TraitError

from lab.core.data import DataSpec
from lab.ui.data_panel import FOLDER, DataPanel


def _png_size(value: bytes | memoryview) -> tuple[int, int]:
    """Decode an Image widget's value: it must be a real PNG."""
    with Image.open(io.BytesIO(bytes(value))) as image:
        assert image.format == "PNG"
        return image.size


def _make_folder(root: Path, classes: dict[str, int]) -> Path:
    rng = np.random.default_rng(0)
    for name, count in classes.items():
        (root / name).mkdir(parents=True)
        for i in range(count):
            pixels = rng.integers(0, 255, (12, 12, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(root / name / f"{i}.png")
    return root


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return _make_folder(tmp_path / "shapes", {"circle": 10, "square": 10, "star": 10})


def _chart(panel: DataPanel) -> dict[str, list[int]]:
    return {bar.name: list(bar.y) for bar in panel.class_chart.data}


def test_controls_drive_traits_and_spec() -> None:
    panel = DataPanel()
    panel.n_slider.value = 7
    panel.val_slider.value = 0.3
    panel.augment_check.value = True
    panel.dataset_select.value = "mnist5k"
    assert (panel.n_per_class, panel.val_fraction, panel.augment) == (7, 0.3, True)
    spec = panel.spec()
    assert isinstance(spec, DataSpec)
    assert (spec.name, spec.path, spec.n_per_class) == ("mnist5k", None, 7)
    assert (spec.val_fraction, spec.test_fraction, spec.augment) == (0.3, 0.1, True)
    assert spec.image_size == 96  # small by default, so CPUs train in seconds
    panel.size_select.value = 0
    assert panel.image_size == 0 and panel.spec().image_size is None  # the weights' own
    assert panel.dataset is None  # nothing read until Load


def test_rules_reject_bad_values() -> None:
    panel = DataPanel()
    with pytest.raises(TraitError, match="n_per_class=0"):
        panel.n_per_class = 0
    with pytest.raises(TraitError, match="val_fraction=0.9"):
        panel.val_fraction = 0.9
    with pytest.raises(TraitError, match="dataset_name='nope'"):
        panel.dataset_name = "nope"


def test_dropdown_marks_downloads_and_offers_a_folder() -> None:
    labels = dict((name, label) for label, name in DataPanel().dataset_select.options)
    assert "needs download" not in labels["animal_shapes"]
    assert any("needs download" in label for label in labels.values())
    assert FOLDER in labels


def test_bad_folder_path_is_shown_in_the_panel(tmp_path: Path) -> None:
    panel = DataPanel(dataset_name=FOLDER, path=str(tmp_path / "missing"))
    assert panel.path_text.layout.display is None  # the path box shows for folders
    assert panel.load() is False
    assert "tl-error" in panel.error._dom_classes
    assert panel.error.layout.display != "none"
    assert "does not exist" in panel.error.value
    assert "Traceback" not in panel.error.value
    assert panel.dataset is None and panel.num_classes == 0


def test_a_class_of_only_truncated_images_is_named_when_loading(folder: Path) -> None:
    (folder / "blank").mkdir()
    buffer = io.BytesIO()
    Image.fromarray(np.full((64, 64, 3), 128, np.uint8)).save(buffer, "JPEG")
    for i in range(3):  # the header is whole, the pixels are cut off
        (folder / "blank" / f"{i}.jpg").write_bytes(buffer.getvalue()[: buffer.tell() // 2])
    panel = DataPanel(dataset_name=FOLDER, path=str(folder))
    panel.load_button.click()  # as a click does: nothing may escape the handler
    assert panel.error.layout.display != "none" and panel.dataset is None
    assert "blank" in panel.error.value and "readable" in panel.error.value


def test_empty_path_is_explained() -> None:
    panel = DataPanel(dataset_name=FOLDER)
    assert panel.load() is False
    assert "path=&#x27;&#x27;" in panel.error.value


def test_folder_loads_with_preview_chart_and_split_sizes(folder: Path) -> None:
    panel = DataPanel(
        dataset_name=FOLDER, path=str(folder), n_per_class=3, val_fraction=0.2, test_fraction=0.2
    )
    panel.load_button.click()
    assert panel.error.layout.display == "none"
    assert panel.num_classes == 3 and len(panel.dataset) == 30
    width, height = _png_size(panel.preview.value)
    assert height > 2 * width / 10  # three rows of thumbnails, six per row
    assert panel.preview.width == str(width)  # shown at its natural size
    assert panel.spec().path == str(folder)
    # 10 images per class: 2 test, 2 validation, 6 left for training, of which 3 are used.
    chart = _chart(panel)
    assert list(panel.class_chart.data[0].x) == ["circle", "square", "star"]
    assert chart == {"train": [3, 3, 3], "val": [2, 2, 2], "test": [2, 2, 2]}
    assert "train <b>9</b>" in panel.split_sizes.value
    assert panel.n_slider.max == 6  # the most training images a class has

    panel.n_slider.value = 5
    panel.val_slider.value = 0.1
    chart = _chart(panel)
    assert chart["train"] == [5, 5, 5] and chart["val"] == [1, 1, 1]
    assert panel.class_chart._widget_data[0]["y"] == [5, 5, 5]  # state for later views
    assert "train <b>15</b>" in panel.split_sizes.value


def test_changing_the_data_set_forgets_the_loaded_one(folder: Path) -> None:
    panel = DataPanel(dataset_name=FOLDER, path=str(folder))
    assert panel.load()
    panel.dataset_name = "digits"
    assert panel.dataset is None and panel.num_classes == 0
    assert all(len(bar.y) == 0 for bar in panel.class_chart.data)
    assert panel.path_text.layout.display == "none"


def test_augmentation_preview_follows_the_toggle(folder: Path) -> None:
    panel = DataPanel(dataset_name=FOLDER, path=str(folder))
    assert panel.load()
    assert panel.augment_preview.layout.display == "none"
    panel.augment_check.value = True
    assert panel.augment_preview.layout.display is None
    _png_size(panel.augment_preview.value)
    panel.augment = False
    assert panel.augment_preview.layout.display == "none"


def test_builtin_data_set_loads_offline() -> None:
    panel = DataPanel(dataset_name="digits", n_per_class=5)
    assert panel.load(), panel.error.value
    assert panel.num_classes == 10
    assert _chart(panel)["train"] == [5] * 10


def test_augmentations_are_chosen_per_data_set_and_shown() -> None:
    panel = DataPanel(dataset_name="animal_shapes", augment=True)
    assert "horizontal flip" in panel.augment_list.value
    panel.dataset_name = "mnist5k"
    assert "horizontal flip" not in panel.augment_list.value
    assert "no flips" in panel.augment_list.value and "random crop" in panel.augment_list.value
    panel.augment = False
    assert panel.augment_list.value.startswith('<span style="color:#555">off')


def test_digit_training_transforms_never_mirror() -> None:
    from torchvision.transforms import v2

    from lab.core.data import DataSpec, allows_flip, build_transform, prepare
    from lab.core.models import catalog

    preproc = catalog.preprocessing(catalog.DEFAULT_MODEL)
    assert not allows_flip("digits") and allows_flip("animal_shapes")
    steps = build_transform(preproc, 32, augment=True, flip=False).transforms
    assert not any(isinstance(s, v2.RandomHorizontalFlip) for s in steps)
    prepared = prepare(DataSpec(name="digits", n_per_class=2, augment=True), preproc)
    steps = prepared.train.transform.transforms
    assert not any(isinstance(s, v2.RandomHorizontalFlip) for s in steps)


def test_the_class_chart_legend_stays_clear_of_the_plot_toolbar() -> None:
    chart = DataPanel().class_chart
    # plotly's toolbar is drawn top right: the legend sits top left, the title is gone.
    assert (chart.layout.legend.x, chart.layout.legend.xanchor) == (0, "left")
    assert chart.layout.title.text is None
