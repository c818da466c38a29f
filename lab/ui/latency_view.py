"""Latency on this machine for the model panel: on request for the chosen model, and
in the background for the offline models once the page has drawn itself.

Measuring runs on a worker thread (:class:`BackgroundJob`); each result reaches the
model panel's ``latencies`` trait through the pump, and is cached per machine and
torch version (:class:`LatencyCache`), so a second page shows it at once. It waits
while a training run is under way or other work keeps this process's CPUs busy (a
served dashboard's next kernel starting, a neighbour's run, this page's pump drawing a
finished run), and measures a model again when either happened during its measurement:
a latency taken beside other work times that work too, and it would be kept for every
later page. A run that starts during a measurement stops it before its next pass.
"""

from __future__ import annotations

import html
import random
from dataclasses import asdict, dataclass
from typing import Any

import ipywidgets as widgets

from lab.core.analysis.latency import MeasurementStopped
from lab.core.analysis.latency_cache import LatencyCache, LatencyPair
from lab.core.hardware.machine_load import OthersLoad, others_share
from lab.core.models import catalog
from lab.core.serving.shutdown import busy, runs_watched
from lab.ui.errors import guard
from lab.ui.figures import PageReady
from lab.ui.jobs import BackgroundJob
from lab.ui.model_panel import ModelPanel
from lab.ui.pump import Sends
from lab.ui.widgets_common import note_html, with_classes

#: How often a measurement that waits for a run to end looks again.
IDLE_POLL_S = 0.5

#: Longest random pause before measuring again after a disturbed measurement.
RETRY_JITTER_S = 3.0

#: The largest share of this process's CPUs that other work may use while a latency
#: is measured (on 2 cores: 0.4 of one).
QUIET_SHARE = 0.2


@dataclass(frozen=True)
class _Measured:
    key: str
    pair: LatencyPair | None
    message: str = ""


class LatencyControl(widgets.HBox):
    """A "measure latency" button and a status line that feed ``panel.latencies``."""

    def __init__(
        self,
        panel: ModelPanel,
        cache: LatencyCache | None = None,
        threaded: bool = True,
        background: bool = True,
    ) -> None:
        self.panel, self.cache = panel, cache or LatencyCache()
        self._jitter = random.Random()
        self.button = with_classes(
            widgets.Button(description="latency on this machine", icon="clock-o",
                           tooltip="ms per image at batch 1 and batch 32, measured here"),
            "tl-latency",
        )  # fmt: skip
        self.status = with_classes(widgets.HTML(""), "tl-latency-status")
        self.job = BackgroundJob(
            self._apply, self.button, lambda e: self._say(str(e)), threaded=threaded,
            name="transfer-lab-latency",
        )  # fmt: skip
        self.button.on_click(guard(panel, lambda _b: self.measure([panel.model_key])))
        children: list[widgets.Widget] = [self.button, self.status]
        if background:  # after the first render: never in the way of the page's first paint
            children.append(PageReady(self.measure_offline))
        super().__init__(children)
        known = self.cache.known()
        if known:
            panel.latencies = {k: asdict(v) for k, v in known.items()}

    def measure_offline(self) -> None:
        """Measure every offline model not measured yet on this machine."""
        known = self.cache.known()
        keys = [key for key in catalog.offline_keys() if key not in known]
        if keys:
            self.measure(keys, use_cache=True)

    def measure(self, keys: list[str], use_cache: bool = False) -> None:
        """Time ``keys`` one after another on the worker thread."""
        self.job.launch(lambda: self._work(keys, use_cache))

    def _work(self, keys: list[str], use_cache: bool) -> None:
        for key in keys:
            cached = self.cache.get(key) if use_cache else None
            try:
                pair = cached or self._measure_while_idle(key, use_cache)
            except Exception as error:  # noqa: BLE001 - one model failing must not stop the rest
                self.job.post(_Measured(key, None, f"could not time it: {error}"))
                continue
            if pair is None:  # stopped
                return
            self.job.post(_Measured(key, pair))

    def _measure_while_idle(self, key: str, use_cache: bool) -> LatencyPair | None:
        """Measure ``key`` when no run trains and other work leaves the CPUs alone,
        again if either changed meanwhile; None if the job was stopped first."""
        while True:
            if not self._wait_for_idle(key):
                return None
            kept = self.cache.get(key) if use_cache else None
            if kept is not None:  # another page's kernel measured it meanwhile
                return kept
            started = runs_watched()
            self.job.post(_Measured(key, None, "measuring"))
            try:
                with OthersLoad() as load:
                    pair = self.cache.measure(key, store=False, should_stop=self._interrupted)
            except MeasurementStopped:
                continue  # a run started, or the page closed: wait for it, or end
            if runs_watched() == started and not busy() and load.share <= QUIET_SHARE:
                self.cache.store(key, pair)
                return pair
            # Two kernels that disturbed each other would meet again at their next try.
            if self.job.wait_for_stop(self._jitter.uniform(0, RETRY_JITTER_S)):
                return None

    def _interrupted(self) -> bool:
        """Between two timed passes: a run started (it gets the cores at once), or the
        job was stopped."""
        return busy() or self.job.should_stop()

    def _wait_for_idle(self, key: str) -> bool:
        """Wait until no training run is under way and the CPUs are quiet; False if the
        job is stopped first."""
        said = ""  # the kind of wait last shown, so that each is shown once
        while True:
            if busy():
                kind, reason = "run", "waiting for the training run to end"
            else:
                share = others_share(IDLE_POLL_S)
                if share <= QUIET_SHARE:
                    return not self.job.should_stop()
                kind, reason = "load", f"waiting: other work keeps {share:.0%} of the CPUs busy"
            if kind != said:
                self.job.post(_Measured(key, None, reason))
                said = kind
            if self.job.wait_for_stop(IDLE_POLL_S):
                return False

    def _say(self, text: str) -> None:
        self.status.value = note_html(html.escape(text))

    def _apply(self, items: list[Any]) -> int:
        sends = Sends()
        for item in items:
            if isinstance(item, _Measured) and item.pair is None:
                with sends.hold(self.status):
                    self._say(f"{item.key}: {item.message}")
            elif isinstance(item, _Measured) and item.pair is not None:
                with sends.hold(self.panel, self.panel.table, self.status):
                    self.panel.latencies = {**self.panel.latencies, item.key: asdict(item.pair)}
                    p = item.pair
                    self._say(
                        f"{item.key}: {p.batch1_ms:.1f} ms per image at batch 1, "
                        f"{p.batch32_ms:.1f} ms at batch 32 (this machine)"
                    )
                sends.count += 8  # the scatter's update
        return sends.count

    def close(self) -> None:
        """Stop measuring and close the widgets."""
        self.job.close()
        super().close()
