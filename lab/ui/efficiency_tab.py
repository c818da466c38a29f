"""The data-efficiency curve: test accuracy against labelled images per class,
pretrained features against the same network from scratch, with Stop.

The curve is measured on a worker thread (:class:`BackgroundJob`); each point reaches
the figure through the pump, so the curve grows while it is measured.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import ipywidgets as widgets

from lab.core.analysis.efficiency import (
    ARMS,
    CurvePoint,
    CurveSpec,
    EfficiencyResult,
    data_efficiency,
)
from lab.core.data import ImageDataset
from lab.core.models import catalog
from lab.plots._common import apply_trace_data
from lab.plots.efficiency import ARM_LABELS, efficiency_data, efficiency_figure
from lab.ui.errors import guard
from lab.ui.figures import figure_widget, plotly_loader
from lab.ui.jobs import BackgroundJob
from lab.ui.pump import Sends
from lab.ui.widgets_common import clear_error, error_box, help_line, show_error, with_classes

SIZES = [("64 px", 64), ("96 px", 96), ("128 px", 128)]
#: What the controls show before the user changes them.
DEFAULT_SPEC = CurveSpec(sizes=(5, 10, 25, 50), seeds=(0, 1), image_size=64, test_per_class=50)

#: Which data the curve uses: a loaded data set, or a data set name.
DataSource = Callable[[], ImageDataset | str]


@dataclass(frozen=True)
class _Progress:
    result: EfficiencyResult  # the points measured so far
    total: int
    done: bool


@dataclass(frozen=True)
class _Failed:
    message: str


def _size(spec: CurveSpec) -> tuple[str, int]:
    size = spec.image_size
    return ("model's own", 0) if size is None else (f"{size} px", size)  # 0: the weights' own


def parse_sizes(text: str) -> tuple[int, ...]:
    """ "5, 10, 25" -> (5, 10, 25); ValueError naming the field otherwise."""
    try:
        sizes = tuple(sorted({int(part) for part in text.replace(";", ",").split(",") if part}))
    except ValueError:
        sizes = ()
    if not sizes or min(sizes) < 1:
        raise ValueError(
            f"sizes={text!r}: write whole numbers >= 1 separated by commas, e.g. 5, 10, 25"
        )
    return sizes


class EfficiencyTab(widgets.VBox):
    """Measure the curve on ``data`` behind one button, with Stop.

    ``data`` is a data set name or a function giving the data (called on the worker
    thread, e.g. the lab's loaded data set). ``spec`` sets the controls' first values
    and the settings they do not show (epochs, test images per class, ...).
    """

    def __init__(
        self,
        data: DataSource | str,
        threaded: bool = True,
        models: list[str] | None = None,
        spec: CurveSpec | None = None,
    ):
        self._data: DataSource = data if callable(data) else (lambda: data)
        self._base = spec or DEFAULT_SPEC
        self._build_settings(models or catalog.offline_keys(), self._base)
        self.run_button = with_classes(
            widgets.Button(description="Measure curve", button_style="primary", icon="line-chart"),
            "tl-efficiency-run",
            "tl-curve-run",
        )
        self.stop_button = with_classes(
            widgets.Button(description="Stop", icon="stop"), "tl-efficiency-stop"
        )
        self.progress = widgets.IntProgress(0, min=0, max=1, description="runs")
        self.status = with_classes(widgets.HTML(""), "tl-curve-status", "tl-efficiency-status")
        self.figure = with_classes(
            figure_widget(efficiency_figure(arms=self.chosen_arms())), "tl-efficiency-figure"
        )
        self.error = error_box()
        self.last_result: EfficiencyResult | None = None
        self.last_error: str | None = None  # why the last curve failed, if it did
        self.job = BackgroundJob(
            self._apply, self.run_button, lambda e: show_error(self.error, str(e)),
            self.stop_button, threaded=threaded, name="transfer-lab-curve",
        )  # fmt: skip
        self.run_button.on_click(guard(self, lambda _b: self.measure()))
        self.stop_button.on_click(guard(self, lambda _b: self.job.stop()))
        settings = [
            widgets.VBox([self.model, self.sizes]),
            widgets.VBox([self.seeds, self.image_size]),
        ]
        super().__init__(
            [
                plotly_loader(),
                help_line("curve"),
                widgets.HBox(settings),
                widgets.HBox(list(self.arms.values())),
                widgets.HBox([self.run_button, self.stop_button, self.progress]),
                self.status,
                self.figure,
                self.error,
            ]
        )
        with_classes(self, "tl-efficiency-tab")

    def _build_settings(self, models: list[str], base: CurveSpec) -> None:
        default = catalog.DEFAULT_MODEL if catalog.DEFAULT_MODEL in models else models[0]
        model = base.model if base.model in models else default
        self.model = widgets.Dropdown(options=models, value=model, description="model")
        self.sizes = with_classes(
            widgets.Text(", ".join(map(str, base.sizes)), description="per class"),
            "tl-efficiency-sizes",
        )
        self.seeds = widgets.IntSlider(len(base.seeds), min=1, max=5, description="seeds")
        sizes = SIZES if base.image_size in dict(SIZES).values() else [*SIZES, _size(base)]
        self.image_size = widgets.Dropdown(
            options=sizes, value=base.image_size or 0, description="image size"
        )
        wide = widgets.Layout(width="auto")  # checkbox labels are cut at the default width
        self.arms = {
            arm: widgets.Checkbox(
                arm in base.arms, description=ARM_LABELS[arm], indent=False, layout=wide
            )
            for arm in ARMS
        }

    def chosen_arms(self) -> tuple[str, ...]:
        """Ticked arms, in the order of ``ARMS``."""
        return tuple(arm for arm, box in self.arms.items() if box.value)

    def spec(self) -> CurveSpec:
        """The curve the controls describe (ValueError naming a bad field)."""
        return replace(
            self._base,
            model=self.model.value,
            sizes=parse_sizes(self.sizes.value),
            arms=self.chosen_arms(),
            seeds=tuple(range(self.seeds.value)),
            image_size=self.image_size.value or None,
        )

    def measure(self) -> None:
        """Start measuring (refused in words while a curve is measured)."""
        clear_error(self.error)
        if self.job.running:
            show_error(self.error, "the curve is still being measured: wait, or press Stop")
            return
        self.last_result, self.last_error = None, None
        self.job.launch(self._work)

    def wait(self, timeout: float | None = None) -> EfficiencyResult:
        """Wait for the curve being measured and return it (notebooks, scripts).

        RuntimeError with the panel's message if it failed; TimeoutError if it is still
        being measured after ``timeout`` seconds.
        """
        self.job.finish(timeout, "the curve is still being measured")
        if self.last_result is None:
            why = self.last_error or "press Measure curve first"
            raise RuntimeError(f"no curve was measured: {why}")
        return self.last_result

    def _work(self) -> None:
        try:
            spec = self.spec()
            total = len(spec.sizes) * len(spec.seeds) * len(spec.arms)
            points: list[CurvePoint] = []
            empty = EfficiencyResult(spec, (), (), 0, 0.0)
            self.job.post(_Progress(empty, total, False))

            def on_point(point: CurvePoint) -> None:
                points.append(point)
                self.job.post(_Progress(replace(empty, points=tuple(points)), total, False))

            data = self._data()
            dataset = data if isinstance(data, ImageDataset) else None
            if isinstance(data, str):
                spec = replace(spec, data=data)
            result = data_efficiency(
                spec, data=dataset, on_point=on_point, should_stop=self.job.should_stop
            )
        except Exception as error:  # noqa: BLE001 - shown in the panel, never only in a log
            self.job.post(_Failed(f"curve: {type(error).__name__}: {error}"))
            return
        self.job.post(_Progress(result, total, True))

    # -- the pump's view ---------------------------------------------------------------
    def _apply(self, items: list[Any]) -> int:
        sends = Sends()
        for item in items:
            if isinstance(item, _Failed):
                self.last_error = item.message
                show_error(self.error, item.message, sends)
            elif isinstance(item, _Progress):
                self._progress(item, sends)
        return sends.count

    def _progress(self, progress: _Progress, sends: Sends) -> None:
        result = progress.result
        arms = result.spec.arms
        if len(self.figure.data) != 3 * len(arms) or not result.points:
            sends.replace_traces(self.figure, efficiency_figure(arms=arms).data)
        with sends.figure(self.figure):
            apply_trace_data(self.figure, efficiency_data(result, arms))
            self.figure.update_xaxes(tickvals=list(result.spec.sizes))
        sends.set(self.progress, max=progress.total, value=len(result.points))
        if progress.done:
            self.last_result = result
            word = "stopped" if result.stopped else "done"
            text = f"{word}: {len(result.points)} runs in {result.seconds:.0f} s"
        else:
            text = f"measuring: {len(result.points)} of {progress.total} runs"
        sends.set(self.status, value=text)

    def close(self) -> None:
        """Stop a running curve and close the widgets."""
        self.job.close()
        super().close()
