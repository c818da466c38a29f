"""Step 7: the final test score, predicting on an uploaded image, exporting the model.

The test score is written by the pump when a run ends. Prediction and export are
user actions answered on the kernel's main thread; the pump only hides a prediction
once a new run has trained (it was the old model's).
"""

from __future__ import annotations

import html
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ipywidgets as widgets
import plotly.graph_objects as go
from PIL import Image, UnidentifiedImageError

from lab.core.serving.settings import LabSettings, current
from lab.core.training.events import RunCompleted
from lab.core.training.history import RunHistory
from lab.plots import apply_trace_data, topk_data, topk_figure
from lab.ui.browser_files import FileDrop
from lab.ui.errors import guard
from lab.ui.figures import figure_widget, plotly_loader
from lab.ui.gradcam_view import GradcamView
from lab.ui.help_texts import help_text
from lab.ui.pump import Sends
from lab.ui.take_home import TakeHome
from lab.ui.widgets_common import clear_error, error_box, help_line, show_error, with_classes

#: Export formats offered, as (button label, format name passed to the exporter).
EXPORTS = [
    ("Export state dict", "state_dict"),
    ("Export TorchScript", "torchscript"),
    ("Export ONNX", "onnx"),
]

#: ``exporter(trainer, format, directory) -> written path``.
Exporter = Callable[[Any, str, Path], Path]


def uploaded_image(value: Any) -> Image.Image:
    """The first file of a ``FileUpload`` value as an RGB image (clear error otherwise)."""
    files = list(value or ())
    if not files:
        raise ValueError("no file uploaded: choose an image file (PNG, JPEG, ...)")
    upload = files[0]
    try:
        image = Image.open(io.BytesIO(bytes(upload["content"])))
        return image.convert("RGB")
    except (UnidentifiedImageError, OSError) as error:
        name = upload.get("name", "the file")
        raise ValueError(f"{name} is not an image Pillow can read: upload a PNG or JPEG") from error


def _default_exporter(trainer: Any, kind: str, directory: Path) -> Path:
    """Export ``trainer``'s model as ``kind`` into ``directory / run id``."""
    written = trainer.export(directory / trainer.run_id, formats=[kind])
    return Path(written[kind])


class UsePanel(widgets.VBox):
    """Final test accuracy, top-5 prediction on an uploaded image, downloads and exports.

    Browser downloads are always offered; exports to a server folder only in JupyterLab
    mode (``settings``, default :func:`lab.core.serving.settings.current`), where the server is
    the user's own machine.
    """

    def __init__(
        self,
        trainer: Callable[[], Any] | None = None,
        exporter: Exporter | None = None,
        export_dir: str | Path = "exports",
        settings: LabSettings | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.settings = settings or current()
        self.trainer: Callable[[], Any] = trainer or (lambda: None)
        self.exporter: Exporter = exporter or _default_exporter
        self.export_dir = Path(export_dir)
        self.test_acc = with_classes(widgets.HTML(self._waiting()), "tl-test-acc")
        self.test_acc.tooltip = help_text("test")
        # Not ipywidgets' FileUpload: it sends a file in one message, and one over the
        # server's websocket limit drops the connection without a word.
        self.upload = with_classes(
            FileDrop(self.settings.limits, accept="image/*", description="Upload image"),
            "tl-upload",
        )
        self.upload.on_upload(guard(self, self._on_uploaded))
        self.upload.on_error(
            lambda message: show_error(self.error, f"Could not predict: {message}")
        )
        self.preview = with_classes(widgets.Image(format="png", width=160), "tl-upload-preview")
        self.preview.layout.display = "none"
        # Made on first use: every live plotly figure costs the page a copy of plotly.js.
        self.prediction: go.FigureWidget | None = None
        self.prediction_box = widgets.Box([])
        self.predict_note = with_classes(widgets.HTML(""), "tl-predict-note")
        self.error = error_box()
        self.export_buttons = []
        for label, kind in EXPORTS:
            button = widgets.Button(description=label, icon="download", tooltip=help_text("export"))
            button.on_click(guard(self, lambda _b, kind=kind: self.export(kind)))
            self.export_buttons.append(with_classes(button, f"tl-export-{kind.replace('_', '-')}"))
        self.export_info = with_classes(widgets.HTML(""), "tl-export-info")
        self.take_home = TakeHome(lambda: self.trainer())
        self.gradcam = GradcamView(trainer=lambda: self.trainer(), gallery=False)
        exports: list[widgets.Widget] = [help_line("export"), widgets.HBox(self.export_buttons)]
        if self.settings.dashboard:
            exports = []
        self.children = [
            plotly_loader(),
            with_classes(widgets.HTML("<h3>7 · Test and use</h3>"), "tl-panel-title"),
            help_line("test"),
            self.test_acc,
            help_line("predict"),
            widgets.HBox([widgets.VBox([self.upload, self.preview]), self.prediction_box]),
            self.predict_note,
            self.error,
            self.gradcam,
            self.take_home,
            *exports,
            self.export_info,
        ]
        with_classes(self, "tl-panel", "tl-use-panel")

    @staticmethod
    def _waiting() -> str:
        return "<i>The test accuracy appears here when a run completes.</i>"

    # -- written by the pump ------------------------------------------------------
    def reset(self, sends: Sends) -> None:
        sends.set(self.test_acc, value=self._waiting())

    def model_changed(self, sends: Sends, why: str = "A new model is training") -> None:
        """A new run trains: the prediction shown was the previous model's, so hide it."""
        if self.prediction is None and self.preview.layout.display == "none":
            return
        sends.show(self.preview, False)
        sends.show(self.prediction_box, False)
        text = f"<i>{why}: upload an image again to see its prediction.</i>"
        sends.set(self.predict_note, value=text)

    def checkpoint_chosen(self, text: str, sends: Sends) -> None:
        """A saved run's best checkpoint is the model now (``text`` says which)."""
        note = " Upload an image to predict with it, or download it below."
        sends.set(self.test_acc, value=html.escape(text) + note)
        self.model_changed(sends, "Another model was chosen")

    def show_final(self, history: RunHistory, sends: Sends) -> None:
        """The test score of a completed run, or why there is none."""
        final = history.final
        if isinstance(final, RunCompleted) and final.test is not None:
            text = (
                f"Test accuracy: <b>{final.test.acc:.1%}</b> on {final.test.n} held-out images "
                f"(loss {final.test.loss:.3f})."
            )
        elif isinstance(final, RunCompleted):
            text = "The run completed; this data has no test split to score."
        elif not history.steps:
            text = (
                f"The run {history.state} before it trained: predictions and exports "
                "still use the last trained model, if there is one."
            )
        else:
            text = (
                f"The run {history.state} before the test; the model keeps what it learned, "
                "so you can still predict and export."
            )
        sends.set(self.test_acc, value=text)

    # -- user actions (main thread) -----------------------------------------------
    def _usable_trainer(self) -> Any:
        trainer = self.trainer()
        if trainer is None or trainer.state == "idle":
            raise RuntimeError("no trained model yet: press Start in step 4 first")
        return trainer

    def _on_uploaded(self, files: list[tuple[str, bytes]]) -> None:
        self.predict_upload([{"name": name, "content": data} for name, data in files])

    def predict_upload(self, value: Any) -> list[tuple[str, float]]:
        """Predict the top 5 classes of an uploaded file and draw them."""
        clear_error(self.error)
        try:
            image = uploaded_image(value)
            return self.predict_image(image)
        except Exception as error:  # noqa: BLE001 - shown in the panel, not as a traceback
            show_error(self.error, f"Could not predict: {error}")
            return []

    def predict_image(self, image: Image.Image, k: int = 5) -> list[tuple[str, float]]:
        """Top-``k`` predictions of the current model for ``image``, drawn as bars."""
        top = self._usable_trainer().predict(image, k=k)
        self.gradcam.explain(image)
        thumb = image.copy()
        thumb.thumbnail((160, 160))
        buffer = io.BytesIO()
        thumb.save(buffer, format="PNG")
        with self.preview.hold_sync():
            self.preview.value = buffer.getvalue()
        self.preview.layout.display = None
        self.prediction_box.layout.display = None
        self.predict_note.value = ""
        if self.prediction is None:
            self.prediction = with_classes(figure_widget(topk_figure()), "tl-predict-plot")
            self.prediction.layout.width = 420
            self.prediction_box.children = [self.prediction]
        with self.prediction.batch_update():
            apply_trace_data(self.prediction, topk_data([n for n, _ in top], [p for _, p in top]))
        return list(top)

    def export(self, kind: str) -> Path | None:
        """Export the current model as ``kind``; the path (or the problem) is shown."""
        clear_error(self.error)
        try:
            path = self.exporter(self._usable_trainer(), kind, self.export_dir)
        except Exception as error:  # noqa: BLE001 - shown in the panel
            show_error(self.error, f"Could not export ({kind}): {error}")
            return None
        self.export_info.value = f"Saved <code>{html.escape(str(path))}</code>"
        return path
