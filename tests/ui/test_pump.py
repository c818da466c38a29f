"""The event pump: one writer, batches, and a bounded frontend message rate."""

from __future__ import annotations

import threading
import time

import numpy as np
import plotly.graph_objects as go
import pytest
from ipywidgets import IntProgress
from ui_helpers import wait_until

from lab.core.training.events import EvaluationCompleted, RunStarted, StepCompleted
from lab.core.training.history import RunHistory
from lab.ui.compare_panel import ComparePanel
from lab.ui.messages import NewRun, RunEvent
from lab.ui.pump import FIGURE_MESSAGES, MAX_MESSAGES_PER_S, EventPump, Sends
from lab.ui.results_panel import ResultsPanel
from lab.ui.routes import live_display
from lab.ui.train_panel import TrainPanel
from lab.ui.use_panel import UsePanel


def test_drain_applies_queued_items_in_order_as_one_batch():
    batches: list[list[int]] = []
    pump = EventPump(lambda items: batches.append(items) or 0)
    for i in range(5):
        pump.put(i)
    assert pump.drain() == 0
    assert batches == [[0, 1, 2, 3, 4]]
    assert pump.drain() == 0 and len(batches) == 1  # nothing queued: apply not called


def test_pump_thread_applies_items_from_other_threads_and_drains_on_stop():
    seen: list[int] = []
    threads_used: set[str] = set()

    def apply(items: list[int]) -> int:
        threads_used.add(threading.current_thread().name)
        seen.extend(items)
        return 1

    pump = EventPump(apply, period_s=0.02)
    pump.start()
    producers = [
        threading.Thread(target=lambda k=k: [pump.put((k, i)) for i in range(200)])
        for k in range(3)
    ]
    for t in producers:
        t.start()
    for t in producers:
        t.join()
    pump.stop()
    assert not pump.running
    assert sorted(seen) == sorted((k, i) for k in range(3) for i in range(200))
    for k in range(3):  # each producer's items keep their order
        assert [i for kk, i in seen if kk == k] == list(range(200))
    assert threads_used == {"transfer-lab-pump"}


def test_submit_applies_at_once_when_no_pump_thread_runs():
    seen: list[str] = []
    pump = EventPump(lambda items: seen.extend(items) or 0)
    pump.submit("click")
    assert seen == ["click"]


def test_a_failing_view_does_not_end_live_updates():
    errors: list[BaseException] = []
    seen: list[int] = []

    def apply(items: list[int]) -> int:
        if 0 in items:
            raise ValueError("broken view")
        seen.extend(items)
        return 0

    pump = EventPump(apply, period_s=0.01, on_error=errors.append)
    pump.start()
    pump.put(0)
    wait_until(lambda: errors, what="the error handler")
    pump.put(1)
    wait_until(lambda: seen == [1], what="the next batch")
    pump.stop()
    assert isinstance(errors[0], ValueError)


def test_pump_refuses_a_rate_of_zero():
    with pytest.raises(ValueError, match="max_rate"):
        EventPump(lambda items: 0, max_rate=0)


def test_sends_counts_at_least_what_widgets_send(comm_log):
    fig = go.FigureWidget(go.Scatter(x=[], y=[]))
    bar = IntProgress(max=10)
    sends = Sends()
    before = comm_log.count()
    with sends.figure(fig):
        fig.data[0].x, fig.data[0].y = [1, 2], [3, 4]
    figure_messages = comm_log.count() - before
    assert figure_messages == sends.count == FIGURE_MESSAGES + 1  # + the synced state
    # A view created later draws from the synced state, so it must hold the new data.
    assert fig._widget_data[0]["x"] == [1, 2] and fig._widget_data[0]["y"] == [3, 4]
    before = comm_log.count()
    assert sends.set(bar, value=3, description="x")
    assert not sends.set(bar, value=3)  # unchanged: nothing sent, nothing counted
    assert sends.show(bar, False)
    assert comm_log.count() - before == 2 == sends.count - figure_messages


def _events(n_steps: int, every: int) -> list[object]:
    """A run's events with ``n_steps`` steps and an evaluation every ``every`` steps."""
    names = ("a", "b", "c")
    labels = np.arange(30) % 3
    out: list[object] = [
        RunStarted("r", {}, names, 90, 30, every, n_steps // every, "cpu", None, 10, 0)
    ]
    for g in range(1, n_steps + 1):
        epoch = (g - 1) // every + 1
        out.append(StepCompleted(epoch, g, g, n_steps, 1.0 / g, 0.1, 500.0, g * 0.01))
        if g % every == 0:
            confusion = np.zeros((3, 3), dtype=int)
            np.add.at(confusion, (labels, labels), 1)
            acc = 1 - 1 / (epoch + 1)
            out.append(
                EvaluationCompleted(
                    epoch, g, 0.5, acc, 0.6, acc, confusion, np.ones(3), np.ones(3), labels
                )
            )
    return out


def test_live_view_stays_under_the_message_rate_however_fast_events_come(comm_log):
    train, results = TrainPanel(), ResultsPanel()
    results.ensure_figure()
    display = live_display(train, results, ComparePanel(runs_dir=None), UsePanel())
    batch_sizes: list[int] = []

    def apply(items: list[object]) -> int:
        sent = display.apply(items)
        batch_sizes.append(sent)
        return sent

    pump = EventPump(apply)
    history = RunHistory(name="burst")
    events = _events(n_steps=1200, every=300)
    pump.start()
    began = time.monotonic()
    pump.put(NewRun(history))
    for i, event in enumerate(events):  # ~1200 events in about 3 s: far above 20 per s
        pump.put(RunEvent(history, event))
        if i % 10 == 0:
            time.sleep(0.025)
    wait_until(lambda: not pump.pending and len(history.steps) == 1200, what="the last batch")
    pump.stop()
    elapsed = time.monotonic() - began
    sent = comm_log.count(since=began)
    # The pump pays for each batch after sending it, so over any stretch the count is
    # at most rate * time plus the batch that was sent last.
    print(
        f"rate: {sent} messages in {elapsed:.2f}s = {sent / elapsed:.1f}/s; batches {batch_sizes}"
    )
    assert sent <= MAX_MESSAGES_PER_S * elapsed + max(batch_sizes)
    assert sent <= pump.messages_sent  # the view's counting is an upper bound
    assert pump.batches < len(events) / 10  # events were folded into few batches
    assert len(results.figure.data[0].x) == 1200  # nothing was dropped on the way
    assert list(results.figure.data[4].x) == [1, 2, 3, 4]
    assert train.status.value == "running"
