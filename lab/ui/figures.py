"""Plotly figure widgets that share one copy of plotly's JavaScript bundle.

A plain ``go.FigureWidget`` ships plotly's ~5 MB widget bundle as its own anywidget
module, so a page with eight figures loads eight copies. anywidget gives each widget's
``initialize`` two seconds; a figure whose copy loads slower silently drops every later
update, and in Voilà the live plots then stay empty. Here the bundle loads once, in
:func:`plotly_loader`, and each figure gets a tiny module that waits for it without
making anywidget wait. The bundle follows the page's first render, so the controls
show without waiting for it.
"""

from __future__ import annotations

import copy
import functools
import pathlib
import re
import warnings
from typing import Any

import anywidget
import ipywidgets as widgets
import plotly.basewidget
import plotly.graph_objects as go

# Why the bundle is shared: with one copy per figure, a page of eight figures parses
# ~40 MB of JavaScript, and anywidget drops every update of a figure whose copy takes
# over two seconds to load, so live plots stay empty in Voilà. plotly has no option for
# a shared bundle, so its minified build is rewritten: the closing
# ``export{A as FigureModel,B as FigureView,C as default}`` becomes a global the figures'
# tiny modules wait for, where ``C`` is anywidget's ``() => {initialize, render}``
# factory. tests/ui/test_figures.py pins that layout; an upgrade that changes it fails
# there (and here the figures fall back to one bundle each, with a warning).
_BUNDLE = pathlib.Path(plotly.basewidget.__file__).parent / "package_data" / "widgetbundle.js"
_EXPORT = re.compile(r"export\s*\{(\w+) as FigureModel,(\w+) as FigureView,(\w+) as default\}")

_FIGURE_ESM = """
function shared() {
  return new Promise((resolve) => {
    const check = () => globalThis.__transferLabPlotly
      ? resolve(globalThis.__transferLabPlotly) : setTimeout(check, 50);
    check();
  });
}
export default () => {
  let inner = null;
  let ready = null;
  return {
    initialize(ctx) {
      // Not awaited: anywidget allows initialize two seconds, the bundle may take longer.
      ready = shared().then((p) => { inner = p.factory(); return inner.initialize(ctx); });
    },
    async render(ctx) {
      await ready;
      return inner.render(ctx);
    },
  };
};
"""


@functools.cache
def _loader_esm() -> str | None:
    """plotly's bundle rewritten to publish its widget factory instead of exporting it."""
    text = _BUNDLE.read_text(encoding="utf-8") if _BUNDLE.exists() else ""
    matches = list(_EXPORT.finditer(text))
    if len(matches) != 1:
        warnings.warn(
            f"plotly {plotly.__version__}'s widget bundle has an unexpected layout; "
            "figures fall back to one bundle each",
            stacklevel=2,
        )
        return None
    match = matches[0]
    publish = f"globalThis.__transferLabPlotly={{factory:{match.group(3)}}};"
    return (
        text[: match.start()]
        + publish
        + "export default {initialize(){},render(){}};"
        + text[match.end() :]
    )


class SharedFigureWidget(go.FigureWidget):
    """A FigureWidget whose frontend code waits for the shared bundle."""

    _esm = _FIGURE_ESM


_PAGE_READY_ESM = """
export default {
  render({ model }) {
    // Once the page has drawn its widgets and the browser is idle, tell the kernel:
    // the heavy bundle may follow now without holding back the first clicks.
    const later = globalThis.requestIdleCallback || ((f) => setTimeout(f, 200));
    later(() => model.send({ rendered: true }), { timeout: 2000 });
  },
};
"""


class _PageReady(anywidget.AnyWidget):
    """Reports the first render of a page; ``on_rendered`` runs then (kernel thread)."""

    _esm = _PAGE_READY_ESM

    def __init__(self, on_rendered: Any) -> None:
        super().__init__()
        self._on_rendered = on_rendered
        self.on_msg(self._on_message)

    def _on_message(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if isinstance(content, dict) and content.get("rendered"):
            self._on_rendered()


#: Public name: a hidden widget that runs a callback once the page has drawn itself.
PageReady = _PageReady


@functools.cache
def _bundle_loader() -> anywidget.AnyWidget:
    esm = _loader_esm() or "export default {render(){}};"
    loader_class = type("PlotlyLoader", (anywidget.AnyWidget,), {"_esm": esm})
    loader: anywidget.AnyWidget = loader_class()
    loader.layout.display = "none"
    return loader


@functools.cache
def plotly_loader() -> widgets.Box:
    """The one loader; put it on the page (any number of times) before figures.

    It is a hidden box that first holds only a tiny widget: once the page has drawn
    itself, the ~5 MB plotly bundle goes in. Sent with the page, the bundle would hold
    back every control (the Start button included) by seconds while the browser parses
    it; figures wait for it anyway, controls need not.
    """
    box = widgets.Box([])
    box.layout.display = "none"

    def load_bundle() -> None:
        if _bundle_loader() not in box.children:
            box.children = (_bundle_loader(),)

    box.children = (_PageReady(load_bundle),)
    return box


def sync_figure(fig: go.FigureWidget) -> int:
    """Copy a FigureWidget's current data and layout into its synced state traits.

    Plotly sends in-place changes as deltas that only views alive at that moment apply.
    A view created later (a tab shown for the first time, Voilà connecting after the
    notebook ran, a reloaded page) draws from ``_widget_data`` / ``_widget_layout``,
    which plotly fills only at construction; keeping them current makes late views show
    the figure as it is. Call after each batch of updates (``Sends.figure`` does).
    Returns the messages sent: one per trait that changed.
    """
    sent = 0
    for trait, current in (("_widget_data", fig._data), ("_widget_layout", fig._layout)):
        value = copy.deepcopy(current)
        try:
            same = bool(value == getattr(fig, trait))
        except (TypeError, ValueError):  # arrays inside: compare fails, send anyway
            same = False
        if not same:
            setattr(fig, trait, value)
            sent += 1
    return sent


def figure_widget(data: Any = None, **kwargs: Any) -> go.FigureWidget:
    """A live figure widget; arguments as for ``go.FigureWidget``.

    Pages that show it must also show :func:`plotly_loader` (the panels include it).
    """
    if _loader_esm() is None:
        return go.FigureWidget(data, **kwargs)
    return SharedFigureWidget(data, **kwargs)


def split_chart(colours: dict[str, str]) -> go.FigureWidget:
    """An empty stacked bar chart of images per class, one bar trace per split in ``colours``."""
    bars = [
        go.Bar(name=split, marker_color=colour, x=[], y=[]) for split, colour in colours.items()
    ]
    chart = figure_widget(data=bars)
    chart.update_layout(
        barmode="stack",
        height=260,
        margin={"l": 40, "r": 10, "t": 30, "b": 60},
        # Legend top left: plotly's toolbar sits top right and would cover it.
        legend={"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0, "xanchor": "left"},
    )
    chart.layout.yaxis.title.text = "images per class"
    sync_figure(chart)
    return chart
