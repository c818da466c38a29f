"""Workshop panel: rank backbones with the probe, then draw the data-efficiency curve.

Both jobs run on a worker thread (the buttons stay responsive and Stop works); the
worker only puts results on an :class:`EventPump`, whose ``apply`` is the one place
that writes the widgets they change. ``threaded=False`` runs them in the click handler
instead, for scripts and tests.
"""

from __future__ import annotations

import html
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import ipywidgets as widgets

from lab.core import catalog
from lab.core.efficiency import CurveSpec, EfficiencyResult
from lab.core.probe import DEFAULT_SCORE, Candidate, ProbeReport, ProbeResult, probe, random_twin
from lab.core.probe_scores import SCORE_NAMES, SCORES
from lab.plots.probe import probe_figure
from lab.ui.efficiency_tab import EfficiencyTab, parse_sizes
from lab.ui.errors import guard
from lab.ui.figures import figure_widget, plotly_loader
from lab.ui.probe_view import probe_table_html, verdict_html
from lab.ui.pump import EventPump, Sends
from lab.ui.widgets_common import (
    clear_error,
    error_box,
    help_line,
    panel_title,
    show_error,
    with_classes,
)


def _wide() -> widgets.Layout:
    return widgets.Layout(width="auto")  # checkbox labels are cut at the default width


_BLANK = {
    "height": 30,
    "margin": {"t": 0, "b": 0},
    "xaxis": {"visible": False},
    "yaxis": {"visible": False},
    "template": "plotly_white",
}
_SIZES = [("model's own", 0), ("64 px", 64), ("96 px", 96), ("128 px", 128)]


@dataclass(frozen=True)
class _Failed:
    job: str
    message: str


__all__ = ["WorkshopPanel", "parse_sizes"]


class WorkshopPanel(widgets.VBox):
    """The transferability probe and the data-efficiency curve, each behind one button."""

    def __init__(
        self, data: str = "animal_shapes", title: bool = False, threaded: bool = True
    ) -> None:
        self.data = data
        self.threaded = threaded
        offline = [e.key for e in catalog.list_models() if e.availability != "download"]
        self.candidates = widgets.SelectMultiple(
            options=offline, value=tuple(offline[:2]), rows=4, description="models"
        )
        self.random_twin = widgets.Checkbox(
            True, description="add a random-init twin of the first", indent=False, layout=_wide()
        )
        self.probe_n = widgets.IntSlider(20, min=5, max=50, step=5, description="per class")
        # 64 px: the size the probe was validated at (benchmarks/probe_check.py), a few
        # percent of the time real runs at 112 px take.
        self.probe_size = widgets.Dropdown(options=_SIZES, value=64, description="image size")
        self.probe_score = with_classes(
            widgets.Dropdown(
                options=[(SCORE_NAMES[s], s) for s in SCORES],
                value=DEFAULT_SCORE,
                description="rank by",
            ),
            "tl-probe-score",
        )
        self.probe_button = with_classes(
            widgets.Button(
                description="Rank models", button_style="primary", icon="sort-amount-desc"
            ),
            "tl-probe-run",
        )
        self.probe_status = with_classes(
            widgets.HTML("Press <b>Rank models</b> to score the chosen models."), "tl-probe-status"
        )
        # A thin blank strip until the first ranking. (Hiding it instead would leave plotly
        # at its 700 px default width when shown: it measures its box only on creation.)
        self.probe_fig = figure_widget(layout=_BLANK)
        self.curve = EfficiencyTab(lambda: self.data, threaded=threaded, models=offline)
        self.curve_model, self.curve_sizes = self.curve.model, self.curve.sizes
        self.curve_seeds, self.curve_arms = self.curve.seeds, self.curve.arms
        self.curve_button, self.curve_stop = self.curve.run_button, self.curve.stop_button
        self.curve_progress, self.curve_status = self.curve.progress, self.curve.status
        self.curve_fig = self.curve.figure
        self.error = error_box()
        self.last_probe: ProbeReport | None = None
        self._worker: threading.Thread | None = None
        self._pump = EventPump(self._apply, on_error=lambda e: show_error(self.error, str(e)))
        self.probe_button.on_click(guard(self, lambda _: self._launch(self.run_probe)))
        super().__init__(
            [
                plotly_loader(),
                *panel_title("Workshop: choose a backbone, then see what pretraining buys", title),
                widgets.HTML("<b>Transferability probe</b>"),
                help_line("probe"),
                widgets.HBox(
                    [
                        self.candidates,
                        widgets.VBox(
                            [self.random_twin, self.probe_n, self.probe_size, self.probe_score]
                        ),
                    ]
                ),
                self.probe_button,
                self.probe_status,
                self.probe_fig,
                self.error,
                widgets.HTML("<b>Data-efficiency curve</b>"),
                self.curve,
            ]
        )
        with_classes(self, "tl-workshop-panel")

    # -- settings -------------------------------------------------------------------
    def probe_candidates(self) -> list[Candidate]:
        """The chosen models, plus the first one's random-init twin when ticked."""
        chosen = [Candidate(key) for key in self.candidates.value]
        if chosen and self.random_twin.value:
            chosen.append(random_twin(chosen[0].key))
        return chosen

    @property
    def last_curve(self) -> EfficiencyResult | None:
        """The last curve measured (None before the first)."""
        return self.curve.last_result

    def curve_spec(self) -> CurveSpec:
        """The curve the controls describe (ValueError naming a bad field)."""
        return self.curve.spec()

    # -- jobs (worker thread, or the caller's when not threaded) ----------------------
    def run_probe(self) -> ProbeReport | None:
        """Probe the chosen candidates; results reach the widgets through the pump."""
        self._post("probe_started")
        try:
            candidates = self.probe_candidates()
            if not candidates:
                raise ValueError("models: select at least one model to probe")
            report = probe(
                candidates,
                data=self.data,
                n_per_class=self.probe_n.value,
                image_size=self.probe_size.value or None,
                score=self.probe_score.value,
                on_result=self._post,
            )
        except Exception as error:  # shown in the panel, never only in a log
            self._post(_Failed("probe", f"{type(error).__name__}: {error}"))
            return None
        self._post(report)
        return report

    def _post(self, item: object) -> None:
        if self.threaded:
            self._pump.put(item)
        else:
            self._pump.submit(item)

    def _launch(self, job: Callable[[], object]) -> None:
        if self._worker is not None and self._worker.is_alive():
            show_error(self.error, "a probe or curve is still running: wait for it, or press Stop")
            return
        clear_error(self.error)
        self._set_busy(True)
        if not self.threaded:
            try:
                job()
            finally:
                self._set_busy(False)
            return

        def work() -> None:
            try:
                job()
            finally:
                self._pump.put("idle")

        self._pump.start()
        self._worker = threading.Thread(target=work, name="transfer-lab-workshop", daemon=True)
        self._worker.start()

    def join(self, timeout: float | None = None) -> None:
        """Wait for a running job and apply everything it reported (scripts, tests)."""
        if self._worker is not None:
            self._worker.join(timeout)
        self._pump.drain()
        self.curve.job.join(timeout)

    # -- the pump's view ---------------------------------------------------------------
    def _set_busy(self, busy: bool) -> None:
        self.probe_button.disabled = busy

    def _apply(self, items: list[Any]) -> int:
        sends = Sends()
        for item in items:
            if item == "probe_started":
                sends.set(self.probe_status, value="Scoring the candidates on your data…<br>")
            elif item == "idle":
                with sends.hold(self.probe_button):
                    self._set_busy(False)
            elif isinstance(item, _Failed):
                show_error(self.error, f"{item.job}: {item.message}")
                sends.count += 2
            elif isinstance(item, ProbeResult):
                self._probe_progress(item, sends)
            elif isinstance(item, ProbeReport):
                self._probe_done(item, sends)
        return sends.count

    def _probe_progress(self, result: ProbeResult, sends: Sends) -> None:
        score = result.score()
        what = f"{score:.0%}" if score is not None else f"{result.status}: {result.message}"
        line = f"{html.escape(result.label)}: {html.escape(what)} ({result.seconds:.1f} s)"
        sends.set(self.probe_status, value=self.probe_status.value + line + "<br>")

    def _probe_done(self, report: ProbeReport, sends: Sends) -> None:
        self.last_probe = report
        sends.set(self.probe_status, value=verdict_html(report) + probe_table_html(report))
        new = probe_figure(report)
        sends.replace_traces(self.probe_fig, new.data)
        with sends.figure(self.probe_fig):
            self.probe_fig.update_layout(new.layout.to_plotly_json())
            self.probe_fig.update_xaxes(visible=True)
            self.probe_fig.update_yaxes(visible=True)
