"""The lab's notebooks run top to bottom in a real kernel and show the lab widget."""

from __future__ import annotations

import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
#: Appended to lab.ipynb (which names the widget ``lab``): loading started nothing.
IDLE_CHECK = "assert lab.trainer is None and not lab.pump.running, (lab.trainer, lab.pump.running)"


@pytest.mark.parametrize("name", ["lab.ipynb", "dashboard.ipynb"])
def test_notebook_runs_and_shows_the_lab(name: str, tmp_path: Path) -> None:
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    if name == "lab.ipynb":
        notebook.cells.append(nbformat.v4.new_code_cell(IDLE_CHECK))
    client = NotebookClient(
        notebook, timeout=180, kernel_name="python3", resources={"metadata": {"path": tmp_path}}
    )
    began = time.monotonic()
    client.execute()  # raises CellExecutionError on any failing cell
    elapsed = time.monotonic() - began
    outputs = [out for cell in notebook.cells if cell.cell_type == "code" for out in cell.outputs]
    assert not [out for out in outputs if out.output_type == "error"]
    views = [out for out in outputs if WIDGET_VIEW in out.get("data", {})]
    assert len(views) == 1, "the notebook should show exactly one widget: the lab"
    assert not list(tmp_path.iterdir())  # nothing written to disk at load
    print(f"{name}: executed in {elapsed:.1f}s")
