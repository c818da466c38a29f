"""Workshop panel: rank backbones with the probe, then draw the data-efficiency curve.

Both jobs run on a worker thread (:class:`BackgroundJob`: the buttons stay responsive
and Stop works); the worker only puts results on an :class:`EventPump`, whose
``apply`` is the one place that writes the widgets they change. ``threaded=False``
runs them in the click handler instead, for scripts and tests.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import ipywidgets as widgets

from lab.core.analysis.efficiency import CurveSpec, EfficiencyResult
from lab.core.analysis.probe import Candidate, ProbeReport, ProbeResult, probe
from lab.core.models import catalog
from lab.ui.efficiency_tab import EfficiencyTab, parse_sizes
from lab.ui.errors import guard
from lab.ui.figures import figure_widget, plotly_loader
from lab.ui.jobs import BackgroundJob
from lab.ui.probe_view import (
    BLANK_LAYOUT,
    chosen_candidates,
    draw_ranking,
    probe_table_html,
    progress_line,
    score_dropdown,
    verdict_html,
)
from lab.ui.pump import Sends
from lab.ui.widgets_common import (
    clear_error,
    error_box,
    help_line,
    panel_title,
    show_error,
    with_classes,
)

_SIZES = [("model's own", 0), ("64 px", 64), ("96 px", 96), ("128 px", 128)]
_PROBE_STARTED = "probe_started"


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
        offline = catalog.offline_keys()
        self._build_probe(offline)
        self.curve = EfficiencyTab(lambda: self.data, threaded=threaded, models=offline)
        self.curve_model, self.curve_sizes = self.curve.model, self.curve.sizes
        self.curve_seeds, self.curve_arms = self.curve.seeds, self.curve.arms
        self.curve_button, self.curve_stop = self.curve.run_button, self.curve.stop_button
        self.curve_progress, self.curve_status = self.curve.progress, self.curve.status
        self.curve_fig = self.curve.figure
        self.error = error_box()
        self.last_probe: ProbeReport | None = None
        self.job = BackgroundJob(
            self._apply, self.probe_button, lambda e: show_error(self.error, str(e)),
            threaded=threaded, name="transfer-lab-workshop",
        )  # fmt: skip
        self.probe_button.on_click(guard(self, lambda _: self._launch(self.run_probe)))
        probe_settings = [self.random_twin, self.probe_n, self.probe_size, self.probe_score]
        super().__init__(
            [
                plotly_loader(),
                *panel_title("Workshop: choose a backbone, then see what pretraining buys", title),
                widgets.HTML("<b>Transferability probe</b>"),
                help_line("probe"),
                widgets.HBox([self.candidates, widgets.VBox(probe_settings)]),
                self.probe_button,
                self.probe_status,
                self.probe_fig,
                self.error,
                widgets.HTML("<b>Data-efficiency curve</b>"),
                self.curve,
            ]
        )
        with_classes(self, "tl-workshop-panel")

    def _build_probe(self, models: list[str]) -> None:
        self.candidates = widgets.SelectMultiple(
            options=models, value=tuple(models[:2]), rows=4, description="models"
        )
        self.random_twin = widgets.Checkbox(
            True, description="add a random-init twin of the first", indent=False,
            layout=widgets.Layout(width="auto"),  # checkbox labels are cut at the default
        )  # fmt: skip
        self.probe_n = widgets.IntSlider(20, min=5, max=50, step=5, description="per class")
        # 64 px: the size the probe was validated at (benchmarks/probe_check.py), a few
        # percent of the time real runs at 112 px take.
        self.probe_size = widgets.Dropdown(options=_SIZES, value=64, description="image size")
        self.probe_score = score_dropdown()
        self.probe_button = with_classes(
            widgets.Button(
                description="Rank models", button_style="primary", icon="sort-amount-desc"
            ),
            "tl-probe-run",
        )
        self.probe_status = with_classes(
            widgets.HTML("Press <b>Rank models</b> to score the chosen models."), "tl-probe-status"
        )
        self.probe_fig = figure_widget(layout=BLANK_LAYOUT)

    # -- settings -------------------------------------------------------------------
    def probe_candidates(self) -> list[Candidate]:
        """The chosen models, plus the first one's random-init twin when ticked."""
        return chosen_candidates(self.candidates.value, self.random_twin.value)

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
        self.job.post(_PROBE_STARTED)
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
                on_result=self.job.post,
            )
        except Exception as error:  # shown in the panel, never only in a log
            self.job.post(_Failed("probe", f"{type(error).__name__}: {error}"))
            return None
        self.job.post(report)
        return report

    def _launch(self, job: Callable[[], object]) -> None:
        clear_error(self.error)
        if not self.job.launch(job):
            show_error(self.error, "a probe or curve is still running: wait for it, or press Stop")

    def join(self, timeout: float | None = None) -> None:
        """Wait for a running job and apply everything it reported (scripts, tests)."""
        self.job.join(timeout)
        self.curve.job.join(timeout)

    # -- the pump's view ---------------------------------------------------------------
    def _apply(self, items: list[Any]) -> int:
        sends = Sends()
        for item in items:
            if item == _PROBE_STARTED:
                sends.set(self.probe_status, value="Scoring the candidates on your data…<br>")
            elif isinstance(item, _Failed):
                show_error(self.error, f"{item.job}: {item.message}", sends)
            elif isinstance(item, ProbeResult):
                self._probe_progress(item, sends)
            elif isinstance(item, ProbeReport):
                self._probe_done(item, sends)
        return sends.count

    def _probe_progress(self, result: ProbeResult, sends: Sends) -> None:
        line = progress_line(result, self.probe_score.value)
        sends.set(self.probe_status, value=self.probe_status.value + line)

    def _probe_done(self, report: ProbeReport, sends: Sends) -> None:
        self.last_probe = report
        sends.set(self.probe_status, value=verdict_html(report) + probe_table_html(report))
        draw_ranking(self.probe_fig, report, sends)
