"""Data-efficiency curve: fixed test split, nested subsets, training loops, summaries."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from lab.core.analysis.efficiency import (
    CurvePoint,
    CurveSpec,
    EfficiencyResult,
    curve_splits,
    data_efficiency,
)
from lab.core.analysis.quick_fit import (
    accuracy,
    fit_head,
    fit_network,
    recalibrate_batchnorm,
    step_budget,
)
from lab.core.data import ArrayImageDataset
from lab.core.models import catalog
from lab.core.models.groups import LayerGroup

LABELS = np.repeat(np.arange(4), 50)


def test_test_split_is_fixed_and_training_subsets_are_nested() -> None:
    splits = curve_splits(LABELS, seeds=(0, 1), test_per_class=5, split_seed=0)
    again = curve_splits(LABELS, seeds=(7,), test_per_class=5, split_seed=0)
    assert np.array_equal(splits.test, again.test)  # the seeds never move the test split
    assert np.all(np.bincount(LABELS[splits.test]) == 5)
    for seed in (0, 1):
        small, large = splits.train(seed, 3), splits.train(seed, 10)
        assert np.all(np.bincount(LABELS[small]) == 3)
        assert set(small) <= set(large)
        assert not set(large) & set(splits.test)
    assert not np.array_equal(splits.train(0, 10), splits.train(1, 10))  # seeds draw differently


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"sizes": ()}, "sizes=()"),
        ({"sizes": (0, 5)}, "choose 1 or more"),
        ({"arms": ("transfer",)}, "'transfer' is not one of"),
        ({"seeds": ()}, "seeds=()"),
        ({"epochs": 0}, "epochs=0"),
        ({"test_per_class": 0}, "test_per_class=0"),
        ({"lr": 0.0}, "lr=0.0"),
    ],
)
def test_curve_spec_names_the_bad_setting(changes: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        CurveSpec(**changes)


def test_step_budget_has_a_floor_for_tiny_sets() -> None:
    assert step_budget(20, 32, epochs=10, min_steps=30) == 30
    assert step_budget(1000, 32, epochs=10, min_steps=30) == 320
    with pytest.raises(ValueError, match="n_train"):
        step_budget(0, 32, 10, 30)


def test_summary_gives_mean_spread_and_range_per_size() -> None:
    points = tuple(
        CurvePoint(arm, n, seed, acc, 1.0, 10, 0.1)
        for arm, n, seed, acc in [
            ("scratch", 5, 0, 0.2),
            ("scratch", 5, 1, 0.4),
            ("scratch", 10, 0, 0.5),
            ("scratch", 10, 1, 0.5),
        ]
    )
    result = EfficiencyResult(CurveSpec(sizes=(5, 10, 25)), points, ("a", "b"), 8, 1.0)
    s = result.summary("scratch")
    assert s.sizes == (5, 10)  # 25 was never measured
    assert s.mean == pytest.approx((0.3, 0.5))
    assert s.std == pytest.approx((0.1, 0.0))
    assert s.low == pytest.approx((0.2, 0.5))
    assert s.high == pytest.approx((0.4, 0.5))
    assert result.mean_acc("scratch", 5) == pytest.approx(0.3)
    with pytest.raises(ValueError, match="not measured"):
        result.mean_acc("feature_extraction", 5)
    assert result.to_dict()["points"][0]["arm"] == "scratch"


def test_fit_head_learns_separable_features() -> None:
    torch.manual_seed(0)
    labels = torch.arange(3).repeat_interleave(20)
    features = torch.eye(3)[labels] * 4 + 0.3 * torch.randn(60, 3)
    head = fit_head(nn.Linear(3, 3), features, labels, steps=100, lr=0.05)
    assert accuracy(head, features, labels) == 1.0


def tiny_bn_model() -> tuple[nn.Sequential, list[LayerGroup]]:
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        nn.Linear(4, 2),
    )  # fmt: skip
    groups = [LayerGroup("backbone", tuple(model[:5])), LayerGroup("head", (model[5],))]
    return model, groups


def test_fine_tuning_only_the_head_leaves_the_frozen_part_untouched() -> None:
    model, groups = tiny_bn_model()
    images, labels = torch.randn(16, 3, 8, 8), torch.arange(2).repeat(8)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    fit_network(model, groups, "fine_tuning", images, labels, steps=5, trainable_groups=1)
    after = model.state_dict()
    for key in before:
        same = torch.equal(before[key], after[key])
        assert same == (not key.startswith("5.")), key  # only the head moved


def test_batchnorm_recalibration_gives_the_training_images_statistics() -> None:
    model, _ = tiny_bn_model()
    images = torch.randn(32, 3, 8, 8) * 3 + 1
    recalibrate_batchnorm(model, images, batch_size=8)
    with torch.no_grad():
        conv = model[0](images)
    bn = model[1]
    assert torch.allclose(bn.running_mean, conv.mean(dim=(0, 2, 3)), atol=1e-5)
    assert bn.momentum == 0.1 and not model.training  # settings restored, eval mode


def shapes_dataset(n_per_class: int = 20) -> ArrayImageDataset:
    rng = np.random.default_rng(0)
    images = rng.integers(0, 30, size=(3 * n_per_class, 16, 16), dtype=np.uint8)
    labels = np.repeat(np.arange(3), n_per_class)
    images[labels == 0, :8] = 255
    images[labels == 1, :, :8] = 255
    return ArrayImageDataset("bars", images, labels, ("top", "left", "none"))


def test_curve_runs_every_arm_size_and_seed_and_can_stop() -> None:
    spec = CurveSpec(
        sizes=(2, 3),
        seeds=(0,),
        arms=("feature_extraction", "scratch", "fine_tuning"),
        image_size=32,
        test_per_class=3,
        epochs=1,
        min_steps=2,
        batch_size=4,
        device="cpu",
    )
    seen: list[CurvePoint] = []
    result = data_efficiency(spec, data=shapes_dataset(), on_point=seen.append)
    assert list(result.points) == seen
    assert [(p.n_per_class, p.arm) for p in result.points] == [
        (n, arm) for n in (2, 3) for arm in ("feature_extraction", "scratch", "fine_tuning")
    ]
    assert all(0.0 <= p.test_acc <= 1.0 for p in result.points)
    assert [p.steps for p in result.points] == [2, 2, 2, 3, 3, 3]  # 9 images, batches of 4
    assert result.n_test == 9 and not result.stopped

    calls = iter(range(100))
    stopped = data_efficiency(
        CurveSpec(
            sizes=(2,),
            seeds=(0, 1),
            arms=("feature_extraction",),
            image_size=32,
            test_per_class=3,
            min_steps=2,
        ),
        data=shapes_dataset(),
        should_stop=lambda: next(calls) >= 1,
    )
    assert stopped.stopped and len(stopped.points) == 1


def test_sizes_larger_than_the_training_pool_are_refused() -> None:
    spec = CurveSpec(sizes=(500,), seeds=(0,), image_size=32)
    with pytest.raises(ValueError, match="choose sizes up to"):
        data_efficiency(spec, data=shapes_dataset())


def test_catalog_model_is_the_default() -> None:
    assert CurveSpec().model == catalog.DEFAULT_MODEL
