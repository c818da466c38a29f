"""Proof of the threading model the lab relies on, in Voilà and headless Chromium.

The fixture notebook ``notebooks/live_update_proof.ipynb`` runs a worker thread that
produces 100 points/s and one of two pumps that apply them every 0.1 s to a plotly
FigureWidget (inside ``batch_update()``) and to a Label (inside ``hold_sync()``):

- a pump *thread*: must update live while the kernel is idle AND while its main thread
  is busy (a long cell, a slow click handler);
- a pump *callback* on the kernel's tornado IOLoop: updates live while the kernel is
  idle, but stalls while the main thread is busy, which is why the lab pumps from a thread.

Measured message counts are written to ``tests/e2e/artifacts/live_update_rates-<mode>.json``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.e2e

NOTEBOOK = Path(__file__).parent / "notebooks" / "live_update_proof.ipynb"
N_POINTS = 800  # as in the notebook
PERIOD_S = 0.1  # the pump's tick, as in the notebook
POINTS_JS = """() => {
    const el = document.querySelector('.js-plotly-plot');
    return el && el.data && el.data[0] && el.data[0].x ? el.data[0].x.length : -1;
}"""


@pytest.fixture(scope="module")
def proof_server(voila_server_factory: Any) -> Iterator[Any]:
    # One kernel per page, started on request: no pool refilling beside the timed checks.
    server = voila_server_factory(NOTEBOOK, "--preheat_kernel=False")
    yield server
    server.stop()


def open_proof(page: Any, server: Any) -> None:
    page.goto(server.url, timeout=180_000)  # Voilà runs the notebook before answering
    # Voilà renders after the kernel ran the notebook; allow a slow, shared machine.
    page.get_by_role("button", name="Start thread pump").wait_for(timeout=90_000)
    page.locator(".js-plotly-plot").wait_for()
    assert plot_points(page) == 0, "the plot must start empty"


def plot_points(page: Any) -> int:
    """Points of the first trace, as the plotly graph div in the page holds them."""
    return int(page.evaluate(POINTS_JS))


def text(page: Any, css_class: str) -> str:
    return str(page.locator(f".{css_class}").inner_text()).strip()


def sample_growth(page: Any, seconds: float) -> list[int]:
    counts = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        counts.append(plot_points(page))
        time.sleep(0.15)
    return counts


def points_during_block(page: Any) -> tuple[int, int]:
    """Click Block; return the plot's points 0.3 s and 1.3 s into the 3 s main-thread block."""
    page.get_by_role("button", name="Block").click()
    page.locator(".proof-block", has_text="blocked").wait_for()
    time.sleep(0.3)  # let plotly finish drawing anything that arrived before the block
    before = plot_points(page)
    time.sleep(1.0)
    after = plot_points(page)
    assert text(page, "proof-block") == "blocked", "the 1 s window must lie inside the block"
    return before, after


def check_live_growth(page: Any, mode: str) -> None:
    """After Start: points grow in several steps while running, and the label follows."""
    page.get_by_role("button", name=f"Start {mode} pump").click()
    page.locator(".proof-status", has_text=f"{mode}: running").wait_for()
    first_label = text(page, "proof-status")
    counts = sample_growth(page, 1.5)
    assert counts == sorted(counts), f"points went backwards: {counts}"
    assert len(set(counts)) >= 3, f"the plot did not grow step by step: {counts}"
    assert 0 < counts[-1] < N_POINTS, f"expected a partial curve while running: {counts}"
    assert text(page, "proof-status") != first_label, "the status label did not change"


def check_ping_answers_while_running(page: Any, mode: str) -> None:
    page.get_by_role("button", name="Ping").click()
    page.locator(".proof-ping", has_text="pings: 1").wait_for(timeout=5_000)
    assert f"{mode}: running" in text(page, "proof-status"), "the worker ended before Ping"


def finish(page: Any, mode: str, messages: list[Any], started: float, artifacts: Path) -> None:
    page.locator(".proof-status", has_text=f"{mode}: done {N_POINTS} points").wait_for()
    page.wait_for_function(f"() => ({POINTS_JS})() === {N_POINTS}")
    report_rates(mode, [m for m in messages if m.time >= started], artifacts)


def report_rates(mode: str, messages: list[Any], artifacts: Path) -> None:
    """Write what reached the browser; assert the figure got batched ticks, not points."""
    comm = [m for m in messages if m.msg_type == "comm_msg"]
    figure_updates = [m for m in comm if m.state_keys == ("_py2js_update",)]
    duration = messages[-1].time - messages[0].time
    counts: dict[str, int] = {}
    for m in messages:
        key = m.msg_type + (":" + ",".join(m.state_keys) if m.state_keys else "")
        counts[key] = counts.get(key, 0) + 1
    rates = {
        "mode": mode,
        "seconds": round(duration, 2),
        "points": N_POINTS,
        "all_messages_per_s": round(len(messages) / duration, 1),
        "comm_messages_per_s": round(len(comm) / duration, 1),
        "figure_updates_per_s": round(len(figure_updates) / duration, 1),
        "by_type": counts,
    }
    (artifacts / f"live_update_rates-{mode}.json").write_text(json.dumps(rates, indent=2))
    # plotly sends each batch_update as (at most) two _py2js_update messages.
    ticks_bound = duration / PERIOD_S + 5
    assert 0 < len(figure_updates) <= 2 * ticks_bound, rates
    assert len(figure_updates) < N_POINTS / 4, f"points were not batched per tick: {rates}"


def test_thread_pump_updates_live_while_idle_and_while_main_thread_busy(
    page: Any, kernel_messages: list[Any], proof_server: Any, artifacts_dir: Path
) -> None:
    open_proof(page, proof_server)
    started = time.monotonic()
    check_live_growth(page, "thread")
    check_ping_answers_while_running(page, "thread")
    before, after = points_during_block(page)
    assert after > before, f"thread pump stalled while the main thread was busy: {before}"
    finish(page, "thread", kernel_messages, started, artifacts_dir)


def test_ioloop_pump_updates_live_while_idle_but_stalls_while_main_thread_busy(
    page: Any, kernel_messages: list[Any], proof_server: Any, artifacts_dir: Path
) -> None:
    open_proof(page, proof_server)
    started = time.monotonic()
    check_live_growth(page, "loop")
    check_ping_answers_while_running(page, "loop")
    before, after = points_during_block(page)
    assert after == before, f"IOLoop pump ran during the block: {before} -> {after}"
    finish(page, "loop", kernel_messages, started, artifacts_dir)
