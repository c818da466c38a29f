"""The engine's helpers: config JSON, schedules, devices, embeddings, failure messages."""

from __future__ import annotations

import itertools
import json
import math
import re
import threading
import time

import numpy as np
import pytest
import torch
from torch import nn

from lab.core.data import DataSpec
from lab.core.data.prefetch import prefetched_map
from lab.core.hardware.device import (
    bf16_supported,
    configure_cpu_threads,
    resolve_device,
    setup_device,
)
from lab.core.training.config import ConfigError, RunConfig
from lab.core.training.embedding_projection import Projector, fit_pca, fixed_subset
from lab.core.training.engine import Trainer
from lab.core.training.evaluation import confusion_matrix, precision_recall
from lab.core.training.events import Event
from lab.core.training.failures import FailureContext, NonFiniteLoss, describe_failure
from lab.core.training.optim import lr_factor
from tests.core.tiny_runs import Recorder, tiny_model, tiny_trainer, wait_for


def test_config_round_trips_through_json() -> None:
    config = RunConfig(
        data=DataSpec(n_per_class=7, image_size=64, augment=True),
        approach="fine_tuning",
        trainable_groups=4,
        lr=3e-4,
        schedule="cosine",
        runs_dir=None,
    )
    text = json.dumps(config.to_dict())
    assert RunConfig.from_dict(json.loads(text)) == config
    assert json.loads(text)["data"]["n_per_class"] == 7


def test_config_refuses_unknown_keys_by_name() -> None:
    with pytest.raises(ConfigError, match=r"unknown run setting\(s\) \['learning_rate'\]"):
        RunConfig.from_dict({"learning_rate": 0.1})


def test_scratch_never_uses_pretrained_weights() -> None:
    assert RunConfig().uses_pretrained
    assert not RunConfig(approach="scratch").uses_pretrained
    assert not RunConfig(pretrained=False).uses_pretrained


def test_only_fine_tuning_divides_the_backbone_learning_rate() -> None:
    assert (
        RunConfig(approach="fine_tuning", backbone_lr_factor=10).effective_backbone_lr_factor == 10
    )
    assert RunConfig(approach="scratch", backbone_lr_factor=10).effective_backbone_lr_factor == 1.0
    assert RunConfig(approach="feature_extraction").effective_backbone_lr_factor == 1.0


def test_schedules_scale_the_learning_rate() -> None:
    assert [lr_factor("constant", s, 10) for s in (0, 5, 10)] == [1.0, 1.0, 1.0]
    assert lr_factor("cosine", 0, 10) == 1.0
    assert lr_factor("cosine", 5, 10) == pytest.approx(0.5)
    assert lr_factor("cosine", 10, 10) == pytest.approx(0.0)
    warm = [lr_factor("onecycle", s, 100) for s in range(0, 31, 10)]
    assert warm == sorted(warm) and warm[0] == pytest.approx(0.1) and warm[-1] == 1.0
    assert lr_factor("onecycle", 100, 100) == pytest.approx(0.0)


def test_step_events_report_the_scheduled_learning_rate() -> None:
    trainer = tiny_trainer(schedule="cosine", epochs=2, lr=0.1)
    trainer.run()
    lrs = [s.lr for s in trainer.history.steps]
    assert lrs[0] == pytest.approx(0.1)
    expected = [0.1 * 0.5 * (1 + math.cos(math.pi * i / 6)) for i in range(6)]
    assert lrs == pytest.approx(expected)


def test_devices_resolve_to_what_is_available() -> None:
    device = resolve_device("auto")
    assert device.type in ("cpu", "cuda", "mps")
    assert resolve_device("cpu") == torch.device("cpu")
    native = bf16_supported(torch.device("cpu"))
    assert setup_device("cpu").amp_dtype is (torch.bfloat16 if native else None)
    assert setup_device("cpu", cpu_bf16=False).amp_dtype is None
    assert setup_device("cpu", amp=False).amp_dtype is None
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="device='cuda': CUDA is not available"):
            resolve_device("cuda")
    assert 1 <= configure_cpu_threads() <= max(1, torch.get_num_threads())


def test_pca_is_fitted_once_and_reused() -> None:
    rng = np.random.default_rng(0)
    first, later = rng.normal(size=(40, 5)), rng.normal(size=(40, 5)) * 3
    projector = Projector("pca")
    projector.project(first)
    mean, axes = fit_pca(first)
    assert np.allclose(projector.project(later), (later - mean) @ axes.T, atol=1e-5)
    assert not np.allclose(projector.project(later), Projector("pca").project(later), atol=1e-3)


@pytest.mark.parametrize("shape", [(30, 200), (200, 30), (3, 5)])
def test_pca_axes_are_the_top_singular_vectors(shape: tuple[int, int]) -> None:
    # Wide rows (more features than images, as penultimate features are) and tall ones.
    rng = np.random.default_rng(2)
    features = rng.normal(size=shape) * np.linspace(3, 1, shape[1])
    mean, axes = fit_pca(features)
    _, _, vt = np.linalg.svd(features - features.mean(axis=0), full_matrices=False)
    assert np.allclose(mean, features.mean(axis=0))
    assert axes.shape == (2, shape[1])
    for axis, expected in zip(axes, vt[:2], strict=True):
        assert np.isclose(abs(axis @ expected), 1.0, atol=1e-6)  # the same line
        assert axis[np.abs(axis).argmax()] > 0  # sign fixed: largest entry positive


def test_pca_of_identical_rows_projects_every_row_to_the_origin() -> None:
    mean, axes = fit_pca(np.ones((4, 6)))
    assert np.all(np.isfinite(axes))
    assert np.allclose((np.ones((4, 6)) - mean) @ axes.T, 0.0)


def test_tsne_projects_to_two_dimensions() -> None:
    features = np.random.default_rng(1).normal(size=(20, 6))
    projector = Projector("tsne")
    assert projector.project(features).shape == (20, 2)
    assert projector.project(features).shape == (20, 2)  # starts from the previous layout


def test_fixed_subset_is_sorted_seeded_and_capped() -> None:
    assert fixed_subset(10, 4, seed=3).tolist() == fixed_subset(10, 4, seed=3).tolist()
    assert fixed_subset(10, 4, seed=3).tolist() == sorted(fixed_subset(10, 4, seed=3).tolist())
    assert fixed_subset(5, 50, seed=0).tolist() == [0, 1, 2, 3, 4]


def test_confusion_precision_recall() -> None:
    labels, predictions = np.array([0, 0, 1, 1, 2]), np.array([0, 1, 1, 1, 0])
    confusion = confusion_matrix(labels, predictions, 3)
    assert confusion.tolist() == [[1, 1, 0], [0, 2, 0], [1, 0, 0]]
    precision, recall = precision_recall(confusion)
    assert precision.tolist() == pytest.approx([0.5, 2 / 3, 0.0])
    assert recall.tolist() == pytest.approx([0.5, 1.0, 0.0])


def test_failure_messages_name_cause_and_way_out() -> None:
    where = FailureContext(epoch=2, step=7, lr=0.5, optimizer="adam", batch_size=64, device="cuda")
    assert describe_failure(NonFiniteLoss(float("inf")), where) == (
        "loss became inf at epoch 2 step 7: the learning rate 0.5 is probably too high; "
        "try 0.001 (or run the LR finder)"
    )
    small = FailureContext(epoch=1, step=1, lr=1e-4, optimizer="adam", batch_size=8, device="cpu")
    assert "try 1e-05" in describe_failure(NonFiniteLoss(float("nan")), small)
    oom = torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
    assert describe_failure(oom, where) == (
        "out of memory on cuda at epoch 2 step 7 with batch_size=64: try batch_size=32, "
        "a smaller image_size or a smaller model"
    )


class OutOfMemoryLayer(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")


def test_out_of_memory_in_a_run_is_reported_readably() -> None:
    model = nn.Sequential(nn.Linear(4, 8), OutOfMemoryLayer(), nn.Linear(8, 3))
    trainer = tiny_trainer(model=model, approach="scratch")
    recorder = Recorder(trainer)
    trainer.run()
    assert recorder.sequence[-1] == ("run_failed", 1, None)
    assert trainer.history.error is not None
    assert re.match(
        r"out of memory on (cpu|cuda|mps) at epoch 1 step 1 with batch_size=4: try batch_size=2",
        trainer.history.error,
    )


def test_unknown_model_is_refused_with_close_matches() -> None:
    with pytest.raises(KeyError, match="mobilenet_v2"):
        Trainer(RunConfig(model="mobilenet_v2.IMAGENET_V1"))


def test_summary_before_the_run() -> None:
    trainer = tiny_trainer(approach="fine_tuning", trainable_groups=1)
    summary = trainer.summary()
    assert [g.name for g in summary.groups] == ["backbone", "head"]
    assert summary.trainable_params == sum(p.numel() for p in trainer.model[-1].parameters())
    assert summary.frozen_params == sum(p.numel() for p in tiny_model()[:-1].parameters())
    assert trainer.state == "idle"


def test_handlers_run_for_events_they_subscribed_to_only() -> None:
    trainer = tiny_trainer()
    epochs: list[int] = []
    trainer.on(Event.EPOCH_STARTED, lambda p: epochs.append(p.epoch))  # type: ignore[attr-defined]
    trainer.run()
    assert epochs == [1, 2]


def test_prefetch_keeps_order_and_raises_errors_at_their_item() -> None:
    def slow_square(i: int) -> int:
        time.sleep(0.001 * (i % 3))  # finishing out of order must not reorder results
        return i * i

    assert list(prefetched_map(slow_square, range(40), workers=4)) == [i * i for i in range(40)]

    def broken(i: int) -> int:
        if i == 2:
            raise OSError("disk went away")
        return i

    seen: list[int] = []
    with pytest.raises(OSError, match="disk went away"):
        for value in prefetched_map(broken, range(10), workers=2):
            seen.append(value)
    assert seen == [0, 1]


def test_leaving_a_prefetch_early_stops_loading_more() -> None:
    started: list[int] = []

    def load(i: int) -> int:
        started.append(i)
        return i

    items = prefetched_map(load, itertools.count(), workers=2, depth=3)
    assert [next(items) for _ in range(3)] == [0, 1, 2]
    items.close()
    wait_for(lambda: not [t for t in threading.enumerate() if t.name.startswith("lab-load")])
    assert len(started) <= 3 + 3 + 1  # nothing loaded beyond the look-ahead
