"""Step 1 in a real browser: rank the offline models on the data, choose the top one by
clicking its row, and see the model panel take it."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from dashboard_steps import set_slider, wait_until_usable

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

DASHBOARD = Path(__file__).resolve().parents[2] / "notebooks" / "dashboard.ipynb"
PROBE_TIMEOUT_MS = 180_000  # four backbones and a twin on a shared CPU


@pytest.fixture(scope="module")
def lab_server(
    voila_server_factory: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Any]:
    folder = tmp_path_factory.mktemp("choose")
    notebook = Path(shutil.copy(DASHBOARD, folder / DASHBOARD.name))
    server = voila_server_factory(notebook, LAB_CACHE_DIR=str(folder / "cache"))
    yield server
    server.stop()


def test_rank_on_my_data_and_choose_the_top_model_by_its_row(page: Any, lab_server: Any) -> None:
    page.goto(lab_server.url, timeout=180_000)  # Voilà runs the notebook before it answers
    wait_until_usable(page)
    page.locator(".tl-probe-run").wait_for(state="visible")  # step 1 is open on arrival
    assert page.locator(".tl-latency").is_visible()
    set_slider(page, "tl-probe-n", "5")
    page.locator(".tl-probe-run").click()
    rows = page.locator(".tl-probe-table .tl-probe-choose")
    rows.first.wait_for(timeout=PROBE_TIMEOUT_MS)
    assert "indistinguishable" in page.locator(".tl-probe-status").inner_text() or (
        "ahead" in page.locator(".tl-probe-status").inner_text()
    )
    top = rows.first.inner_text().strip()
    assert rows.count() >= 2 and "(random init)" not in top  # pretraining beats the twin
    rows.first.click()
    page.locator(".tl-model-info", has_text=top).wait_for()
    assert page.locator(".tl-model-select select").input_value().startswith(top)
    assert "random init" not in page.locator(".tl-model-info").inner_text()
    errors = [e for e in page.locator(".tl-error").all_inner_texts() if e.strip()]
    assert errors == []
