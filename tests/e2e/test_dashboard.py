"""The Voilà dashboard end to end, in headless Chromium, on a small offline config.

A person's path through the lab: pick the model (MobileNetV2), make the data small
(10 images per class, 5 % validation, 64 px), switch to fine-tuning and freeze a group,
press Start, watch the loss curve and the confusion matrix appear, press Stop. The run
must say ``stopped`` and no error may be shown. Screenshots of the running and the
stopped dashboard are kept in ``tests/e2e/artifacts/`` for review.
"""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from dashboard_steps import set_slider

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

REPO_ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = REPO_ROOT / "notebooks" / "dashboard.ipynb"
N_PER_CLASS = 10
# Generous: the first evaluation runs a real MobileNetV2 over the validation images on CPU.
RUN_TIMEOUT_S = 120
RUN_TIMEOUT_MS = RUN_TIMEOUT_S * 1000
GRAPH_JS = """([css, expr]) => {
    const host = document.querySelector(css);
    if (!host) return null;
    const el = host.classList.contains('js-plotly-plot')
        ? host : host.querySelector('.js-plotly-plot');
    if (!el || !el.data) return null;
    return (new Function('el', 'return ' + expr))(el);
}"""
# Trace lookups by kind, so one combined results figure or separate figures both work.
LOSS_POINTS = "Math.max(0, ...el.data.filter(t => /loss/.test(t.name || '')).map(t => t.x.length))"
HEATMAP = "el.data.find(t => t.type === 'heatmap')"
MATRIX_TOTAL = f"(({HEATMAP} || {{}}).z || []).flat().reduce((a, b) => a + b, 0)"
VISIBLE_ERRORS_JS = """() => Array.from(document.querySelectorAll('.tl-error'))
    .filter(el => el.offsetParent !== null && el.innerText.trim() !== '')
    .map(el => el.innerText.trim())"""


@pytest.fixture(scope="module")
def dashboard_server(
    voila_server_factory: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Any]:
    if not DASHBOARD.exists():
        pytest.fail(f"{DASHBOARD} is missing: the dashboard notebook is what `make lab` serves")
    # Voilà runs the kernel in the notebook's folder and the lab saves runs to ./runs:
    # serving a copy keeps those files out of the checkout.
    folder = tmp_path_factory.mktemp("dashboard")
    server = voila_server_factory(Path(shutil.copy(DASHBOARD, folder / DASHBOARD.name)))
    yield server
    server.stop()


def graph(page: Any, css: str, expr: str) -> Any:
    """Evaluate ``expr`` on the plotly graph div of the widget with class ``css``."""
    return page.evaluate(GRAPH_JS, [f".{css}", expr])


def page_errors(console_log: list[str]) -> list[str]:
    return [line for line in console_log if line.startswith("pageerror")]


def wait_for_graph(page: Any, css: str, expr: str, console_log: list[str]) -> None:
    """Wait until ``expr`` on the graph div of widget ``css`` is a number above 0.

    Fails at once on a page error: a widget whose frontend failed to initialize drops
    every later update, so waiting longer cannot help.
    """
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while time.monotonic() < deadline:
        assert page_errors(console_log) == [], f"page error while waiting for {css}"
        value = graph(page, css, expr)
        if isinstance(value, (int, float)) and value > 0:
            return
        time.sleep(0.5)
    status = page.locator(".tl-status-detail").inner_text()
    raise AssertionError(
        f"{css}: {expr} stayed at {graph(page, css, expr)!r} for {RUN_TIMEOUT_S}s while the "
        f"status said {status!r}: the browser's figure received no update"
    )


def open_section(page: Any, title: str, control_css: str) -> None:
    page.locator(".jupyter-widget-Collapse-header", has_text=title).click()
    page.locator(f".{control_css}").first.wait_for(state="visible")


def trainable_count(page: Any) -> str:
    """The trainable parameter count as the approach panel prints it, e.g. '425.0 k'."""
    text = page.locator(".tl-param-counts").inner_text()
    match = re.search(r"trainable\s+([\d.,]+\s*[kM]?)", text)
    assert match, f"no trainable count in {text!r}"
    return match.group(1).strip()


def as_number(count: str) -> float:
    number, _, unit = count.partition(" ")
    return float(number.replace(",", "")) * {"": 1, "k": 1e3, "M": 1e6}[unit.strip()]


def rounding_of(count: str) -> float:
    """How far the true value may lie from a printed count: half its last digit."""
    number, _, unit = count.partition(" ")
    decimals = len(number.split(".")[1]) if "." in number else 0
    return 0.5 * 10**-decimals * {"": 1, "k": 1e3, "M": 1e6}[unit.strip()]


def choose_model(page: Any) -> None:
    options = page.locator(".tl-model-select select option").all_inner_texts()
    other = next(i for i, label in enumerate(options) if not label.startswith("mobilenet_v2"))
    mobilenet = next(i for i, label in enumerate(options) if label.startswith("mobilenet_v2"))
    select = page.locator(".tl-model-select select")
    select.select_option(index=other)
    page.locator(".tl-model-info", has_text=options[other].split()[0]).wait_for()
    select.select_option(index=mobilenet)
    page.locator(".tl-model-info", has_text="mobilenet_v2").wait_for()


def make_data_small(page: Any) -> None:
    open_section(page, "2 · Data", "tl-n-per-class")
    set_slider(page, "tl-n-per-class", str(N_PER_CLASS))
    set_slider(page, "tl-val-fraction", "0.05")
    page.locator(".tl-image-size select").select_option(label="64 px")
    page.locator(".tl-load-button").click()
    status = page.locator(".tl-data-status", has_text="classes")
    status.wait_for(timeout=60_000)
    match = re.search(r"(\d+) classes", status.inner_text())
    assert match, status.inner_text()
    classes = int(match.group(1))
    sizes = page.locator(".tl-split-sizes", has_text="train")
    sizes.wait_for()
    assert f"train {N_PER_CLASS * classes:,}" in sizes.inner_text(), sizes.inner_text()


def next_trainable_count(page: Any, before: str) -> str:
    """Wait until the approach panel prints a trainable count other than ``before``."""
    page.wait_for_function(
        "b => !document.querySelector('.tl-param-counts').innerText.includes('trainable ' + b)",
        arg=before,
    )
    return trainable_count(page)


def fine_tune_with_a_frozen_group(page: Any) -> str:
    """Switch to fine-tuning, freeze the first trainable group; return the trainable count."""
    open_section(page, "3 · Approach and freezing", "tl-approach-toggle")
    head_only = trainable_count(page)
    page.locator(".tl-approach-toggle button", has_text="fine-tuning").click()
    page.locator(".tl-approach-toggle button.mod-active", has_text="fine-tuning").wait_for()
    fine_tuned = next_trainable_count(page, head_only)
    assert as_number(fine_tuned) > as_number(head_only), "fine-tuning must train more"
    active = page.locator(".tl-group-toggle.mod-active")
    trainable_groups = active.all_inner_texts()
    assert len(trainable_groups) >= 3, f"fine-tuning should train 2+ groups: {trainable_groups}"
    active.first.click()  # freeze the earliest trainable group
    trainable = next_trainable_count(page, fine_tuned)
    assert as_number(head_only) < as_number(trainable) < as_number(fine_tuned), trainable
    assert active.all_inner_texts() == trainable_groups[1:], "the clicked group still trains"
    return trainable


def start_and_watch(
    page: Any, trainable: str, artifacts: Path, screenshot: Any, console_log: list[str]
) -> None:
    epochs = page.locator(".tl-epochs input")
    epochs.fill("20")  # far more than the test waits for: Stop must find it running
    epochs.press("Enter")
    page.get_by_role("button", name="Start", exact=True).click()
    page.locator(".tl-status", has_text="running").wait_for()
    detail = page.locator(".tl-status-detail", has_text="trainable parameters")
    detail.wait_for(timeout=RUN_TIMEOUT_MS)
    match = re.search(r"\(([\d,]+) trainable", detail.inner_text())
    assert match, detail.inner_text()
    run_params = int(match.group(1).replace(",", ""))
    assert abs(run_params - as_number(trainable)) <= rounding_of(trainable), (
        f"the run trains {run_params} parameters, the panel said {trainable}"
    )
    wait_for_graph(page, "tl-loss-plot", LOSS_POINTS, console_log)
    # Before the first evaluation the matrix is all zeros; it "shows" once it counts images.
    wait_for_graph(page, "tl-confusion", MATRIX_TOTAL, console_log)
    matrix = graph(page, "tl-confusion", f"{HEATMAP}.z")
    assert len(matrix) >= 2 and all(len(row) == len(matrix) for row in matrix), matrix
    assert page.locator(".tl-status").inner_text().strip() == "running"
    assert page.get_by_role("button", name="Stop", exact=True).is_enabled()
    screenshot(page, artifacts / "dashboard-running.png")


def test_dashboard_small_run_start_to_stop(
    page: Any, dashboard_server: Any, artifacts_dir: Path, screenshot: Any, console_log: list[str]
) -> None:
    page.goto(dashboard_server.url, timeout=180_000)  # Voilà runs the notebook before answering
    page.locator(".tl-app").wait_for(timeout=180_000)  # the kernel runs the notebook first
    for panel in ("tl-model-panel", "tl-data-panel", "tl-approach-panel", "tl-train-panel"):
        assert page.locator(f".{panel}").count() == 1, f"{panel} is not on the page"
    assert page.locator(".tl-status").inner_text().strip() == "idle"

    choose_model(page)
    make_data_small(page)
    trainable = fine_tune_with_a_frozen_group(page)
    assert page_errors(console_log) == []
    start_and_watch(page, trainable, artifacts_dir, screenshot, console_log)

    page.get_by_role("button", name="Stop", exact=True).click()
    page.locator(".tl-status", has_text="stopped").wait_for(timeout=RUN_TIMEOUT_MS)
    assert page.get_by_role("button", name="Stop", exact=True).is_disabled()
    assert page.evaluate(VISIBLE_ERRORS_JS) == []
    assert page_errors(console_log) == []
    assert page.get_by_text("Traceback").count() == 0, "a traceback is on the page"
    screenshot(page, artifacts_dir / "dashboard-stopped.png")
