"""ApproachPanel: approach <-> freezing consistency, group toggles, live counts, rules."""

from __future__ import annotations

import pytest
import torchvision
from traitlets import TraitError

from lab.core.models import catalog
from lab.ui.approach_panel import ApproachPanel


@pytest.fixture(scope="module")
def mobilenet_params() -> int:
    """Parameter count of a real (CPU) MobileNetV2 with a 10-class head."""
    return sum(p.numel() for p in torchvision.models.mobilenet_v2(num_classes=10).parameters())


def _trainable_toggles(panel: ApproachPanel) -> list[bool]:
    return [t.value for t in panel.group_toggles]


def test_default_model_groups_from_the_meta_device(mobilenet_params: int) -> None:
    panel = ApproachPanel(num_classes=10)
    assert catalog.DEFAULT_MODEL.startswith("mobilenet_v2")
    names = [name for name, _ in panel.groups]
    assert len(names) >= 3 and names[-1] == "head"
    assert sum(p for _, p in panel.groups) == mobilenet_params
    assert len(panel.group_toggles) == len(names)
    # Feature extraction by default: the head alone (1280 features -> 10 classes) trains.
    assert panel.approach == "feature_extraction" and panel.trainable_groups == 1
    assert panel.trainable_params == 1280 * 10 + 10
    assert panel.frozen_params == mobilenet_params - panel.trainable_params
    assert _trainable_toggles(panel) == [False] * (len(names) - 1) + [True]


def test_approach_toggle_sets_the_frozen_groups() -> None:
    panel = ApproachPanel()
    n = len(panel.groups)
    panel.approach_toggle.value = "scratch"
    assert panel.trainable_groups == n and panel.frozen_params == 0
    assert all(_trainable_toggles(panel)) and all(t.disabled for t in panel.group_toggles)
    assert panel.k_slider.disabled
    panel.approach_toggle.value = "fine_tuning"
    assert panel.trainable_groups == 3 and not panel.k_slider.disabled
    assert _trainable_toggles(panel) == [False] * (n - 3) + [True] * 3
    assert panel.trainable_params == sum(p for _, p in panel.groups[-3:])
    panel.approach_toggle.value = "feature_extraction"
    assert panel.trainable_groups == 1


def test_slider_switches_between_feature_extraction_and_fine_tuning() -> None:
    panel = ApproachPanel()
    panel.k_slider.value = 4
    assert panel.approach == "fine_tuning" and panel.trainable_groups == 4
    assert sum(_trainable_toggles(panel)) == 4
    panel.k_slider.value = 1
    assert panel.approach == "feature_extraction"
    panel.approach = "fine_tuning"
    assert panel.trainable_groups == 4  # fine-tuning remembers its last depth


def test_group_toggles_move_the_boundary() -> None:
    panel = ApproachPanel(approach="fine_tuning")
    n = len(panel.groups)
    panel.group_toggles[n - 5].value = True  # unfreeze a group: it and all after it train
    assert panel.trainable_groups == 5
    assert _trainable_toggles(panel) == [False] * (n - 5) + [True] * 5
    panel.group_toggles[n - 2].value = False  # freeze one: it and all before it freeze
    assert panel.trainable_groups == 1 and panel.approach == "feature_extraction"
    assert panel.group_toggles[-1].disabled  # the head always trains


def test_scratch_keeps_everything_trainable() -> None:
    panel = ApproachPanel(approach="scratch")
    panel.trainable_groups = 2
    assert panel.trainable_groups == len(panel.groups)


def test_lr_controls() -> None:
    panel = ApproachPanel()
    assert panel.factor_slider.disabled  # the backbone is frozen
    assert "backbone frozen" in panel.lr_info.value
    panel.approach = "fine_tuning"
    panel.head_lr_slider.value = 0.01
    panel.factor_slider.value = 100
    assert (panel.head_lr, panel.backbone_lr_factor) == (0.01, 100)
    assert not panel.factor_slider.disabled
    assert "LR 0.0001" in panel.lr_info.value


def test_rules_reject_bad_values() -> None:
    panel = ApproachPanel()
    n = len(panel.groups)
    with pytest.raises(TraitError, match="trainable_groups=0"):
        panel.trainable_groups = 0
    with pytest.raises(TraitError, match=f"trainable_groups={n + 1}"):
        panel.trainable_groups = n + 1
    with pytest.raises(TraitError, match="approach='transfer'"):
        panel.approach = "transfer"
    with pytest.raises(TraitError, match="backbone_lr_factor=0.0"):
        panel.backbone_lr_factor = 0
    with pytest.raises(TraitError, match="num_classes=1"):
        panel.num_classes = 1


def test_num_classes_resizes_the_head() -> None:
    panel = ApproachPanel(num_classes=10)
    panel.num_classes = 3
    assert panel.groups[-1][1] == 1280 * 3 + 3
    assert panel.trainable_params == 1280 * 3 + 3
    panel.num_classes = 0  # no data loaded: the head keeps its last size
    assert panel.groups[-1][1] == 1280 * 3 + 3
    panel.set_model(panel.model_key)
    assert panel.groups[-1][1] == 1280 * 3 + 3


def test_set_model_lists_the_other_models_groups() -> None:
    panel = ApproachPanel(approach="fine_tuning")
    other = next(e.key for e in catalog.list_models() if e.arch != "mobilenet_v2")
    panel.set_model(other)
    assert panel.model_key == other
    assert panel.groups[-1][0] == "head"
    assert len(panel.group_toggles) == len(panel.groups)
    assert 1 <= panel.trainable_groups <= len(panel.groups)
    assert panel.trainable_params + panel.frozen_params == sum(p for _, p in panel.groups)


def test_from_scratch_shows_one_lr_and_no_backbone_lr_factor() -> None:
    panel = ApproachPanel(approach="fine_tuning")
    assert panel.factor_slider.layout.display is None and not panel.factor_slider.disabled
    panel.approach = "scratch"
    assert panel.factor_slider.layout.display == "none" and panel.factor_slider.disabled
    assert panel.head_lr_slider.description == "LR"
    assert "every layer" in panel.lr_info.value and "backbone" not in panel.lr_info.value
    panel.approach = "feature_extraction"
    assert panel.factor_slider.layout.display == "none"
    assert panel.head_lr_slider.description == "head LR"


def test_the_total_says_why_it_differs_from_the_model_line() -> None:
    panel = ApproachPanel(num_classes=10)
    imagenet = catalog.get_entry(panel.model_key).params
    assert sum(p for _, p in panel.groups) != imagenet
    assert "10-class head" in panel.counts.value and "1000-class head" in panel.counts.value
