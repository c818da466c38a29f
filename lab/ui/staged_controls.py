"""Staged unfreezing settings of step 3: frozen epochs, gradual, and the schedule.

Shown with fine-tuning: the head trains alone for the first epochs (on cached
features), then the chosen groups unfreeze. The schedule lists each stage with the
parameters that train in it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import ipywidgets as widgets
from traitlets import Bool, Int, observe

from lab.core.training.staged import plan_groups, stages_of
from lab.ui.errors import guarded
from lab.ui.widgets_common import error_box, with_classes

HELP = (
    "Staged unfreezing (fastai's fine_tune): the head learns first with the backbone "
    "frozen, then the chosen groups unfreeze with their smaller learning rate. 0 = off."
)


class StagedControls(widgets.VBox):
    """``freeze_epochs`` (0: off) and ``gradual``; :meth:`render` draws the schedule."""

    freeze_epochs = Int(0, min=0, help="Epochs with only the head training (0: not staged).")
    gradual = Bool(False, help="Unfreeze one more group per epoch instead of all at once.")
    epochs = Int(5, help="Epochs of the whole run (from the training step).")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.epochs_slider = with_classes(
            widgets.BoundedIntText(
                value=0, min=0, max=100, description="head-only epochs", tooltip=HELP,
                style={"description_width": "initial"}, layout=widgets.Layout(width="210px"),
            ),
            "tl-unfreeze-epochs",
        )  # fmt: skip
        widgets.link((self, "freeze_epochs"), (self.epochs_slider, "value"))
        self.gradual_check = with_classes(
            widgets.Checkbox(description="gradual (one group per epoch)", indent=False),
            "tl-unfreeze-gradual",
        )
        widgets.link((self, "gradual"), (self.gradual_check, "value"))
        self.schedule = with_classes(widgets.HTML(""), "tl-unfreeze-schedule")
        self.error = error_box()
        self.children = [
            widgets.HBox([self.epochs_slider, self.gradual_check]),
            self.schedule,
            self.error,
        ]
        with_classes(self, "tl-staged")
        self._sizes: list[int] = []
        self._target = 1

    def render(self, sizes: Sequence[int], target: int, fine_tuning: bool) -> None:
        """Redraw for group parameter counts ``sizes`` and ``target`` trainable groups."""
        self._sizes, self._target = list(sizes), target
        self.layout.display = None if fine_tuning else "none"
        self._draw()

    @observe("freeze_epochs", "gradual", "epochs")
    @guarded
    def _on_setting_changed(self, change: dict[str, Any]) -> None:
        self._draw()

    def _draw(self) -> None:
        if not self._sizes or self.freeze_epochs == 0:
            self.schedule.value = ""
            return
        if self.freeze_epochs >= self.epochs:
            self.schedule.value = (
                f'<span style="color:#b00020">{self.freeze_epochs} head-only epochs leave '
                f"none to unfreeze in ({self.epochs} epochs): choose fewer or more epochs</span>"
            )
            return
        plan = plan_groups(self.epochs, self.freeze_epochs, self._target, self.gradual)
        rows = "".join(f"<li>{s.describe()}</li>" for s in stages_of(plan, self._sizes))
        self.schedule.value = f'<ul style="margin:2px 0;color:#555">{rows}</ul>'
