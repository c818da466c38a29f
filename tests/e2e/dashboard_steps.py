"""Steps a person takes on the dashboard page, shared by the browser tests and the
serving benchmark: small settings that train in seconds on a CPU."""

from __future__ import annotations

from typing import Any

START_BUTTON = "button.tl-start"


def set_slider(page: Any, css: str, value: str) -> None:
    """Type ``value`` into an ipywidgets slider's editable readout, as a person can."""
    readout = page.locator(f".{css} .widget-readout")
    readout.click()
    page.keyboard.press("Control+A")
    page.keyboard.type(value)
    page.keyboard.press("Enter")
    assert readout.inner_text().strip() == value, f"{css} did not take {value}"


def wait_until_usable(page: Any, timeout_ms: int = 180_000) -> None:
    """Until the Start button shows and can be clicked."""
    page.locator(START_BUTTON).wait_for(state="visible", timeout=timeout_ms)
    page.wait_for_function(
        f"() => {{ const b = document.querySelector('{START_BUTTON}'); return b && !b.disabled; }}",
        timeout=timeout_ms,
    )


def start_small_run(page: Any, epochs: int, fine_tune: bool = False) -> None:
    """10 images per class at 64 px, ``epochs`` epochs; press Start and see it running.

    Feature extraction (the default) caches the backbone's features, so later epochs
    take milliseconds; ``fine_tune`` runs the backbone every step, for runs that last.
    """
    page.locator(".jupyter-widget-Collapse-header", has_text="2 · Data").click()
    page.locator(".tl-n-per-class").first.wait_for(state="visible")
    set_slider(page, "tl-n-per-class", "10")
    page.locator(".tl-image-size select").select_option(label="64 px")
    if fine_tune:
        page.locator(".jupyter-widget-Collapse-header", has_text="3 · Approach").click()
        page.locator(".tl-approach-toggle button", has_text="fine-tuning").click()
        page.locator(".tl-approach-toggle button.mod-active", has_text="fine-tuning").wait_for()
    box = page.locator(".tl-epochs input")
    box.fill(str(epochs))
    box.press("Enter")
    page.get_by_role("button", name="Start", exact=True).click()
    page.locator(".tl-status", has_text="running").wait_for()
