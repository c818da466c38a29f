"""Smoke test: ``notebooks/lab.ipynb`` runs in JupyterLab and the lab's panels render.

JupyterLab serves a temporary copy of the notebook (nothing is saved into the checkout);
the test runs all cells from the Run menu, as a person would.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.e2e

LAB_NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "lab.ipynb"
PANELS = ("tl-model-panel", "tl-data-panel", "tl-approach-panel", "tl-train-panel")
SCATTER_POINTS_JS = """() => {
    const host = document.querySelector('.tl-model-scatter');
    const el = host && (host.classList.contains('js-plotly-plot')
        ? host : host.querySelector('.js-plotly-plot'));
    return el && el.data && el.data[0] && el.data[0].x ? el.data[0].x.length : 0;
}"""


def test_lab_notebook_runs_in_jupyterlab_and_shows_the_panels(
    page: Any,
    jupyterlab_server_factory: Any,
    tmp_path: Path,
    console_log: list[str],
    screenshot: Any,
    artifacts_dir: Path,
) -> None:
    if not LAB_NOTEBOOK.exists():
        pytest.fail(f"{LAB_NOTEBOOK} is missing: it is the lab's JupyterLab notebook")
    root = tmp_path / "root"
    root.mkdir()
    shutil.copy(LAB_NOTEBOOK, root / LAB_NOTEBOOK.name)
    server = jupyterlab_server_factory(root)

    page.goto(f"{server.url}lab/tree/{LAB_NOTEBOOK.name}")
    page.locator(".jp-Notebook").wait_for(timeout=90_000)
    page.get_by_text(re.compile(r"\| Idle$")).wait_for(timeout=90_000)  # kernel started
    page.locator(".lm-MenuBar-item", has_text="Run").first.click()
    page.locator(".lm-Menu-item", has_text="Run All Cells").first.click()

    page.locator(".tl-app").wait_for(timeout=120_000)
    for panel in PANELS:
        assert page.locator(f".{panel}").count() == 1, f"{panel} is not on the page"
    # The catalog scatter is a plotly FigureWidget: points in the DOM mean it rendered.
    page.wait_for_function(f"({SCATTER_POINTS_JS})() > 0")
    assert page.get_by_text("Error displaying widget").count() == 0
    assert [line for line in console_log if line.startswith("pageerror")] == []
    screenshot(page, artifacts_dir / "jupyterlab-lab.png")
