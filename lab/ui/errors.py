"""No exception escapes a widget callback: it is shown in the panel's error box.

An exception raised in a click or trait observer goes to the kernel's log, which a
participant of a served dashboard never sees: the click seems to do nothing. Every
callback the lab registers is wrapped by :func:`guard` (or, for methods,
:func:`guarded`), which shows ``what failed: the message`` in the panel's error box
and logs the traceback.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, TypeVar

import ipywidgets as widgets

from lab.ui.widgets_common import show_error

log = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable[..., Any])
#: Marks a wrapped callback (tests check that every registered one carries it).
MARK = "_tl_guarded"


def _describe(callback: Callable[..., Any], error: Exception) -> str:
    text = str(error.args[0]) if isinstance(error, KeyError) and error.args else str(error)
    name = getattr(callback, "__name__", "")
    what = "this action" if name in ("", "<lambda>") else name.strip("_").replace("_", " ")
    return f"{what} failed: {type(error).__name__}: {text}" if text else f"{what} failed"


def report(box: widgets.HTML, callback: Callable[..., Any], error: Exception) -> None:
    """Log ``error`` and show it in ``box`` (an :func:`~lab.ui.widgets_common.error_box`)."""
    log.exception("a widget callback raised", exc_info=error)
    try:
        show_error(box, _describe(callback, error))
    except Exception:  # a closed widget: the log above keeps it
        log.exception("could not show the error")


def guard(box: widgets.HTML | Any, callback: F) -> F:
    """``callback`` that shows its exceptions in ``box`` instead of raising.

    ``box`` is an error box, or a panel whose ``error`` box is looked up at call time.
    """

    @functools.wraps(callback)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            # Through __wrapped__: a test injects a failure there.
            return wrapper.__wrapped__(*args, **kwargs)
        except Exception as error:
            target = box if isinstance(box, widgets.HTML) else box.error
            report(target, callback, error)
            return None

    setattr(wrapper, MARK, True)
    return wrapper  # type: ignore[return-value]


def guarded(method: F) -> F:
    """Decorator for a panel method used as a callback: errors go to ``self.error``."""

    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return wrapper.__wrapped__(self, *args, **kwargs)
        except Exception as error:
            box = getattr(self, "error", None)
            if box is None:  # failed while the panel is being built: nowhere to show it
                raise
            report(box, method, error)
            return None

    setattr(wrapper, MARK, True)
    return wrapper  # type: ignore[return-value]
