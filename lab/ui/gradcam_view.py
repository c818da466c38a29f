"""Where the model looks: a Grad-CAM overlay with an opacity slider.

Used under the results gallery (choose one of its images) and in step 7 (the uploaded
image). The map is computed once per image on a click; the slider only re-blends it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import ipywidgets as widgets
import numpy as np
from PIL import Image
from traitlets import Float, observe

from lab.plots.gradcam import overlay_png
from lab.ui.errors import guard, guarded
from lab.ui.messages import ValidationImages
from lab.ui.pump import Sends
from lab.ui.widgets_common import error_box, with_classes

HELP = (
    "Grad-CAM: red marks the regions whose features raised the predicted class's score "
    "most (read at the last layer group with a spatial layout)."
)


class GradcamView(widgets.VBox):
    """Grad-CAM of one image under the current model; ``trainer`` gives that model."""

    opacity = Float(0.5, min=0.0, max=1.0, help="Heatmap opacity over the image (0-1).")

    def __init__(
        self, trainer: Callable[[], Any] | None = None, gallery: bool = True, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.trainer: Callable[[], Any] = trainer or (lambda: None)
        self._images: ValidationImages | None = None
        self._current: tuple[Image.Image, np.ndarray] | None = None
        self.choice = with_classes(
            widgets.Dropdown(options=[], description="image"), "tl-gradcam-choice"
        )
        self.button = with_classes(
            widgets.Button(description="Where does it look?", tooltip=HELP), "tl-gradcam-show"
        )
        self.button.on_click(guard(self, lambda _b: self.explain_choice()))
        self.slider = with_classes(
            widgets.FloatSlider(value=0.5, min=0, max=1, step=0.05, description="opacity"),
            "tl-gradcam-opacity",
        )
        widgets.link((self, "opacity"), (self.slider, "value"))
        self.caption = with_classes(widgets.HTML(""), "tl-gradcam-caption")
        self.image = with_classes(widgets.Image(format="png"), "tl-gradcam-image")
        self.image.layout.display = "none"
        controls = [self.choice, self.button, self.slider] if gallery else [self.slider]
        self.error = error_box()
        self.children = [
            widgets.HBox(controls),
            self.caption,
            self.image,
            self.error,
        ]
        with_classes(self, "tl-gradcam")

    def offer(
        self, images: ValidationImages, options: Sequence[tuple[str, int]], sends: Sends
    ) -> None:
        """The gallery's images as choices (the pump calls this with the gallery)."""
        self._images = images
        sends.set(self.choice, options=list(options))

    def forget(self, sends: Sends) -> None:
        """A new run started: let the previous run's images go (the pump calls this)."""
        self._images = None
        sends.set(self.choice, options=[])

    def explain_choice(self) -> None:
        """Grad-CAM of the gallery image chosen in the dropdown."""
        if self._images is None or self.choice.value is None:
            self._say("Show a gallery first (train a model, then pick an image).")
            return
        self.explain(self._images.image(int(self.choice.value)))

    def explain(self, image: Image.Image) -> None:
        """Compute and show the map of ``image`` for the current model's prediction."""
        trainer = self.trainer()
        if trainer is None:
            self._say("Train a model first: Grad-CAM shows where a trained model looks.")
            return
        try:
            cam = trainer.explain(image.convert("RGB"))
        except Exception as error:  # noqa: BLE001 - shown in the panel, the kernel lives
            self._say(f"Could not compute Grad-CAM ({type(error).__name__}: {error}).", "error")
            return
        self._current = (image, cam.heatmap)
        name = trainer.class_names[cam.target]
        self._say(f"Where the model looks for <b>{name}</b> (layer group {cam.layer}).")
        self._draw()

    @observe("opacity")
    @guarded
    def _on_opacity_changed(self, change: dict[str, Any]) -> None:
        if self._current is not None:
            self._draw()

    def _draw(self) -> None:
        assert self._current is not None
        image, heatmap = self._current
        self.image.value = overlay_png(image, heatmap, self.opacity)
        self.image.layout.display = ""

    def _say(self, text: str, level: str = "info") -> None:
        color = "#b00020" if level == "error" else "#333333"
        self.caption.value = f'<span style="color:{color}">{text}</span>'
