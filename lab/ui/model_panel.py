"""Step 1 of the lab: choose a pretrained model from the catalog.

A sortable table, an accuracy-versus-cost scatter (click a point to choose it) and
filters. Construction only reads catalog metadata; no model is built here.
"""

from __future__ import annotations

import math
from typing import Any

import ipywidgets as widgets
import plotly.graph_objects as go
from traitlets import Bool, Dict, Float, TraitError, observe, validate

from lab.core.models import catalog
from lab.core.serving.settings import LabSettings, current
from lab.plots.pareto import pareto_front
from lab.ui.errors import guard, guarded
from lab.ui.figures import figure_widget, plotly_loader, sync_figure
from lab.ui.help_texts import help_text
from lab.ui.model_table import (
    AVAILABILITY_COLOURS,
    SORT_COLUMNS,
    X_AXES,
    info_html,
    scatter_point,
    scatter_title,
    table_html,
    visible_entries,
)
from lab.ui.model_table import number as _number
from lab.ui.traits import Choice, ModelKey
from lab.ui.widgets_common import (
    error_box,
    help_line,
    panel_title,
    with_classes,
)


class ModelPanel(widgets.VBox):
    """Choose the model: ``model_key`` and ``pretrained`` are what the rest of the lab reads."""

    model_key = ModelKey(catalog.DEFAULT_MODEL, help="Catalog key of the chosen model.")
    pretrained = Bool(True, help="Start from pretrained weights (False: random init).")
    from_scratch = Bool(False, help="The approach trains from scratch: no weights are loaded.")
    offline_only = Bool(True, help="List only models usable without a network.")
    max_size_mb = Float(1e6, help="List only models whose weights file is at most this big.")
    sort_by = Choice(list(SORT_COLUMNS), "ImageNet acc@1", help="Table sort column.")
    x_axis = Choice(list(X_AXES), "parameters (M)", help="Scatter x axis.")
    latencies = Dict(
        help="Measured on this machine: key -> {'batch1_ms', 'batch32_ms'} per image "
        "(written by the latency measurement, not by the user)."
    )

    def __init__(
        self, title: bool = False, settings: LabSettings | None = None, **kwargs: Any
    ) -> None:
        """``title=True`` adds a heading (for use outside the app); ``kwargs`` set traits.

        When ``settings`` (default: :func:`lab.core.serving.settings.current`) forbid weight
        downloads, only models usable offline are listed and the filter is locked on.
        """
        self._ready = False
        self.settings = settings or current()
        super().__init__(**kwargs)
        self._entries = list(catalog.list_models())
        self._availability: dict[str, str] = {}
        self._visible: list[Any] = []
        self._syncing = False
        self.error = error_box()
        self._build_controls()
        self._build_scatter()
        self.children = [
            plotly_loader(),
            *panel_title("1 · Model", title),
            help_line("model"),
            widgets.HBox([self.select, self.random_init]),
            self.info,
            self.error,
            widgets.HBox([self.offline_check, self.size_slider]),
            widgets.HBox([self.sort_dropdown, self.axis_toggle]),
            self.table,
            self.scatter,
        ]
        with_classes(self, "tl-panel", "tl-model-panel")
        self._ready = True
        self.refresh()

    # -- construction -------------------------------------------------------------
    def _build_controls(self) -> None:
        self._build_choice()
        self._build_filters()
        self.table = with_classes(widgets.HTML(), "tl-model-table")

    def _build_choice(self) -> None:
        """The model and its weights: the dropdown, "random init" and the info line."""
        self.select = with_classes(
            widgets.Dropdown(description="model", tooltip=help_text("model")), "tl-model-select"
        )
        self.select.observe(guard(self, self._on_select_changed), "value")
        self.random_init = with_classes(
            widgets.ToggleButton(description="random init", tooltip=help_text("random_init")),
            "tl-random-init",
        )
        widgets.link(
            (self, "pretrained"),
            (self.random_init, "value"),
            transform=(lambda v: not v, lambda v: not v),
        )
        self.info = with_classes(widgets.HTML(), "tl-model-info")

    def _build_filters(self) -> None:
        """Which models the table and scatter list, and how they are ordered."""
        sizes = [s for e in self._entries if (s := _number(e.file_size_mb)) is not None]
        low, high = (min(sizes), max(sizes)) if sizes else (1.0, 1000.0)
        if self.max_size_mb > high:
            self.max_size_mb = high
        self.offline_check = with_classes(
            widgets.Checkbox(description="usable offline only", tooltip=help_text("offline_only")),
            "tl-offline-only",
        )
        widgets.link((self, "offline_only"), (self.offline_check, "value"))
        if not self.settings.allow_downloads:
            self.offline_only = True
            self.offline_check.disabled = True
            self.offline_check.description = "usable offline only (set by the host)"
            self.offline_check.tooltip = help_text("downloads_locked")
        # Sizes span two orders of magnitude, so a log slider keeps small models reachable.
        self.size_slider = with_classes(
            widgets.FloatLogSlider(
                value=self.max_size_mb,
                base=10,
                min=math.log10(max(low, 0.1)),
                max=math.log10(high) + 1e-6,
                step=0.02,
                description="max MB",
                readout_format=".0f",
                tooltip=help_text("max_size"),
            ),
            "tl-max-size",
        )
        widgets.link((self, "max_size_mb"), (self.size_slider, "value"))
        self.sort_dropdown = with_classes(
            widgets.Dropdown(options=list(SORT_COLUMNS), description="sort by"), "tl-sort-by"
        )
        self.sort_dropdown.tooltip = help_text("sort_by")
        widgets.link((self, "sort_by"), (self.sort_dropdown, "value"))
        self.axis_toggle = with_classes(
            widgets.ToggleButtons(options=list(X_AXES), tooltip=help_text("x_axis")), "tl-x-axis"
        )
        self.axis_toggle.style.button_width = "auto"
        widgets.link((self, "x_axis"), (self.axis_toggle, "value"))

    def _build_scatter(self) -> None:
        models = go.Scatter(mode="markers", name="models", marker={"size": 9})
        chosen = go.Scatter(
            mode="markers",
            name="chosen",
            marker={"size": 18, "symbol": "star", "color": "#d81b60"},
            hoverinfo="skip",
        )
        front = go.Scatter(
            mode="lines",
            name="Pareto front",
            line={"shape": "hv", "color": "#d81b60", "dash": "dot"},
            hoverinfo="skip",
        )
        self.scatter = with_classes(figure_widget(data=[models, chosen, front]), "tl-model-scatter")
        self.scatter.update_layout(
            height=320,
            margin={"l": 50, "r": 10, "t": 30, "b": 40},
            showlegend=False,
            yaxis_title="ImageNet acc@1 (%)",
            xaxis_type="log",
            title={"text": scatter_title(), "font": {"size": 12}},
        )
        self.scatter.data[0].on_click(guard(self, self._on_point_clicked))

    # -- rules --------------------------------------------------------------------
    @validate("offline_only")
    def _validate_offline_only(self, proposal: dict[str, Any]) -> bool:
        # The host decides about downloads: a participant's page cannot switch them on.
        return bool(proposal["value"]) or not self.settings.allow_downloads

    @validate("max_size_mb")
    def _validate_max_size_mb(self, proposal: dict[str, Any]) -> float:
        value = float(proposal["value"])
        if value <= 0:
            raise TraitError(f"max_size_mb={value}: choose a positive number of megabytes")
        return value

    def choose(self, key: str, pretrained: bool = True) -> None:
        """Choose ``key`` (pretrained or random init) as if the user picked it here."""
        with self.hold_sync():
            self.model_key = key
            self.pretrained = pretrained

    # -- handlers -----------------------------------------------------------------
    @observe("model_key", "x_axis", "latencies")
    @guarded
    def _on_model_key_changed(self, change: dict[str, Any]) -> None:
        if self._ready:
            self._render()

    @observe("pretrained", "from_scratch")
    @guarded
    def _on_pretrained_changed(self, change: dict[str, Any]) -> None:
        if self._ready:
            self._render_info()

    @observe("offline_only", "max_size_mb", "sort_by")
    @guarded
    def _on_filters_changed(self, change: dict[str, Any]) -> None:
        if self._ready:
            self._apply_filters()
            self._render()

    def _on_select_changed(self, change: dict[str, Any]) -> None:
        # Replacing the dropdown's options makes it pick a value itself; only user choices
        # should reach model_key, hence the _syncing guard instead of widgets.link.
        if not self._syncing and change["new"] is not None:
            self.model_key = change["new"]

    def _on_point_clicked(self, trace: Any, points: Any, selector: Any) -> None:
        """Plotly click callback: choose the model under the clicked point."""
        indices = list(getattr(points, "point_inds", []) or [])
        keys = list(self.scatter.data[0].customdata or [])
        if indices and 0 <= indices[0] < len(keys):
            self.model_key = str(keys[indices[0]])

    # -- public -------------------------------------------------------------------
    @property
    def entry(self) -> Any:
        """The catalog entry of the chosen model."""
        return catalog.get_entry(self.model_key)

    def visible_keys(self) -> list[str]:
        """Keys of the models shown in the table and scatter, in table order."""
        return [e.key for e in self._visible]

    def availability(self, key: str) -> str:
        """Availability of model ``key`` as last checked ('offline', 'cached', 'download')."""
        if key not in self._availability:
            self._availability[key] = str(catalog.get_entry(key).availability)
        return self._availability[key]

    def refresh(self) -> None:
        """Re-check weight availability (e.g. after a download) and redraw everything."""
        self._availability = {e.key: str(e.availability) for e in self._entries}
        self._apply_filters()
        self._render()

    # -- drawing ------------------------------------------------------------------
    def _apply_filters(self) -> None:
        self._visible = visible_entries(
            self._entries, self.availability, self.offline_only, self.max_size_mb, self.sort_by
        )

    def _render(self) -> None:
        with self.hold_sync():
            self._render_select()
            self._render_table()
            self._render_info()
        self._render_scatter()

    def _label(self, entry: Any) -> str:
        return f"{entry.key}  ({self.availability(entry.key)})"

    def _render_select(self) -> None:
        shown = list(self._visible)
        if self.model_key not in {e.key for e in shown}:
            # The chosen model stays selectable even when the filters hide it.
            shown.insert(0, catalog.get_entry(self.model_key))
        self._syncing = True
        try:
            labels = [(self._label(e), e.key) for e in shown]
            # Wide enough for the longest name: a fixed-width dropdown cuts them off.
            longest = max((len(label) for label, _ in labels), default=20)
            self.select.layout.width = f"calc({longest}ch + 10em)"
            self.select.options = labels
            self.select.value = self.model_key
        finally:
            self._syncing = False

    def _render_table(self) -> None:
        self.table.value = table_html(
            self._visible, self.model_key, self.availability, self.latencies
        )

    def _render_info(self) -> None:
        e = catalog.get_entry(self.model_key)
        available = self.availability(e.key)
        self.info.value = info_html(e, available, self.pretrained, self.from_scratch)

    def _xy(self, entry: Any) -> tuple[float, float] | None:
        return scatter_point(entry, self.x_axis, self.latencies)

    def _render_scatter(self) -> None:
        points = [(e, xy) for e in self._visible if (xy := self._xy(e)) is not None]
        chosen = self._xy(catalog.get_entry(self.model_key))
        with self.scatter.batch_update():
            models = self.scatter.data[0]
            models.x = [xy[0] for _, xy in points]
            models.y = [xy[1] for _, xy in points]
            models.customdata = [e.key for e, _ in points]
            models.text = [e.key for e, _ in points]
            models.hovertemplate = "%{text}<br>x=%{x:.3g}<br>acc@1=%{y:.1f}%<extra></extra>"
            models.marker.color = [
                AVAILABILITY_COLOURS.get(self.availability(e.key), "#9e9e9e") for e, _ in points
            ]
            self.scatter.data[1].x = [chosen[0]] if chosen else []
            self.scatter.data[1].y = [chosen[1]] if chosen else []
            front = [points[i][1] for i in pareto_front([xy for _, xy in points])]
            self.scatter.data[2].x = [xy[0] for xy in front]
            self.scatter.data[2].y = [xy[1] for xy in front]
            self.scatter.layout.xaxis.title.text = self.x_axis
        sync_figure(self.scatter)
