"""Step 1, "rank on my data": the transferability probe on the data set chosen in step 2.

A button scores the chosen backbones (by default every one usable offline, plus a
random-init twin of the first) on a small sample of the current data, on a worker
thread with progress and Stop. The ranking shows as a table (click a model's row to
choose it for the run) and as the probe's bar chart, with the verdict in words.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

import ipywidgets as widgets

from lab.core.analysis.probe import Candidate, ProbeReport, ProbeResult, probe
from lab.core.analysis.probe_scores import SCORE_NAMES, SCORES
from lab.core.data import ImageDataset
from lab.core.models import catalog
from lab.ui.errors import guard
from lab.ui.figures import figure_widget
from lab.ui.jobs import BackgroundJob
from lab.ui.probe_view import (
    BLANK_LAYOUT,
    TABLE_NOTE,
    chosen_candidates,
    draw_ranking,
    group_numbers,
    progress_line,
    score_dropdown,
    score_text,
    verdict_html,
)
from lab.ui.pump import Sends
from lab.ui.widgets_common import (
    clear_error,
    error_box,
    help_line,
    note_html,
    show_error,
    with_classes,
)

#: Column widths (px) of #, group and the three scores: every row is its own table.
_WIDTHS = (30, 50, 150, 150, 180)


def _td(text: str, width: int, bold: bool = False) -> str:
    weight = "font-weight:bold;" if bold else ""
    style = f"{weight}width:{width}px;padding:0 4px;text-align:right;white-space:nowrap"
    return f'<td style="{style}">{text}</td>'


#: Which data the probe scores: a loaded data set, or a data set name.
DataSource = Callable[[], ImageDataset | str]
#: What a click on a row does: choose (catalog key, pretrained) for the run.
Choose = Callable[[str, bool], None]


def _failed(message: str) -> tuple[str, str]:
    return ("failed", message)


class RankPanel(widgets.VBox):
    """Rank backbones on ``data`` (a data set name, or a function giving the data).

    ``on_choose`` receives a clicked row's model (catalog key, pretrained); without it
    the rows are shown, not chosen. ``models`` are the candidates offered (every model
    usable offline by default).
    """

    def __init__(
        self,
        data: DataSource | str,
        on_choose: Choose | None = None,
        models: list[str] | None = None,
        threaded: bool = True,
    ) -> None:
        self._data: DataSource = data if callable(data) else (lambda: data)
        self._on_choose = on_choose
        self._build_settings(models or catalog.offline_keys())
        self.run_button = with_classes(
            widgets.Button(description="Rank on my data", button_style="primary",
                           icon="sort-amount-desc"),
            "tl-probe-run",
        )  # fmt: skip
        self.stop_button = with_classes(
            widgets.Button(description="Stop", icon="stop"), "tl-probe-stop"
        )
        self.progress = with_classes(
            widgets.IntProgress(0, min=0, max=1, description="models"), "tl-probe-progress"
        )
        self.status = with_classes(widgets.HTML(""), "tl-probe-status")
        self.table = with_classes(widgets.VBox([]), "tl-probe-table")
        self.figure = figure_widget(layout=BLANK_LAYOUT)
        self.error = error_box()
        self.last_report: ProbeReport | None = None
        self.last_error: str | None = None  # why the last ranking failed, if it did
        self.job = BackgroundJob(
            self._apply, self.run_button, lambda e: show_error(self.error, str(e)),
            self.stop_button, threaded=threaded, name="transfer-lab-probe",
        )  # fmt: skip
        self.run_button.on_click(guard(self, lambda _b: self.rank()))
        self.stop_button.on_click(guard(self, lambda _b: self.job.stop()))
        super().__init__(self._children())
        with_classes(self, "tl-rank-panel")

    def _build_settings(self, models: list[str]) -> None:
        self.candidates = with_classes(
            widgets.SelectMultiple(
                options=models, value=tuple(models), rows=min(len(models), 5),
                description="models",
            ),
            "tl-probe-models",
        )  # fmt: skip
        self.random_twin = widgets.Checkbox(
            True, description="add a random-init twin of the first", indent=False,
            layout=widgets.Layout(width="auto"),
        )  # fmt: skip
        self.n_per_class = with_classes(
            widgets.IntSlider(20, min=5, max=50, step=5, description="per class"), "tl-probe-n"
        )
        # 64 px: the size the probe was validated at (benchmarks/probe_check.py).
        self.image_size = widgets.Dropdown(
            options=[("64 px", 64), ("96 px", 96), ("model's own", 0)], value=64,
            description="image size",
        )  # fmt: skip
        self.score = score_dropdown()

    def _children(self) -> list[widgets.Widget]:
        settings = widgets.VBox([self.random_twin, self.n_per_class, self.image_size, self.score])
        return [
            widgets.HTML("<b>Rank on my data</b>"),
            help_line("rank"),
            widgets.HBox([self.candidates, settings]),
            widgets.HBox([self.run_button, self.stop_button, self.progress]),
            self.status,
            self.table,
            self.figure,
            self.error,
        ]

    # -- the job ----------------------------------------------------------------------
    def chosen_candidates(self) -> list[Candidate]:
        """The chosen models, plus the first one's random-init twin when ticked."""
        return chosen_candidates(self.candidates.value, self.random_twin.value)

    def rank(self) -> None:
        """Start the probe (refused in words while one runs)."""
        clear_error(self.error)
        candidates = self.chosen_candidates()
        if not candidates:
            show_error(self.error, "models: select at least one model to rank")
            return
        if self.job.running:
            show_error(self.error, "the ranking is still running: wait for it, or press Stop")
            return
        self.last_report, self.last_error = None, None
        self.job.launch(lambda: self._work(candidates))

    def wait(self, timeout: float | None = None) -> ProbeReport:
        """Wait for the ranking under way and return its report (notebooks, scripts).

        RuntimeError with the panel's message if it failed; TimeoutError if it is still
        running after ``timeout`` seconds.
        """
        self.job.finish(timeout, "the ranking is still running")
        if self.last_report is None:
            why = self.last_error or "press Rank on my data first"
            raise RuntimeError(f"no ranking was made: {why}")
        return self.last_report

    def _work(self, candidates: list[Candidate]) -> None:
        self.job.post(("started", len(candidates)))
        try:
            report = probe(
                candidates,
                data=self._data(),
                n_per_class=self.n_per_class.value,
                image_size=self.image_size.value or None,
                score=self.score.value,
                on_result=self.job.post,
                should_stop=self.job.should_stop,
            )
        except Exception as error:  # noqa: BLE001 - shown in the panel, never only in a log
            self.job.post(_failed(f"{type(error).__name__}: {error}"))
            return
        self.job.post(report)

    # -- the pump's view ----------------------------------------------------------------
    def _apply(self, items: list[Any]) -> int:
        sends = Sends()
        for item in items:
            if isinstance(item, ProbeResult):
                self._progress(item, sends)
            elif isinstance(item, ProbeReport):
                self._done(item, sends)
            elif item[0] == "started":
                sends.set(self.progress, value=0, max=item[1])
                sends.set(self.status, value="Scoring the models on your data…<br>")
            elif item[0] == "failed":
                self.last_error = f"ranking: {item[1]}"
                show_error(self.error, self.last_error, sends)
        return sends.count

    def _progress(self, result: ProbeResult, sends: Sends) -> None:
        sends.set(self.progress, value=self.progress.value + 1)
        sends.set(self.status, value=self.status.value + progress_line(result, self.score.value))

    def _done(self, report: ProbeReport, sends: Sends) -> None:
        self.last_report = report
        stopped = "<b>Stopped</b>: only the models scored before Stop are ranked.<br>"
        sends.set(self.status, value=(stopped if report.stopped else "") + verdict_html(report))
        with sends.hold(self.table):
            self.table.children = self._rows(report)
        if report.ranking:
            draw_ranking(self.figure, report, sends)

    def _rows(self, report: ProbeReport) -> list[widgets.Widget]:
        """A header, then one row per candidate: its model button chooses it."""
        group_of = group_numbers(report)
        names = ["#", "group", *(SCORE_NAMES[s] for s in SCORES)]
        head = "".join(
            _td(f"<b>{html.escape(n)}</b>", w) for n, w in zip(names, _WIDTHS, strict=True)
        )
        rows: list[widgets.Widget] = [self._row("model", f"<tr>{head}</tr>", None)]
        for i, r in enumerate(report.results, start=1):
            if r.scores is None:
                cells = f"<td>{html.escape(f'{r.status}: {r.message}')}</td>"
            else:
                texts = [str(i), str(group_of[r.label]), *(score_text(r, s) for s in SCORES)]
                bold = [False, False, *(s == report.score for s in SCORES)]
                cells = "".join(map(_td, texts, _WIDTHS, bold))
            rows.append(self._row(r.label, f"<tr>{cells}</tr>", r if r.scores else None))
        note = TABLE_NOTE.format(level=report.level)
        if self._on_choose is not None:
            note += " Click a model to choose it."
        rows.append(widgets.HTML(note_html(note, 85)))
        return rows

    def _row(self, label: str, cells: str, result: ProbeResult | None) -> widgets.HBox:
        choose = self._on_choose if result is not None else None
        name = widgets.Button(
            description=label, tooltip=f"choose {label}" if choose else label,
            disabled=choose is None, layout=widgets.Layout(width="340px"),
        )  # fmt: skip
        if choose is not None and result is not None:
            name.on_click(guard(self, lambda _b: choose(result.key, result.pretrained)))
            with_classes(name, "tl-probe-choose")
        table = widgets.HTML(f'<table style="border-collapse:collapse">{cells}</table>')
        return with_classes(widgets.HBox([name, table]), "tl-probe-row")

    def close(self) -> None:
        """Stop a running ranking and close the widgets."""
        self.job.close()
        super().close()
