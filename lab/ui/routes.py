"""What the pump applies: run items go to the live view, every request to its panel.

Panels and the app post requests (``ShowEpoch``, ``CompareChanged``, ``Notice``...)
to the pump instead of drawing on the thread of a click. :class:`Routes` knows which
function draws each kind; each panel says which kinds are its own (its ``requests``).
:class:`Display` is the pump's apply function for the whole lab; :func:`live_display`
builds it, for the app and for tests alike.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from lab.ui.compare_panel import CheckpointChosen, ComparePanel
from lab.ui.live import LiveView
from lab.ui.messages import NewRun, Notice, RunEvent
from lab.ui.pump import Handler, Sends
from lab.ui.results_panel import ResultsPanel
from lab.ui.train_panel import TrainPanel
from lab.ui.use_panel import UsePanel

log = logging.getLogger(__name__)


class Routes:
    """The function that draws each kind of request (one per kind, never two)."""

    def __init__(self, *routes: Mapping[type, Handler]) -> None:
        self._handlers: dict[type, Handler] = {}
        for mapping in routes:
            self.add(mapping)

    def add(self, routes: Mapping[type, Handler]) -> None:
        """Route each kind in ``routes`` to its handler; a kind routed already is refused."""
        for kind, handler in routes.items():
            if kind in self._handlers:
                raise ValueError(f"{kind.__name__}: already routed; give each request one panel")
            self._handlers[kind] = handler

    def handle(self, item: Any, sends: Sends) -> None:
        """Draw ``item`` with its handler (an item no panel takes is logged and dropped)."""
        handler = self._handlers.get(type(item))
        if handler is None:
            log.debug("ignored %r", item)
            return
        handler(item, sends)

    def apply(self, items: Iterable[Any]) -> int:
        """A pump's apply function for requests alone; returns the messages sent."""
        sends = Sends()
        for item in items:
            self.handle(item, sends)
        return sends.count


class Display:
    """The lab's pump apply function: folds run items, routes the rest, draws once."""

    def __init__(self, view: LiveView, routes: Routes) -> None:
        self.view, self.routes = view, routes

    def apply(self, items: list[Any]) -> int:
        """Apply one batch in order; returns the frontend messages it sent."""
        sends = Sends()
        for item in items:
            if isinstance(item, NewRun | RunEvent):
                self.view.fold(item, sends)
            else:
                self.routes.handle(item, sends)
        self.view.render(sends)
        return sends.count

    def failed(self, error: BaseException) -> None:
        """The pump's error handler: say so in the panel instead of only in a log."""
        text = f"The display could not update ({type(error).__name__}: {error}); training goes on."
        self.routes.handle(Notice(text, "warning"), Sends())


def live_display(
    train: TrainPanel,
    results: ResultsPanel,
    compare: ComparePanel,
    test: UsePanel,
    on_new_model: Callable[[], object] | None = None,
) -> Display:
    """The view of a run on these panels, with every request the panels handle routed.

    ``on_new_model`` is called once a run has trained its first step.
    """
    view = LiveView(train, results, compare, test, on_new_model=on_new_model)
    routes = Routes(train.requests(), results.requests(lambda: view.history), compare.requests())

    def checkpoint_chosen(item: CheckpointChosen, sends: Sends) -> None:
        compare.show_checkpoint(item, sends)
        test.checkpoint_chosen(item.text, sends)

    routes.add({CheckpointChosen: checkpoint_chosen})
    return Display(view, routes)
