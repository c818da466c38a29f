"""Step 3 of the lab: the approach (feature extraction, fine-tuning, from scratch) and
which layer groups train, with live trainable/frozen parameter counts.

The model is built on PyTorch's meta device: shapes only, no memory and no weights,
so listing a large model's groups takes milliseconds.
"""

from __future__ import annotations

import re
from typing import Any

import ipywidgets as widgets
from traitlets import Float, Int, TraitError, observe, validate

from lab.core.models import catalog
from lab.core.models.finetune import APPROACHES, trainable_mask
from lab.ui.errors import guard, guarded
from lab.ui.help_texts import help_text
from lab.ui.staged_controls import StagedControls
from lab.ui.traits import Choice, ModelKey, run_setting
from lab.ui.widgets_common import (
    error_box,
    format_count,
    help_line,
    lr_slider,
    panel_title,
    with_classes,
)

APPROACH_LABELS = {
    "feature_extraction": "feature extraction",
    "fine_tuning": "fine-tuning",
    "scratch": "from scratch",
}
#: How many groups (head included) fine-tuning trains until the user says otherwise.
DEFAULT_FINE_TUNE_GROUPS = 3


def model_groups(key: str, num_classes: int) -> list[tuple[str, int]]:
    """(name, parameter count) of each layer group of model ``key``, stem first, head last.

    Built on the meta device, so no weights are read and no memory is used.
    """
    model = catalog.build_model(key, num_classes, pretrained=False, device="meta")
    return [(group.name, int(group.num_params)) for group in catalog.layer_groups(model)]


def _css_name(name: str) -> str:
    return re.sub(r"[^a-zA-Z0-9_-]+", "-", name).strip("-").lower()


class ApproachPanel(widgets.VBox):
    """Choose what trains; ``approach``, ``trainable_groups`` and the LRs go into a run."""

    approach = Choice(APPROACHES, "feature_extraction", help="What trains.")
    trainable_groups = Int(1, help="The last k layer groups train (the head counts as one).")
    head_lr = Float(1e-3, help="Learning rate of the head (the run's lr).")
    backbone_lr_factor = Float(
        10.0, help="Trainable backbone groups learn at head_lr / backbone_lr_factor."
    )
    model_key = ModelKey(catalog.DEFAULT_MODEL, help="Model whose layer groups are listed.")
    num_classes = Int(
        10, help="Classes of the data, sizing the head (0: not known yet, keep the last size)."
    )
    trainable_params = Int(0, help="Parameters that train with the current choice (output).")
    frozen_params = Int(0, help="Parameters kept fixed with the current choice (output).")

    def __init__(self, title: bool = False, **kwargs: Any) -> None:
        """``title=True`` adds a heading (for use outside the app); ``kwargs`` set traits."""
        self._ready = False
        self._syncing = False
        self._groups: list[tuple[str, int]] = []
        self._fine_tune_k = DEFAULT_FINE_TUNE_GROUPS
        super().__init__(**kwargs)
        self._head_classes = self.num_classes or 10
        if self.approach == "fine_tuning" and self.trainable_groups > 1:
            self._fine_tune_k = self.trainable_groups
        self.error = error_box()
        self._build_controls()
        self.children = [
            *panel_title("3 · Approach and freezing", title),
            help_line("approach"),
            self.approach_toggle,
            self.k_slider,
            help_line("layer_groups"),
            self.group_box,
            self.counts,
            self.staged,
            widgets.HBox([self.head_lr_slider, self.factor_slider]),
            self.lr_info,
            self.error,
        ]
        with_classes(self, "tl-panel", "tl-approach-panel")
        self._ready = True
        self.set_model(self.model_key)

    # -- construction -------------------------------------------------------------
    def _build_controls(self) -> None:
        self.approach_toggle = with_classes(
            widgets.ToggleButtons(
                options=[(APPROACH_LABELS[a], a) for a in APPROACHES],
                tooltips=[help_text(a) for a in APPROACHES],
            ),
            "tl-approach-toggle",
        )
        self.approach_toggle.style.button_width = "auto"
        widgets.link((self, "approach"), (self.approach_toggle, "value"))
        self.k_slider = with_classes(
            widgets.IntSlider(
                min=1,
                max=max(self.trainable_groups, 1),
                description="train last k",
                tooltip=help_text("trainable_groups"),
            ),
            "tl-trainable-groups",
        )
        widgets.link((self, "trainable_groups"), (self.k_slider, "value"))
        self.group_box = with_classes(
            widgets.Box(layout=widgets.Layout(flex_flow="row wrap")), "tl-group-list"
        )
        self.group_toggles: list[widgets.ToggleButton] = []
        self.counts = with_classes(widgets.HTML(), "tl-param-counts")
        self.counts.tooltip = help_text("param_counts")
        self.head_lr_slider = with_classes(lr_slider("head LR", help_text("head_lr")), "tl-head-lr")
        widgets.link((self, "head_lr"), (self.head_lr_slider, "value"))
        self.factor_slider = with_classes(
            widgets.FloatLogSlider(
                base=10,
                min=0,
                max=3,
                step=0.25,
                description="backbone ÷",
                readout_format=".3g",
                tooltip=help_text("backbone_lr_factor"),
            ),
            "tl-backbone-lr-factor",
        )
        widgets.link((self, "backbone_lr_factor"), (self.factor_slider, "value"))
        self.lr_info = with_classes(widgets.HTML(), "tl-lr-info")
        self.staged = StagedControls()

    # -- rules --------------------------------------------------------------------
    @validate("trainable_groups")
    def _validate_trainable_groups(self, proposal: dict[str, Any]) -> int:
        value, n = int(proposal["value"]), len(self._groups)
        if value < 1 or (n and value > n):
            limit = f"1 (head only) to {n}" if n else "1 (head only) or more"
            raise TraitError(f"trainable_groups={value}: choose {limit}")
        # From scratch everything trains; coercing here (not in an observer) keeps the
        # slider link consistent.
        return n if self.approach == "scratch" and n else value

    @validate("head_lr")
    def _validate_head_lr(self, proposal: dict[str, Any]) -> float:
        return float(run_setting(proposal, "lr"))

    @validate("backbone_lr_factor")
    def _validate_backbone_lr_factor(self, proposal: dict[str, Any]) -> float:
        return float(run_setting(proposal))

    @validate("num_classes")
    def _validate_num_classes(self, proposal: dict[str, Any]) -> int:
        value = int(proposal["value"])
        if value != 0 and value < 2:
            raise TraitError(
                f"num_classes={value}: a classifier needs at least 2 classes (0: not known yet)"
            )
        return value

    # -- handlers -----------------------------------------------------------------
    @observe("model_key", "num_classes")
    @guarded
    def _on_model_key_changed(self, change: dict[str, Any]) -> None:
        # num_classes drops to 0 while no data is loaded: the head keeps its last size.
        if self._ready and self.num_classes != 0:
            self._head_classes = self.num_classes
        if self._ready and not (change["name"] == "num_classes" and change["new"] == 0):
            self._load_groups()

    @observe("approach")
    @guarded
    def _on_approach_changed(self, change: dict[str, Any]) -> None:
        if not self._ready:
            return
        n = len(self._groups)
        self._syncing = True
        try:
            if change["new"] == "feature_extraction":
                self.trainable_groups = 1
            elif change["new"] == "scratch":
                self.trainable_groups = n
            else:
                self.trainable_groups = min(max(self._fine_tune_k, 2), n)
        finally:
            self._syncing = False
        self._render()

    @observe("trainable_groups")
    @guarded
    def _on_trainable_groups_changed(self, change: dict[str, Any]) -> None:
        if not self._ready:
            return
        k = change["new"]
        if not self._syncing:
            # The slider and the toggles speak the approach's language: training only the
            # head *is* feature extraction, training more of a pretrained model fine-tuning.
            if k > 1:
                self._fine_tune_k = k
            if self.approach == "feature_extraction" and k > 1:
                self.approach = "fine_tuning"
            elif self.approach == "fine_tuning" and k == 1:
                self.approach = "feature_extraction"
        self._render()

    @observe("head_lr", "backbone_lr_factor")
    @guarded
    def _on_head_lr_changed(self, change: dict[str, Any]) -> None:
        if self._ready:
            self._render_lr()

    def _on_group_toggled(self, index: int, trainable: bool) -> None:
        """A group's toggle was clicked: train from that group on, or freeze up to it."""
        if self._syncing:
            return
        n = len(self._groups)
        # Only "the last k groups" can be expressed, so unfreezing a group unfreezes
        # everything after it and freezing one freezes everything before it.
        k = n - index if trainable else n - index - 1
        self.trainable_groups = max(1, min(k, n))
        self._render_groups()  # the clicked toggle may need resetting when k did not move

    # -- public -------------------------------------------------------------------
    def set_model(self, key: str) -> None:
        """List the layer groups of model ``key`` (built on the meta device: cheap)."""
        if key == self.model_key:
            self._load_groups()
        else:
            self.model_key = key  # the observer loads the groups

    @property
    def groups(self) -> list[tuple[str, int]]:
        """(name, parameter count) of each layer group, stem first, head last."""
        return list(self._groups)

    def staged_settings(self) -> dict[str, Any]:
        """``freeze_epochs`` and ``gradual`` for the run (staged only with fine-tuning)."""
        staged = self.approach == "fine_tuning" and self.trainable_groups > 1
        freeze = self.staged.freeze_epochs if staged else 0
        return {"freeze_epochs": freeze, "gradual": bool(freeze and self.staged.gradual)}

    def trainable_mask(self) -> list[bool]:
        """Which groups train with the current approach and ``trainable_groups``."""
        return trainable_mask(self.approach, len(self._groups), self.trainable_groups)

    # -- drawing ------------------------------------------------------------------
    def _load_groups(self) -> None:
        self._groups = model_groups(self.model_key, self._head_classes)
        n = len(self._groups)
        toggles = []
        for i, (name, params) in enumerate(self._groups):
            toggle = widgets.ToggleButton(
                description=f"{name} · {format_count(params)}",
                tooltip=help_text("head") if i == n - 1 else help_text("layer_groups"),
                layout=widgets.Layout(width="auto"),
            )
            with_classes(toggle, "tl-group-toggle", f"tl-group-{_css_name(name)}")
            toggle.observe(
                guard(self, lambda ch, i=i: self._on_group_toggled(i, ch["new"])), "value"
            )
            toggles.append(toggle)
        self._syncing = True
        try:
            with self.hold_sync():
                # Toggles first: lowering the slider's maximum may clamp trainable_groups,
                # and redrawing then needs the new groups' toggles.
                self.group_toggles = toggles
                self.group_box.children = toggles
                self.k_slider.max = max(n, 1)
                self.trainable_groups = self._k_for(self.approach, n)
        finally:
            self._syncing = False
        self._render()

    def _k_for(self, approach: str, n: int) -> int:
        if approach == "feature_extraction":
            return 1
        if approach == "scratch":
            return n
        return max(1, min(self._fine_tune_k, n))

    def _render(self) -> None:
        with self.hold_sync():
            self._render_groups()
            self._render_counts()
            self._render_lr()
            sizes = [p for _, p in self._groups]
            k = sum(self.trainable_mask())
            self.staged.render(sizes, k, self.approach == "fine_tuning" and k > 1)

    def _render_groups(self) -> None:
        mask = self.trainable_mask()
        scratch = self.approach == "scratch"
        self._syncing = True
        try:
            for i, (toggle, trains) in enumerate(zip(self.group_toggles, mask, strict=True)):
                toggle.value = trains
                toggle.icon = "unlock" if trains else "lock"
                toggle.button_style = "success" if trains else ""
                # The head always trains; from scratch, everything does.
                toggle.disabled = scratch or i == len(mask) - 1
        finally:
            self._syncing = False
        self.k_slider.disabled = scratch

    def _render_counts(self) -> None:
        mask = self.trainable_mask()
        trainable = sum(p for (_, p), t in zip(self._groups, mask, strict=True) if t)
        total = sum(p for _, p in self._groups)
        self.trainable_params, self.frozen_params = trainable, total - trainable
        share = 100.0 * trainable / total if total else 0.0
        bar = (
            '<div style="display:flex;height:8px;width:320px;background:#cfd8dc;'
            'border-radius:4px;overflow:hidden">'
            f'<div style="width:{share:.1f}%;background:#43a047"></div></div>'
        )
        self.counts.value = (
            f"trainable <b>{format_count(trainable)}</b> ({share:.1f} %) · "
            f"frozen <b>{format_count(total - trainable)}</b> · "
            f"total {format_count(total)} parameters{self._head_note(total)}{bar}"
        )

    def _head_note(self, total: int) -> str:
        """Why the total differs from the model line's: that one has ImageNet's head."""
        imagenet = catalog.get_entry(self.model_key).params
        if not isinstance(imagenet, int | float) or int(imagenet) == total:
            return ""
        return (
            f" (with a {self._head_classes}-class head; the model line's "
            f"{format_count(imagenet)} counts ImageNet's 1000-class head)"
        )

    def _render_lr(self) -> None:
        # Only fine-tuning divides the backbone's LR (RunConfig.effective_backbone_lr_factor): from
        # scratch every layer starts random and learns at the one LR.
        divided = self.approach == "fine_tuning" and any(self.trainable_mask()[:-1])
        self.factor_slider.disabled = not divided
        self.factor_slider.layout.display = None if self.approach == "fine_tuning" else "none"
        self.head_lr_slider.description = "LR" if self.approach == "scratch" else "head LR"
        if divided:
            backbone = self.head_lr / self.backbone_lr_factor
            text = f"head LR {self.head_lr:.2g} · trainable backbone groups LR {backbone:.2g}"
        elif self.approach == "scratch":
            text = f"LR {self.head_lr:.2g} for every layer (from scratch: nothing to divide)"
        else:
            text = f"head LR {self.head_lr:.2g} · backbone frozen"
        self.lr_info.value = f'<span style="color:#555">{text}</span>'
