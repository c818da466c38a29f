"""ModelPanel: traits, filters, sorting, the table and the click-to-choose scatter."""

from __future__ import annotations

import math

import pytest
from plotly.callbacks import Points
from traitlets import TraitError

from lab.core.models import catalog
from lab.ui.model_panel import ModelPanel


def _size_ok(entry: catalog.ModelEntry, limit: float) -> bool:
    return entry.file_size_mb is None or entry.file_size_mb <= limit * (1 + 1e-6)


@pytest.fixture(scope="module")
def entries() -> dict[str, catalog.ModelEntry]:
    return {e.key: e for e in catalog.list_models()}


def test_defaults_and_controls_agree() -> None:
    panel = ModelPanel()
    assert panel.model_key == catalog.DEFAULT_MODEL
    assert panel.pretrained is True
    assert panel.select.value == catalog.DEFAULT_MODEL
    assert "tl-model-panel" in panel._dom_classes
    assert catalog.DEFAULT_MODEL in panel.info.value
    # The app's accordion names the panel; on its own it can carry a heading.
    titled = [c for c in ModelPanel(title=True).children if "tl-panel-title" in c._dom_classes]
    assert len(titled) == 1 and not any("tl-panel-title" in c._dom_classes for c in panel.children)


def test_unknown_model_is_refused_by_name() -> None:
    panel = ModelPanel()
    with pytest.raises(TraitError, match="model_key='mobilenet_v9'"):
        panel.model_key = "mobilenet_v9"
    assert panel.model_key == catalog.DEFAULT_MODEL


def test_random_init_toggle_is_the_inverse_of_pretrained() -> None:
    panel = ModelPanel()
    panel.random_init.value = True
    assert panel.pretrained is False
    assert "random init" in panel.info.value
    panel.pretrained = True
    assert panel.random_init.value is False


def test_offline_filter(entries: dict[str, catalog.ModelEntry]) -> None:
    panel = ModelPanel()
    shown = panel.visible_keys()
    assert shown and catalog.DEFAULT_MODEL in shown
    assert all(panel.availability(key) != "download" for key in shown)
    panel.offline_check.value = False
    everything = {k for k, e in entries.items() if _size_ok(e, panel.max_size_mb)}
    assert set(panel.visible_keys()) == everything
    assert len(panel.scatter.data[0].x) == sum(
        1 for k in everything if entries[k].acc1 is not None and entries[k].params
    )


def test_max_size_filter(entries: dict[str, catalog.ModelEntry]) -> None:
    panel = ModelPanel(offline_only=False)
    sizes = sorted(e.file_size_mb for e in entries.values() if e.file_size_mb)
    limit = sizes[len(sizes) // 2]
    panel.size_slider.value = limit
    shown = panel.visible_keys()
    assert shown and len(shown) < len(entries)
    assert all(_size_ok(entries[k], panel.max_size_mb) for k in shown)


def test_sorting(entries: dict[str, catalog.ModelEntry]) -> None:
    panel = ModelPanel(offline_only=False)
    acc = [entries[k].acc1 for k in panel.visible_keys() if entries[k].acc1 is not None]
    assert acc == sorted(acc, reverse=True)
    panel.sort_dropdown.value = "parameters"
    params = [entries[k].params for k in panel.visible_keys()]
    assert params == sorted(params)
    first_row = panel.table.value.split("<tbody>")[1].split("</tr>")[0]
    assert panel.visible_keys()[0] in first_row


def test_choosing_in_the_dropdown_highlights_table_and_scatter(
    entries: dict[str, catalog.ModelEntry],
) -> None:
    panel = ModelPanel(offline_only=False)
    other = next(k for k in panel.visible_keys() if k != panel.model_key)
    panel.select.value = other
    assert panel.model_key == other
    highlighted = panel.table.value.split("background:#e3f2fd")[1].split("</tr>")[0]
    assert other in highlighted
    chosen = panel.scatter.data[1]
    assert list(chosen.y) == [entries[other].acc1]
    assert math.isclose(chosen.x[0], entries[other].params / 1e6)


def test_clicking_a_scatter_point_selects_its_model() -> None:
    panel = ModelPanel(offline_only=False)
    models = panel.scatter.data[0]
    index = next(i for i, k in enumerate(models.customdata) if k != panel.model_key)
    points = Points(
        point_inds=[index],
        xs=[models.x[index]],
        ys=[models.y[index]],
        trace_name="models",
        trace_index=0,
    )
    panel._on_point_clicked(models, points, None)
    assert panel.model_key == models.customdata[index]
    assert panel.select.value == panel.model_key
    assert list(panel.scatter.data[1].x) == [models.x[index]]
    # A view opened later draws from the synced state, which must hold the same figure.
    assert panel.scatter._widget_data[1]["x"] == [models.x[index]]


def test_x_axis_toggle_switches_to_gflops(entries: dict[str, catalog.ModelEntry]) -> None:
    panel = ModelPanel()
    panel.axis_toggle.value = "GFLOPs"
    models = panel.scatter.data[0]
    assert list(models.x) == [entries[k].gflops for k in models.customdata]
    assert panel.scatter.layout.xaxis.title.text == "GFLOPs"


def test_from_scratch_says_no_weights_are_loaded() -> None:
    panel = ModelPanel()
    assert "pretrained weights" in panel.info.value
    panel.from_scratch = True  # the app links it to the approach
    assert "pretrained weights" not in panel.info.value
    assert "from scratch" in panel.info.value and "no weights loaded" in panel.info.value


def test_the_model_line_says_its_count_has_the_imagenet_head() -> None:
    assert "1000-class ImageNet head" in ModelPanel().info.value


def test_the_dropdown_is_wide_enough_for_the_longest_name() -> None:
    panel = ModelPanel()
    longest = max(len(label) for label, _ in panel.select.options)
    assert panel.select.layout.width == f"calc({longest}ch + 10em)"
