"""Download buttons: the trained model, its metadata, the metrics and the confusion matrix.

Each button asks the kernel for its file when clicked (nothing is built before), and
the page saves it with a browser download, so it works the same in JupyterLab and in a
served dashboard, where the participant cannot reach the server's disk.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ipywidgets as widgets

from lab.core.runs import take_home
from lab.ui.browser_files import DownloadButton, FileMaker
from lab.ui.widgets_common import clear_error, error_box, help_line, show_error, with_classes

#: (button label, CSS suffix): ``tl-download-<suffix>``.
DOWNLOADS = (
    ("model state dict (.pt)", "state-dict"),
    ("model metadata (.json)", "metadata"),
    ("TorchScript (.pt)", "torchscript"),
    ("ONNX (.onnx)", "onnx"),
    ("metrics (.csv)", "metrics"),
    ("metrics (.json)", "metrics-json"),
    ("confusion matrix (.csv)", "confusion"),
)


class TakeHome(widgets.VBox):
    """The download buttons of the test panel; ``trainer()`` gives the current trainer."""

    def __init__(self, trainer: Callable[[], Any]) -> None:
        super().__init__()
        self.trainer = trainer
        self.error = error_box()
        self.buttons: dict[str, DownloadButton] = {}
        for label, suffix in DOWNLOADS:
            button = DownloadButton(self._maker(suffix), self._failed, description=label)
            self.buttons[suffix] = with_classes(button, f"tl-download-{suffix}")
        self.children = [
            help_line("take_home"),
            widgets.HBox(list(self.buttons.values())),
            self.error,
        ]
        with_classes(self, "tl-take-home")

    def download(self, suffix: str) -> tuple[str, str, bytes] | None:
        """Build the file behind button ``suffix`` and send it to the page."""
        clear_error(self.error)
        return self.buttons[suffix].make()

    def _failed(self, message: str) -> None:
        show_error(self.error, message)

    def _current(self) -> Any:
        trainer = self.trainer()
        if trainer is None or trainer.state == "idle":
            raise RuntimeError("no trained model yet: press Start in step 4 first")
        return trainer

    def _maker(self, suffix: str) -> FileMaker:
        def make() -> tuple[str, str, bytes]:
            clear_error(self.error)
            trainer = self._current()
            history, name = trainer.history, trainer.run_id
            if suffix == "metadata":
                return take_home.model_metadata(trainer)
            if suffix == "metrics":
                return take_home.metrics_csv(history, name)
            if suffix == "metrics-json":
                return take_home.metrics_json(history, name)
            if suffix == "confusion":
                return take_home.confusion_csv(history, name)
            return take_home.model_file(trainer, suffix.replace("-", "_"))

        return make
