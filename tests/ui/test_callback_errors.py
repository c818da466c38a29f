"""Every widget callback of the lab shows its failure in its panel's error box.

The test walks every widget of a lab (figures and an upload row made first), collects
each callback the lab registered (clicks, trait observers, plot clicks, uploads),
injects a failure into it and calls it as ipywidgets would: the exception must not
escape, and its message must appear in the error box of the panel holding the widget.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import ipywidgets as widgets
import pytest
from traitlets.traitlets import EventHandler
from ui_helpers import tiny_factory

from lab.ui import TransferLab
from lab.ui.errors import MARK


def walk(root: widgets.Widget, parents: tuple[widgets.Widget, ...] = ()) -> Iterator[Any]:
    """(widget, its ancestors) for every widget under ``root``."""
    yield root, parents
    for child in getattr(root, "children", ()):
        if isinstance(child, widgets.Widget):
            yield from walk(child, (*parents, root))


def _from_lab(callback: Any) -> bool:
    return str(getattr(callback, "__module__", "")).startswith("lab.")


def callbacks_of(widget: widgets.Widget) -> Iterator[tuple[str, Any, tuple[Any, ...]]]:
    """(where, callback, the arguments ipywidgets or plotly would pass)."""
    if isinstance(widget, widgets.Button):
        for cb in widget._click_handlers.callbacks:
            yield "click", cb, (widget,)
    for name, kinds in widget._trait_notifiers.items():
        for cb in kinds.get("change", []):
            if isinstance(cb, EventHandler):
                cb = getattr(widget, cb.name)
            if _from_lab(cb):
                change = {"name": name, "old": None, "new": getattr(widget, name, None)}
                yield f"observe {name}", cb, (change,)
    for trace in getattr(widget, "data", ()):
        for cb in getattr(trace, "_click_callbacks", []):
            yield "plot click", cb, (trace, None, None)
    for cb in getattr(widget, "_handlers", []):
        yield "upload", cb, ([],)


def panel_of(parents: tuple[widgets.Widget, ...]) -> widgets.Widget | None:
    panels = [p for p in parents if "tl-panel" in p._dom_classes]
    return panels[-1] if panels else None


def error_texts(root: widgets.Widget) -> list[str]:
    return [
        w.value
        for w, _ in walk(root)
        if isinstance(w, widgets.HTML) and "tl-error" in w._dom_classes
        if w.layout.display != "none"
    ]


@pytest.fixture
def lab() -> Iterator[TransferLab]:
    app = TransferLab(trainer_factory=tiny_factory(), runs_dir=None)
    app.results_panel.ensure_figure()
    app.compare_panel.ensure_figure()
    app.data_panel.uploads.create_class("cat")  # an upload row, with its own buttons
    yield app
    app.close()


def test_an_exception_in_any_callback_reaches_its_panels_error_box(
    lab: TransferLab, monkeypatch: pytest.MonkeyPatch
) -> None:
    found, number = [], itertools.count()
    for widget, parents in list(walk(lab)):
        for where, callback, args in callbacks_of(widget):
            label = f"{type(widget).__name__} {sorted(widget._dom_classes)} {where}"
            assert getattr(callback, MARK, False), f"{label}: not guarded"
            message = f"injected failure {next(number)}"

            def fail(*_args: Any, _message: str = message, **_kwargs: Any) -> None:
                raise RuntimeError(_message)

            target = getattr(callback, "__func__", callback)
            monkeypatch.setattr(target, "__wrapped__", fail)
            callback(*args)  # must not raise
            monkeypatch.undo()
            scope = panel_of(parents) or lab
            assert any(message in text for text in error_texts(scope)), label
            found.append(label)
    kinds = {label.rsplit(" ", 1)[-1] for label in found}
    assert len(found) >= 20 and {"click", "upload"} <= kinds, found
    assert any("plot click" in label for label in found), found
