"""Step 6: overlay the validation curves of several runs and list their results.

A listed run with a saved best checkpoint (an interrupted one too) can become step 7's
model: the click loads it on the kernel's main thread, the pump then says so.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ipywidgets as widgets
import plotly.graph_objects as go

from lab.core.runs.run_folder import describe_damage, scan_runs
from lab.core.runs.saved_model import SavedModel, open_best_checkpoint
from lab.core.training.history import RunHistory
from lab.plots import RESULT_COLUMNS, compare_figure, results_table
from lab.ui.errors import guard
from lab.ui.figures import figure_widget, plotly_loader
from lab.ui.help_texts import help_text
from lab.ui.pump import Handler, Sends
from lab.ui.widgets_common import clear_error, error_box, help_line, html_table, with_classes

#: Loads a run folder's best checkpoint and makes it the model step 7 uses.
UseCheckpoint = Callable[[Path], SavedModel]


@dataclass(frozen=True)
class CompareChanged:
    """The selection changed: redraw the overlay and the table."""


@dataclass(frozen=True)
class SavedRunsLoaded:
    """Histories read from the runs directory, to add to the list."""

    histories: tuple[RunHistory, ...]
    damaged: tuple[str, ...] = ()  # "folder: what is wrong" for each damaged run
    folders: tuple[str, ...] = ()  # the run folder of each history
    cleaned: int = 0  # temporary files that killed writers had left, removed


@dataclass(frozen=True)
class CheckpointChosen:
    """A run's best checkpoint became step 7's model."""

    name: str
    text: str  # what is used now, in words (plain text)


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


def _checkpoint_label(name: str, history: RunHistory) -> str:
    best = history.checkpoints[-1]
    return f"{name} · {history.state} · epoch {best.epoch} · {best.val_acc:.1%}"


def _interrupted(history: RunHistory) -> str:
    reached = f"reached epoch {history.evaluations[-1].epoch}" if history.evaluations else ""
    best = history.checkpoints[-1].path if history.checkpoints else None
    offer = f"best checkpoint {best}" if best else "no checkpoint"
    return f"{history.name}: {', '.join(p for p in (reached, offer) if p)}"


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
        self.folders: dict[str, str] = {}  # run name -> its folder, where it has one
        #: The app makes the loaded checkpoint step 7's model; alone, it is only loaded.
        self.use_checkpoint: UseCheckpoint = lambda path: open_best_checkpoint(path)
        self._drawing = False  # set while the pump changes the list: not a user request
        self.select = with_classes(
            widgets.SelectMultiple(options=[], rows=5, description="runs"), "tl-compare-select"
        )
        self.select.observe(guard(self, self._on_selection_changed), "value")
        self.load_button = with_classes(
            widgets.Button(description="Load saved runs", icon="folder-open"), "tl-compare-load"
        )
        self.load_button.on_click(guard(self, self._on_load_clicked))
        self.info = with_classes(widgets.HTML(""), "tl-compare-info")
        self.checkpoint_choice = with_classes(
            widgets.Dropdown(options=[], description="checkpoint", tooltip=help_text("checkpoint")),
            "tl-compare-checkpoint",
        )
        self.use_button = with_classes(
            widgets.Button(
                description="Use best checkpoint", icon="check", tooltip=help_text("checkpoint")
            ),
            "tl-compare-use-best",
        )
        self.use_button.on_click(guard(self, self._on_use_clicked))
        self.checkpoint_info = with_classes(widgets.HTML(""), "tl-compare-checkpoint-info")
        self.error = error_box()
        # Made on first use: every live plotly figure costs the page a copy of plotly.js.
        self.figure: go.FigureWidget | None = None
        self.plot_box = widgets.VBox([], layout=widgets.Layout(width="100%"))
        self.table = with_classes(widgets.HTML(self._table([])), "tl-compare-table")
        self.children = [
            plotly_loader(),
            with_classes(widgets.HTML("<h3>6 · Compare runs</h3>"), "tl-panel-title"),
            help_line("compare"),
            widgets.HBox([self.select, self.load_button]),
            self.info,
            self.error,
            self.plot_box,
            self.table,
            help_line("checkpoint"),
            widgets.HBox([self.checkpoint_choice, self.use_button]),
            self.checkpoint_info,
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
        readable, damaged = scan_runs(self.runs_dir)
        every = {folder.path: folder for folder in (*readable, *damaged)}.values()
        self.post(
            SavedRunsLoaded(
                tuple(folder.history for folder in readable),
                tuple(describe_damage(f) for f in damaged),
                tuple(str(folder.path) for folder in readable),
                sum(len(folder.cleaned) for folder in every),
            )
        )

    def _on_use_clicked(self, _button: widgets.Button) -> None:
        clear_error(self.error)
        name = self.checkpoint_choice.value
        if name is None or name not in self.folders:
            raise ValueError(
                "no listed run has a saved best checkpoint: finish an epoch of a run that "
                "saves to a runs directory, or press Load saved runs"
            )
        model = self.use_checkpoint(Path(self.folders[name]))
        where = f"epoch {model.epoch}" if model.epoch is not None else "its best epoch"
        text = f"Step 7 now uses the best checkpoint of {name} ({model.state}, {where})."
        self.post(CheckpointChosen(name, text))

    # -- written by the pump ------------------------------------------------------
    def requests(self) -> dict[type, Handler]:
        """The requests this panel draws (the pump routes them here)."""
        return {
            CompareChanged: lambda _item, sends: self._redraw(sends),
            SavedRunsLoaded: self.show_saved,
        }

    def show_saved(self, item: SavedRunsLoaded, sends: Sends) -> None:
        """List the saved runs read from the runs directory and say what was found."""
        sends.set(self.info, value=self._load_saved(item))
        self._set_list(sends, options=list(self.runs), value=self.select.value)
        self._redraw(sends)

    def show_checkpoint(self, item: CheckpointChosen, sends: Sends) -> None:
        """Say which run's best checkpoint step 7 uses now."""
        sends.set(self.checkpoint_info, value=html.escape(item.text))

    def _load_saved(self, item: SavedRunsLoaded) -> str:
        """Add the saved runs not listed yet; returns what happened, in words."""
        known = {_run_id(h) for h in self.runs.values()} - {None}
        new = [h for h in item.histories if _run_id(h) not in known and h.name not in self.runs]
        comparable = [h for h in new if h.state != "failed"]
        folders = dict(zip((id(h) for h in item.histories), item.folders, strict=False))
        for history in comparable:
            history.drop_item_data()  # never drawn by the live results: compared only
            self.runs[history.name] = history
            if id(history) in folders:
                self.folders[history.name] = folders[id(history)]
        where = html.escape(self.runs_dir or "no runs directory")
        text = f"{len(item.histories)} saved run(s) found in {where}"
        listed = len(item.histories) - len(new)
        text += f", {listed} already listed" if listed else ""
        failed = len(new) - len(comparable)
        text += f", {failed} failed (not compared)" if failed else ""
        text += "."
        if item.cleaned:
            text += f" Removed {item.cleaned} temporary file(s) left by interrupted writes."
        cut_short = [h for h in comparable if h.state == "interrupted"]
        if cut_short:
            names = "".join(f"<li>{html.escape(_interrupted(h))}</li>" for h in cut_short)
            text += f"<br>Interrupted (the process ended mid-run):<ul>{names}</ul>"
        if item.damaged:
            names = "".join(f"<li>{html.escape(d)}</li>" for d in item.damaged)
            text += f"<br>Could not read all of these damaged run folders:<ul>{names}</ul>"
        return text

    def add_run(self, history: RunHistory, sends: Sends) -> None:
        """A run of this session ended: list it and select it (a failed run is not compared)."""
        if history.state == "failed":
            text = f"{html.escape(history.name)} failed: it is not listed for comparison."
            sends.set(self.info, value=text)
            return
        self.runs[history.name] = history
        if history.started is not None and history.started.run_dir:
            self.folders[history.name] = history.started.run_dir
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
        self._set_checkpoints(sends)

    def _set_checkpoints(self, sends: Sends) -> None:
        """Offer each listed run whose folder holds a best checkpoint."""
        choices = [
            (_checkpoint_label(name, h), name)
            for name, h in self.runs.items()
            if name in self.folders and h.checkpoints
        ]
        names = [name for _, name in choices]
        chosen = self.checkpoint_choice.value
        value = chosen if chosen in names else (names[0] if names else None)
        choice = self.checkpoint_choice
        if tuple(choice.options) != tuple(choices) or choice.value != value:
            with sends.hold(choice):  # new options reset the value: set it after them
                choice.options = tuple(choices)
                choice.value = value

    def selected(self) -> list[RunHistory]:
        """The histories currently selected, in list order."""
        return [self.runs[name] for name in self.select.value if name in self.runs]

    def _redraw(self, sends: Sends) -> None:
        runs = self.selected()
        # The table first: it is one message, the figure takes longer to send.
        sends.set(self.table, value=self._table(runs))
        if self.figure is not None:
            sends.replace_traces(self.figure, compare_figure(runs).data)
            with sends.figure(self.figure):
                self.figure.layout.autosize = True  # re-measure the box, now shown

    @staticmethod
    def _table(runs: Sequence[RunHistory]) -> str:
        rows = [[_cell(c, row[c]) for c in RESULT_COLUMNS] for row in results_table(runs)]
        if not rows:
            return "<i>Finish or stop a run (or load saved runs) to compare it here.</i>"
        return html_table(RESULT_COLUMNS, rows)
