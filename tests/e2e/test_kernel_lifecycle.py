"""Many participants on one Voilà server: a page's kernel ends with the page.

Four pages of the dashboard train at once. One participant leaves (Voilà's shutdown
request), one page vanishes without a word (closed without unload handlers, as a crashed
tab or a dropped laptop): within the cull window both kernels are gone, both runs are
saved as stopped, and the other two pages still train. A reload then leaves no extra
kernel behind. The server runs with the repository's ``voila.json``; only the cull
window is made short here.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import CHROMIUM_ARGS, kernel_processes, page_kernel_id
from dashboard_steps import start_small_run, wait_until_usable

from lab.core.serving.shutdown import REASON

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

REPO_ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = REPO_ROOT / "notebooks" / "dashboard.ipynb"
POOL_SIZE = 1
CULL_IDLE_S = 20
CULL_INTERVAL_S = 5
# Idle time, one cull pass, and the kernel's own shutdown (stop between steps, save).
CULL_WINDOW_S = CULL_IDLE_S + 2 * CULL_INTERVAL_S + 15


@pytest.fixture(scope="module")
def served(voila_server_factory: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    folder = tmp_path_factory.mktemp("served")
    notebook = Path(shutil.copy(DASHBOARD, folder / DASHBOARD.name))
    server = voila_server_factory(
        notebook,
        f"--pool_size={POOL_SIZE}",
        f"--MappingKernelManager.cull_idle_timeout={CULL_IDLE_S}",
        f"--MappingKernelManager.cull_interval={CULL_INTERVAL_S}",
    )
    server.runs_dir = folder / "runs"
    yield server
    server.stop()


@pytest.fixture
def browser(playwright_driver: Any, chromium_path: Path) -> Iterator[Any]:
    browser = playwright_driver.chromium.launch(
        executable_path=str(chromium_path), headless=True, args=CHROMIUM_ARGS
    )
    yield browser
    browser.close()


def open_dashboard(browser: Any, url: str) -> Any:
    page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    page.set_default_timeout(60_000)
    page.goto(url, timeout=180_000)
    wait_until_usable(page)
    return page


def wait_until(condition: Any, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} within {timeout_s:.0f} s")
        time.sleep(1)


def final_events(runs_dir: Path) -> dict[str, dict[str, Any]]:
    """Last event of each run folder, by run folder name."""
    last = {}
    for metrics in sorted(runs_dir.glob("*/metrics.jsonl")):
        lines = metrics.read_text().splitlines()
        last[metrics.parent.name] = json.loads(lines[-1]) if lines else {}
    return last


def stopped_by_shutdown(runs_dir: Path) -> int:
    events = final_events(runs_dir).values()
    return sum(e.get("type") == "run_stopped" and e.get("reason") == REASON for e in events)


def cpu_percent(server: Any, kernel_id: str, seconds: float = 3.0) -> float:
    """How busy a kernel is (100 = one core): a training kernel computes all the time."""
    process = kernel_processes(server)[kernel_id]
    process.cpu_percent(None)
    time.sleep(seconds)
    return float(process.cpu_percent(None))


def test_closed_pages_lose_their_kernels_and_save_their_runs(served: Any, browser: Any) -> None:
    pages = [open_dashboard(browser, served.url) for _ in range(4)]
    kernels = [page_kernel_id(page) for page in pages]
    assert len(set(kernels)) == 4, "each page must have a kernel of its own"
    for page in pages:
        start_small_run(page, epochs=200, fine_tune=True)
    leaving, vanishing, staying = pages[0], pages[1], pages[2:]

    leaving.goto("about:blank")  # leaving the page: Voilà's shutdown request
    leaving.close()
    vanishing.close(run_before_unload=False)  # no unload handlers: only culling helps
    wait_until(
        lambda: not {kernels[0], kernels[1]} & set(kernel_processes(served)),
        CULL_WINDOW_S,
        "the closed pages' kernels did not end",
    )
    alive = set(kernel_processes(served))
    assert set(kernels[2:]) <= alive, "a kernel of an open page ended"
    assert len(alive) == 2 + POOL_SIZE, f"kernels left over: {sorted(alive)}"
    wait_until(lambda: stopped_by_shutdown(served.runs_dir) == 2, 15, "runs were not saved")

    for page, kernel in zip(staying, kernels[2:], strict=True):
        assert page.locator(".tl-status").inner_text().strip() == "running"
        assert cpu_percent(served, kernel) > 10, "an open page's kernel stopped training"

    staying[0].reload()
    wait_until_usable(staying[0])
    wait_until(
        lambda: kernels[2] not in kernel_processes(served),
        CULL_WINDOW_S,
        "the reloaded page's old kernel did not end",
    )
    wait_until(
        lambda: len(kernel_processes(served)) == 2 + POOL_SIZE,
        60,
        "a reload left an extra kernel behind",
    )
    assert stopped_by_shutdown(served.runs_dir) == 3
