"""The shared plotly bundle: what lab.ui.figures relies on in plotly's minified build.

``figures.py`` rewrites plotly's ``widgetbundle.js`` so the ~5 MB bundle loads once per
page instead of once per figure. It relies on three things in that file; a plotly
release that changes any of them fails here, by name, instead of silently giving every
figure its own bundle again (the slow pages and empty live plots the sharing prevents).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import plotly
import plotly.graph_objects as go
import pytest

from lab.ui import figures

UPGRADE = (
    f"plotly {plotly.__version__} changed its widget bundle ({figures._BUNDLE}); "
    "update _EXPORT and _FIGURE_ESM in lab/ui/figures.py to its new layout"
)


@pytest.fixture
def bundle() -> str:
    assert figures._BUNDLE.is_file(), f"{UPGRADE}: the file is gone"
    return figures._BUNDLE.read_text(encoding="utf-8")


@pytest.fixture
def fresh_loader() -> Iterator[None]:
    figures._loader_esm.cache_clear()
    yield
    figures._loader_esm.cache_clear()


def test_the_bundle_has_one_export_of_model_view_and_widget(bundle: str) -> None:
    matches = list(figures._EXPORT.finditer(bundle))
    assert len(matches) == 1, (
        f"{UPGRADE}: expected one 'export{{A as FigureModel,B as FigureView,C as default}}', "
        f"found {len(matches)}"
    )


def test_the_default_export_is_a_factory_of_initialize_and_render(bundle: str) -> None:
    # _FIGURE_ESM calls the published factory, then initialize(ctx) and render(ctx) on
    # what it returns: anywidget's function form of a widget.
    (match,) = figures._EXPORT.finditer(bundle)
    name = re.escape(match.group(3))
    definition = re.search(rf"(?:var|let|const)\s+{name}\s*=\s*\(\)\s*=>", bundle)
    assert definition is not None, f"{UPGRADE}: {match.group(3)} is no longer '() => ...'"
    body = bundle[definition.end() : match.start()]
    assert "initialize(" in body and "render(" in body, (
        f"{UPGRADE}: {match.group(3)}() no longer returns initialize and render"
    )


def test_figures_share_the_bundle(fresh_loader: None) -> None:
    esm = figures._loader_esm()
    assert esm is not None, f"{UPGRADE}: the rewrite found no export to replace"
    assert "globalThis.__transferLabPlotly={factory:" in esm
    assert not list(figures._EXPORT.finditer(esm))  # plotly's own export is gone
    assert isinstance(figures.figure_widget(), figures.SharedFigureWidget)
    assert "__transferLabPlotly" in figures.SharedFigureWidget._esm


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node to parse JavaScript")
def test_the_rewritten_bundle_is_valid_javascript(fresh_loader: None, tmp_path: Path) -> None:
    esm = figures._loader_esm()
    assert esm is not None, UPGRADE
    module = tmp_path / "loader.mjs"
    module.write_text(esm, encoding="utf-8")
    checked = subprocess.run(
        ["node", "--check", str(module)], capture_output=True, text=True, timeout=120
    )
    assert checked.returncode == 0, f"{UPGRADE}: the rewrite does not parse:\n{checked.stderr}"


def test_an_unknown_layout_falls_back_to_one_bundle_per_figure_with_a_warning(
    fresh_loader: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    changed = tmp_path / "widgetbundle.js"
    changed.write_text("var a=()=>({});export{a as FigureWidgetModel};", encoding="utf-8")
    monkeypatch.setattr(figures, "_BUNDLE", changed)
    with pytest.warns(UserWarning, match=f"plotly {re.escape(plotly.__version__)}"):
        assert figures._loader_esm() is None
    figure = figures.figure_widget()
    assert isinstance(figure, go.FigureWidget)
    assert not isinstance(figure, figures.SharedFigureWidget)
