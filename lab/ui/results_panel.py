"""Step 5: live loss/accuracy curves, confusion matrix per epoch, gallery and embedding.

All figures are built once and updated in place by :meth:`ResultsPanel.render`
(called by the pump). User actions (epoch slider, a click on a confusion cell, the
misclassified button) are posted to the pump as messages, so the pump stays the only
writer of these widgets.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ipywidgets as widgets
import plotly.graph_objects as go
from traitlets import Bool, Int, observe

from lab.core.training.config import EMBEDDINGS
from lab.core.training.events import EvaluationCompleted
from lab.core.training.history import RunHistory
from lab.plots import (
    confusion_data,
    curves_data,
    evaluation_at,
)
from lab.plots.curves import unfreeze_marks
from lab.plots.embedding import embedding_data
from lab.plots.results import (
    CONFUSION_TRACE,
    EMBEDDING_TRACES,
    embedding_traces,
    results_figure,
    results_titles,
)
from lab.plots.top_losses import RankedItem, ranked_items
from lab.ui.errors import guard, guarded
from lab.ui.figures import figure_widget, plotly_loader
from lab.ui.gallery import MAX_IMAGES, Gallery
from lab.ui.gradcam_view import GradcamView
from lab.ui.help_texts import help_text
from lab.ui.messages import ShowCell, ShowEpoch, ShowMisclassified, ValidationImages
from lab.ui.pump import Handler, Sends
from lab.ui.traits import Choice
from lab.ui.widgets_common import error_box, help_line, with_classes

#: The toggle's label of each of RunConfig's embedding choices.
EMBEDDING_METHODS = tuple(zip(("PCA", "t-SNE", "off"), EMBEDDINGS, strict=True))
GALLERY_ORDERS = (("top losses", "top_losses"), ("most confident correct", "confident_correct"))


class ResultsPanel(widgets.VBox):
    """Live results of the current run; ``post`` receives user requests for the pump."""

    epoch = Int(0, help="Epoch the confusion matrix and embedding show (0: none yet).")
    normalize = Bool(False, help="Confusion cells as shares of each true class.")
    embedding = Choice(
        EMBEDDINGS, "pca", help="Projection of the next run's embedding: pca, tsne or none."
    )
    order = Choice(
        [order for _, order in GALLERY_ORDERS], "top_losses",
        help="Gallery order: top_losses or confident_correct.",
    )  # fmt: skip

    def __init__(self, post: Callable[[Any], None] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.post: Callable[[Any], None] = post or (lambda item: None)
        self.images: ValidationImages | None = None
        self._shown: tuple[Any, ...] | None = None
        self._follow_latest = True
        self._drawing = False  # set while the pump moves the slider: not a user request
        self.error = error_box()
        self._build()
        self.children = [
            plotly_loader(),
            with_classes(widgets.HTML("<h3>5 · Live results</h3>"), "tl-panel-title"),
            help_line("curves"),
            help_line("confusion"),
            help_line("embedding"),
            widgets.HBox([self.epoch_slider, self.normalize_check, self.misclassified_button]),
            self.error,
            self.plot_box,
            widgets.HBox([self.method_toggle, help_line("embedding_method")]),
            help_line("gallery"),
            self.order_toggle,
            self.gallery,
            self.gradcam,
        ]
        with_classes(self, "tl-panel", "tl-results-panel")

    def _build(self) -> None:
        # Made when the first run starts: a live plotly figure costs the page a copy of
        # plotly.js, and one made while the page loads has been seen to miss updates.
        self.figure: go.FigureWidget | None = None
        placeholder = widgets.HTML("<i>Press Start in step 4: the live results appear here.</i>")
        self.placeholder = with_classes(placeholder, "tl-results-placeholder")
        self.plot_box = with_classes(widgets.VBox([placeholder]), "tl-results-box")
        self.epoch_slider = with_classes(
            widgets.IntSlider(
                value=0, min=0, max=0, description="epoch", disabled=True,
                tooltip=help_text("epoch"), continuous_update=False,
            ),
            "tl-epoch-slider",
        )  # fmt: skip
        widgets.link((self, "epoch"), (self.epoch_slider, "value"))
        self.normalize_check = with_classes(
            widgets.Checkbox(description="show shares", indent=False), "tl-confusion-normalize"
        )
        widgets.link((self, "normalize"), (self.normalize_check, "value"))
        self.misclassified_button = with_classes(
            widgets.Button(description="Show misclassified", tooltip=help_text("gallery")),
            "tl-show-misclassified",
        )
        self.misclassified_button.on_click(guard(self, lambda _b: self.post(ShowMisclassified())))
        self.method_toggle = with_classes(
            widgets.ToggleButtons(options=EMBEDDING_METHODS, description="embedding"),
            "tl-embedding-method",
        )
        self.method_toggle.style.button_width = "auto"
        widgets.link((self, "embedding"), (self.method_toggle, "value"))
        self.gallery = Gallery()
        self.order_toggle = with_classes(
            widgets.ToggleButtons(options=GALLERY_ORDERS, description="gallery"), "tl-top-losses"
        )
        self.order_toggle.style.button_width = "auto"
        widgets.link((self, "order"), (self.order_toggle, "value"))
        self.gradcam = GradcamView()
        self._cell: tuple[int, int] | None = None

    def ensure_figure(self) -> go.FigureWidget:
        """Create the live results figure (main thread, when a run starts)."""
        if self.figure is None:
            self.figure = with_classes(
                figure_widget(results_figure()),
                "tl-results-plot", "tl-loss-plot", "tl-confusion", "tl-embedding",
            )  # fmt: skip
            self.figure.data[CONFUSION_TRACE].on_click(guard(self, self._on_cell_clicked))
            self.plot_box.children = [self.figure]
        return self.figure

    # -- user actions (kernel main thread): post, never draw -------------------------
    @observe("epoch")
    @guarded
    def _on_epoch_changed(self, change: dict[str, Any]) -> None:
        if change["new"] > 0 and not self._drawing:
            self.post(ShowEpoch(change["new"]))

    @observe("order")
    @guarded
    def _on_order_changed(self, change: dict[str, Any]) -> None:
        cell = self._cell
        self.post(ShowMisclassified() if cell is None else ShowCell(*cell))

    @observe("normalize")
    @guarded
    def _on_normalize_changed(self, change: dict[str, Any]) -> None:
        self.post(ShowEpoch(self.epoch))

    def _on_cell_clicked(self, trace: Any, points: Any, selector: Any) -> None:
        names = list(trace.x or ())
        if not points.xs or not names:
            return
        true, predicted = names.index(points.ys[0]), names.index(points.xs[0])
        self.post(ShowCell(true, predicted))

    # -- written by the pump ------------------------------------------------------
    def requests(self, shown: Callable[[], RunHistory | None]) -> dict[type, Handler]:
        """The requests this panel draws, about the run ``shown()`` returns (if any)."""

        def about_shown(draw: Callable[[RunHistory, Any, Sends], None]) -> Handler:
            def handler(item: Any, sends: Sends) -> None:
                history = shown()
                if history is not None:
                    draw(history, item, sends)

            return handler

        return {
            ShowEpoch: about_shown(lambda h, item, s: self.show_epoch(h, item.epoch, s)),
            ShowCell: about_shown(
                lambda h, item, s: self.show_cell(h, item.true, item.predicted, s)
            ),
            ShowMisclassified: about_shown(lambda h, _item, s: self.show_misclassified(h, s)),
        }

    def clear(self, history: RunHistory, sends: Sends) -> None:
        """A run is being prepared: empty the curves (the rest waits for its classes)."""
        if self.figure is None:
            return
        with sends.figure(self.figure):
            self._draw_curves(history)

    def failed_to_start(self, sends: Sends, why: str = "The run failed before it started") -> None:
        """The run failed while setting up: say so instead of showing empty axes."""
        text = f"<i>{why}, so there is nothing to plot: see step 4.</i>"
        sends.set(self.placeholder, value=text)
        sends.set(self.plot_box, children=(self.placeholder,))

    def reset(self, history: RunHistory, sends: Sends) -> None:
        """The run started: a zero matrix and one embedding trace per class."""
        self._shown, self._follow_latest = None, True
        fig = self.figure
        if fig is None:
            return
        sends.set(self.plot_box, children=(fig,))  # after a run that failed to start
        sends.replace_traces(fig, embedding_traces(history), keep=EMBEDDING_TRACES, row=2, col=2)
        with sends.figure(fig):
            fig.data[CONFUSION_TRACE].update(confusion_data(history)[0])
            self._draw_titles(history, None)
            # A figure added to the page after it loaded is drawn before its box has a
            # width (plotly then falls back to 700 px); asking for autosize re-measures.
            fig.layout.autosize = True
        self._move_slider(sends, min=0, max=0, value=0, disabled=True)
        self.gallery.show("No evaluation yet", [], sends)
        self.gradcam.forget(sends)

    def render(self, history: RunHistory, new_steps: bool, new_evals: bool, sends: Sends) -> None:
        """Bring the figure up to date with ``history`` after a batch of events (one update)."""
        evaluation = None
        if new_evals and history.evaluations:
            latest = history.evaluations[-1].epoch
            target = latest if self._follow_latest else self.epoch
            self._move_slider(sends, max=latest, min=history.evaluations[0].epoch, disabled=False)
            evaluation = self._select(history, target, sends)
        if self.figure is not None and (new_steps or new_evals or evaluation is not None):
            with sends.figure(self.figure):
                self._draw_curves(history)
                if evaluation is not None:
                    self._draw_epoch(history, evaluation)
        if evaluation is not None:
            self.show_misclassified(history, sends)

    def show_epoch(self, history: RunHistory, epoch: int, sends: Sends) -> None:
        """Draw the confusion matrix, embedding and misclassified gallery of ``epoch``."""
        evaluation = self._select(history, epoch, sends)
        if evaluation is None or self.figure is None:
            return
        with sends.figure(self.figure):
            self._draw_epoch(history, evaluation)
        self.show_misclassified(history, sends)

    def _select(self, history: RunHistory, epoch: int, sends: Sends) -> EvaluationCompleted | None:
        """The evaluation to draw for ``epoch``, or None if it is drawn already."""
        evaluation = evaluation_at(history, epoch)
        if evaluation is None:
            return None
        self._follow_latest = evaluation is history.evaluations[-1]
        self._move_slider(sends, value=epoch)
        key = (id(history), epoch, self.normalize, len(history.evaluations))
        if key == self._shown:
            return None
        self._shown = key
        return evaluation

    def _move_slider(self, sends: Sends, **values: Any) -> None:
        self._drawing = True
        try:
            sends.set(self.epoch_slider, **values)
        finally:
            self._drawing = False

    # inside a figure batch ---------------------------------------------------------
    def _draw_curves(self, history: RunHistory) -> None:
        assert self.figure is not None
        for trace, data in zip(self.figure.data, curves_data(history), strict=False):
            trace.update(data)
        shapes, notes = unfreeze_marks(history)
        layout = self.figure.layout
        if len(shapes) != len(layout.shapes or ()):
            titles = [a for a in layout.annotations if a.name != "tl-unfreeze-note"]
            layout.shapes = shapes
            layout.annotations = [*titles, *notes]

    def _draw_epoch(self, history: RunHistory, evaluation: EvaluationCompleted) -> None:
        assert self.figure is not None
        epoch = evaluation.epoch
        (confusion,) = confusion_data(history, epoch, self.normalize)
        self.figure.data[CONFUSION_TRACE].update(confusion)
        traces = self.figure.data[EMBEDDING_TRACES:]
        if len(traces) == len(history.class_names):
            for trace, data in zip(traces, embedding_data(history, epoch), strict=True):
                trace.update(data)
        self._draw_titles(history, epoch)

    def _draw_titles(self, history: RunHistory, epoch: int | None) -> None:
        assert self.figure is not None
        for annotation, text in zip(
            self.figure.layout.annotations, results_titles(history, epoch), strict=False
        ):
            annotation.text = text

    def show_misclassified(self, history: RunHistory, sends: Sends) -> None:
        """Gallery of the shown epoch's mistakes by loss (or its surest correct answers)."""
        evaluation = evaluation_at(history, self.epoch or None)
        if evaluation is None or self.images is None:
            return
        self._cell = None
        items = ranked_items(self.images.labels, evaluation, self.order)
        what = "Top losses" if self.order == "top_losses" else "Most confident correct"
        title = f"{what} (predicted/true/probability), epoch {evaluation.epoch}"
        self._show_items(history, title, items, sends)

    def show_cell(self, history: RunHistory, true: int, predicted: int, sends: Sends) -> None:
        """Gallery of the validation images behind confusion cell (``true``, ``predicted``)."""
        evaluation = evaluation_at(history, self.epoch or None)
        if evaluation is None or self.images is None:
            return
        self._cell = (true, predicted)
        names = history.class_names
        items = ranked_items(self.images.labels, evaluation, self.order, cell=(true, predicted))
        title = f"True {names[true]}, predicted {names[predicted]}, epoch {evaluation.epoch}"
        self._show_items(history, title, items, sends)

    def _show_items(
        self, history: RunHistory, title: str, ranked: list[RankedItem], sends: Sends
    ) -> None:
        assert self.images is not None
        names = history.class_names
        shown = ranked[:MAX_IMAGES]
        items = [(self.images.image(r.position), r.caption(names)) for r in shown]
        self.gallery.show(title, items, sends, total=len(ranked))
        self.gradcam.offer(
            self.images,
            [
                (f"{i + 1}: {c}", r.position)
                for i, (r, (_, c)) in enumerate(zip(shown, items, strict=True))
            ],
            sends,
        )
