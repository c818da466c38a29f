"""Step 6: overlay the validation curves of several runs and list their results."""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ipywidgets as widgets
import plotly.graph_objects as go

from lab.core.history import RunHistory
from lab.core.runs import list_runs, read_history
from lab.plots import RESULT_COLUMNS, compare_figure, results_table
from lab.ui.figures import figure_widget, plotly_loader
from lab.ui.pump import Sends
from lab.ui.run_help import run_help_line
from lab.ui.widgets_common import html_table, with_classes


@dataclass(frozen=True)
class CompareChanged:
    """The selection changed: redraw the overlay and the table."""


@dataclass(frozen=True)
class SavedRunsLoaded:
    """Histories read from the runs directory, to add to the list."""

    histories: tuple[RunHistory, ...]
    bad: tuple[str, ...] = ()  # folders that could not be read, by name


def _run_id(history: RunHistory) -> str | None:
    return history.started.run_id if history.started else None


def _cell(column: str, value: Any) -> str:
    if value is None:
        return "—"
    if "acc" in column:
        return f"{value:.1%}"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


class ComparePanel(widgets.VBox):
    """Runs of this session (and saved ones) side by side."""

    def __init__(
        self,
        post: Callable[[Any], None] | None = None,
        runs_dir: str | None = "runs",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.post: Callable[[Any], None] = post or (lambda item: None)
        self.runs_dir = runs_dir
        self.runs: dict[str, RunHistory] = {}
        self._drawing = False  # set while the pump changes the list: not a user request
        self.select = with_classes(
            widgets.SelectMultiple(options=[], rows=5, description="runs"), "tl-compare-select"
        )
        self.select.observe(self._on_selection_changed, "value")
        self.load_button = with_classes(
            widgets.Button(description="Load saved runs", icon="folder-open"), "tl-compare-load"
        )
        self.load_button.on_click(self._on_load_clicked)
        self.info = with_classes(widgets.HTML(""), "tl-compare-info")
        # Made on first use: every live plotly figure costs the page a copy of plotly.js.
        self.figure: go.FigureWidget | None = None
        self.plot_box = widgets.VBox([], layout=widgets.Layout(width="100%"))
        self.table = with_classes(widgets.HTML(self._table([])), "tl-compare-table")
        self.children = [
            plotly_loader(),
            with_classes(widgets.HTML("<h3>6 · Compare runs</h3>"), "tl-panel-title"),
            run_help_line("compare"),
            widgets.HBox([self.select, self.load_button]),
            self.info,
            self.plot_box,
            self.table,
        ]
        with_classes(self, "tl-panel", "tl-compare-panel")

    # -- user actions (main thread): post, never draw --------------------------------
    def _on_selection_changed(self, change: dict[str, Any]) -> None:
        if not self._drawing:
            self.post(CompareChanged())

    def ensure_figure(self) -> go.FigureWidget:
        """Create the overlay plot (main thread: when first shown or runs are loaded)."""
        if self.figure is None:
            figure = figure_widget(compare_figure(self.selected()))
            # Made after the page loaded, a figure is drawn before its box has a width
            # (plotly falls back to 700 px, half the panel): autosize fills the box.
            figure.layout.autosize, figure.layout.width = True, None
            self.figure = with_classes(figure, "tl-compare-plot")
            self.plot_box.children = [self.figure]
        return self.figure

    def _on_load_clicked(self, _button: widgets.Button) -> None:
        self.ensure_figure()
        if not self.runs_dir:
            self.post(SavedRunsLoaded(()))
            return
        histories, bad = [], []
        for path in list_runs(self.runs_dir):
            try:
                histories.append(read_history(Path(path) / "metrics.jsonl", name=path.name))
            except Exception:  # noqa: BLE001 - one damaged folder must not hide the rest
                bad.append(path.name)
        self.post(SavedRunsLoaded(tuple(histories), tuple(bad)))

    # -- written by the pump ------------------------------------------------------
    def handles(self, item: Any) -> bool:
        return isinstance(item, CompareChanged | SavedRunsLoaded)

    def handle(self, item: Any, sends: Sends) -> None:
        if isinstance(item, SavedRunsLoaded):
            sends.set(self.info, value=self._load_saved(item))
            self._set_list(sends, options=list(self.runs), value=self.select.value)
        self._redraw(sends)

    def _load_saved(self, item: SavedRunsLoaded) -> str:
        """Add the saved runs not listed yet; returns what happened, in words."""
        known = {_run_id(h) for h in self.runs.values()} - {None}
        new = [h for h in item.histories if _run_id(h) not in known and h.name not in self.runs]
        comparable = [h for h in new if h.state != "failed"]
        for history in comparable:
            self.runs[history.name] = history
        where = html.escape(self.runs_dir or "no runs directory")
        text = f"{len(item.histories)} saved run(s) found in {where}"
        listed = len(item.histories) - len(new)
        text += f", {listed} already listed" if listed else ""
        failed = len(new) - len(comparable)
        text += f", {failed} failed (not compared)" if failed else ""
        if item.bad:
            names = ", ".join(html.escape(name) for name in item.bad)
            text += f". Could not read {names}: a damaged run folder, left out"
        return text + "."

    def add_run(self, history: RunHistory, sends: Sends) -> None:
        """A run of this session ended: list it and select it (a failed run is not compared)."""
        if history.state == "failed":
            text = f"{html.escape(history.name)} failed: it is not listed for comparison."
            sends.set(self.info, value=text)
            return
        self.runs[history.name] = history
        selected = [*self.select.value, history.name]
        self._set_list(sends, options=list(self.runs), value=tuple(dict.fromkeys(selected)))
        self._redraw(sends)

    def _set_list(self, sends: Sends, options: list[str], value: tuple[str, ...]) -> None:
        # New options reset a selection: set them first, then the selection that stays.
        value = tuple(v for v in value if v in options)
        self._drawing = True
        try:
            with sends.hold(self.select):
                if list(self.select.options) != options:
                    self.select.options = options
                self.select.value = value
        finally:
            self._drawing = False

    def selected(self) -> list[RunHistory]:
        """The histories currently selected, in list order."""
        return [self.runs[name] for name in self.select.value if name in self.runs]

    def _redraw(self, sends: Sends) -> None:
        runs = self.selected()
        if self.figure is not None:
            sends.replace_traces(self.figure, compare_figure(runs).data)
            with sends.figure(self.figure):
                self.figure.layout.autosize = True  # re-measure the box, now shown
        sends.set(self.table, value=self._table(runs))

    @staticmethod
    def _table(runs: Sequence[RunHistory]) -> str:
        rows = [[_cell(c, row[c]) for c in RESULT_COLUMNS] for row in results_table(runs)]
        if not rows:
            return "<i>Finish or stop a run (or load saved runs) to compare it here.</i>"
        return html_table(RESULT_COLUMNS, rows)
