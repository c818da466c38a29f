"""In the browser: a staged fine-tune marks its unfreeze epoch on the curve, and Grad-CAM
opens on a gallery image."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from dashboard_steps import set_slider

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

DASHBOARD = Path(__file__).resolve().parents[2] / "notebooks" / "dashboard.ipynb"
RUN_TIMEOUT_MS = 300_000  # fine-tuning a real MobileNetV2 on CPU, two short epochs
SHAPES_JS = """() => {
    const el = document.querySelector('.tl-results-plot .js-plotly-plot')
        || document.querySelector('.tl-results-plot');
    return el && el.layout ? (el.layout.shapes || []).map(s => s.x0) : null;
}"""


@pytest.fixture(scope="module")
def dashboard(voila_server_factory: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    folder = tmp_path_factory.mktemp("staged")
    server = voila_server_factory(Path(shutil.copy(DASHBOARD, folder / DASHBOARD.name)))
    yield server
    server.stop()


def test_staged_fine_tune_marks_the_curve_and_gradcam_opens(
    page: Any, dashboard: Any, artifacts_dir: Path, screenshot: Any
) -> None:
    page.goto(dashboard.url, timeout=180_000)  # Voilà runs the notebook before answering
    page.locator(".tl-app").wait_for(timeout=180_000)
    page.locator(".jupyter-widget-Collapse-header", has_text="2 · Data").click()
    page.locator(".tl-n-per-class").first.wait_for(state="visible")
    set_slider(page, "tl-n-per-class", "10")
    page.locator(".tl-image-size select").select_option(label="64 px")
    page.locator(".jupyter-widget-Collapse-header", has_text="3 · Approach").click()
    page.locator(".tl-approach-toggle button", has_text="fine-tuning").click()
    page.locator(".tl-approach-toggle button.mod-active", has_text="fine-tuning").wait_for()
    frozen = page.locator(".tl-unfreeze-epochs input")
    frozen.fill("1")
    frozen.press("Enter")
    page.locator(".tl-unfreeze-schedule", has_text="epoch 1: head").wait_for()
    epochs = page.locator(".tl-epochs input")
    epochs.fill("2")
    epochs.press("Enter")
    page.get_by_role("button", name="Start", exact=True).click()
    page.locator(".tl-status", has_text="completed").wait_for(timeout=RUN_TIMEOUT_MS)
    page.wait_for_function(f"() => ({SHAPES_JS})()?.length > 0", timeout=30_000)
    assert set(page.evaluate(SHAPES_JS)) == {1}  # epoch 2's steps begin at x = 1
    page.locator(".tl-results-plot .annotation-text", has_text="unfrozen").first.wait_for()
    screenshot(page, artifacts_dir / "staged-unfreeze-mark.png")

    choice = page.locator(".tl-gradcam-choice select")
    choice.wait_for(state="visible")
    choice.select_option(index=0)
    page.locator("button.tl-gradcam-show").click()
    page.locator(".tl-gradcam-caption", has_text="Where the model looks").wait_for(timeout=60_000)
    overlay = page.locator("img.tl-gradcam-image, .tl-gradcam-image img").first
    overlay.wait_for(state="visible")
    assert (overlay.get_attribute("src") or "").startswith("blob:") or overlay.bounding_box()
    screenshot(page, artifacts_dir / "gradcam-gallery.png")
