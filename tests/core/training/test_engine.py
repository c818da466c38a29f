"""The Trainer's thread and exact event sequences, on tiny models and tensor data."""

from __future__ import annotations

import gc
import math
import re

import pytest
import torch
from torch import nn

from lab.core.hardware.device import bf16_supported
from lab.core.serving.shutdown import busy, runs_watched
from lab.core.training.config import ConfigError
from lab.core.training.engine import Trainer
from lab.core.training.events import EvaluationCompleted, Event, RunCompleted, RunFailed, RunStopped
from lab.core.training.history import STATES
from tests.core.tiny_runs import (
    CLASSES,
    Gate,
    Recorder,
    expected_run,
    tiny_config,
    tiny_data,
    tiny_trainer,
    wait_for,
)


@pytest.mark.parametrize(
    ("approach", "cache"),
    [
        ("feature_extraction", True),
        ("feature_extraction", False),
        ("fine_tuning", True),
        ("scratch", True),
    ],
)
def test_normal_run_fires_the_documented_sequence(approach: str, cache: bool) -> None:
    trainer = tiny_trainer(approach=approach, cache_features=cache)
    recorder = Recorder(trainer)
    assert trainer.state == "idle"
    trainer.start()
    assert trainer.join(60)
    assert recorder.sequence == expected_run(epochs=2, steps=3)
    assert trainer.state == "completed" and trainer.history.state == "completed"
    steps = recorder.of(Event.STEP_COMPLETED)
    assert [s.global_step for s in steps] == list(range(1, 7))
    assert all(s.total_steps == 6 and s.images_per_s > 0 and math.isfinite(s.loss) for s in steps)
    assert [s.elapsed_s for s in steps] == sorted(s.elapsed_s for s in steps)
    started = recorder.payloads[0]
    assert (started.n_train, started.n_val, started.steps_per_epoch) == (12, 9, 3)
    assert started.class_names == CLASSES
    assert started.trainable_params + started.frozen_params == sum(
        p.numel() for p in trainer.model.parameters()
    )


def test_evaluation_and_test_metrics_describe_the_splits() -> None:
    trainer = tiny_trainer(epochs=3, embedding="pca", lr=0.1)
    recorder = Recorder(trainer)
    trainer.run()
    evaluations: list[EvaluationCompleted] = recorder.of(Event.EVALUATION_COMPLETED)
    for ev in evaluations:
        assert ev.confusion.shape == (3, 3) and ev.confusion.sum() == 9
        assert ev.val_acc == pytest.approx(ev.confusion.trace() / 9)
        assert ev.val_predictions.shape == (9,)
        assert ev.precision.shape == ev.recall.shape == (3,)
        assert not ev.confusion.flags.writeable
        assert ev.embedding is not None and ev.embedding.points.shape == (6, 2)
        assert ev.embedding.indices.tolist() == sorted(set(ev.embedding.indices.tolist()))
        assert (ev.embedding.predictions == ev.val_predictions[ev.embedding.indices]).all()
    # The same fixed subset every epoch, so the pictures are comparable.
    assert len({tuple(ev.embedding.indices) for ev in evaluations}) == 1
    final: RunCompleted = recorder.payloads[-1]
    assert final.best_val_acc == max(ev.val_acc for ev in evaluations)
    assert final.test is not None and final.test.n == 6 and final.test.confusion.sum() == 6
    assert final.test.acc == pytest.approx(final.test.confusion.trace() / 6)
    assert final.best_val_acc > 0.5  # the classes are separable: it learned something


def test_cached_features_train_exactly_like_the_full_model() -> None:
    losses = {}
    for cache in (True, False):
        trainer = tiny_trainer(cache_features=cache, epochs=3)
        trainer.run()
        losses[cache] = [s.loss for s in trainer.history.steps]
        val = [e.val_loss for e in trainer.history.evaluations]
        losses[cache] += val
    assert losses[True] == pytest.approx(losses[False], rel=1e-5)


def _conv_trainer(cache: bool, bf16: bool = False) -> Trainer:
    """Images through a convolution and BatchNorm: the cached path folds the two."""
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Sequential(nn.Conv2d(3, 6, 3, padding=1), nn.BatchNorm2d(6), nn.ReLU()),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(6, 3),
    )
    with torch.no_grad():
        model[0][1].running_mean.uniform_(-0.5, 0.5)
        model[0][1].running_var.uniform_(0.5, 2.0)

    def images(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
        g = torch.Generator().manual_seed(seed)
        labels = torch.arange(n) % 3
        return torch.randn(n, 3, 8, 8, generator=g) + labels.view(-1, 1, 1, 1), labels

    config = tiny_config(
        approach="feature_extraction", cache_features=cache, epochs=3, lr=0.1, cpu_bf16=bf16
    )
    return Trainer.from_parts(
        model, images(12, 1), images(9, 2), CLASSES, config=config, test=images(6, 3)
    )


PRECISIONS = {
    "float32": (False, 1e-4),
    # bfloat16 rounds the folded and the plain convolution's outputs differently.
    "bfloat16": pytest.param(
        True,
        2e-2,
        marks=pytest.mark.skipif(
            not bf16_supported(torch.device("cpu")), reason="no native bfloat16 on this CPU"
        ),
    ),
}


@pytest.mark.parametrize(("bf16", "rel"), PRECISIONS.values(), ids=PRECISIONS.keys())
def test_cached_features_of_a_folded_backbone_train_like_the_full_model(
    bf16: bool, rel: float
) -> None:
    results = {}
    for cache in (True, False):
        trainer = _conv_trainer(cache, bf16)
        trainer.run()
        history = trainer.history
        test = history.final.test  # type: ignore[union-attr]
        results[cache] = (
            [s.loss for s in history.steps]
            + [e.val_loss for e in history.evaluations]
            + [test.loss],
            [e.val_acc for e in history.evaluations] + [test.acc],
        )
        assert sum(isinstance(m, nn.BatchNorm2d) for m in trainer.model.modules()) == 1
        assert ("bfloat16" in str(trainer._setup)) is bf16
    assert results[True][0] == pytest.approx(results[False][0], rel=rel)
    assert results[True][1] == results[False][1]


def test_a_completed_run_leaves_no_tensors_or_modules_in_reference_cycles() -> None:
    # A completed run skips the full garbage collection (a quarter of a second in a
    # kernel), so what it made, the folded copy included, must go by reference counting.
    trainer = _conv_trainer(cache=True)
    gc.collect()
    gc.disable()
    try:
        trainer.run()
        gc.set_debug(gc.DEBUG_SAVEALL)
        gc.collect()
        cyclic = [type(o).__name__ for o in gc.garbage if isinstance(o, torch.Tensor | nn.Module)]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
    assert trainer.state == "completed"
    assert cyclic == []


def test_stop_mid_epoch_ends_after_the_current_step_and_keeps_the_weights() -> None:
    trainer = tiny_trainer(epochs=3)
    before = [p.detach().clone() for p in trainer.model.parameters()]
    recorder = Recorder(trainer)
    trainer.on(Event.STEP_COMPLETED, lambda s: trainer.stop() if s.global_step == 5 else None)
    trainer.run()
    assert recorder.sequence == [
        *expected_run(epochs=1, steps=3)[:-1],
        ("epoch_started", 2, None),
        ("step_completed", 2, 1),
        ("step_completed", 2, 2),
        ("run_stopped", 2, None),
    ]
    stopped: RunStopped = recorder.payloads[-1]
    assert stopped.global_step == 5
    assert trainer.state == "stopped"
    after = list(trainer.model.parameters())
    assert any(not torch.equal(a, b.cpu()) for a, b in zip(before, after, strict=True))


def test_stop_during_feature_caching_in_the_first_epoch() -> None:
    trainer = tiny_trainer(epochs=2, approach="feature_extraction", cache_features=True)
    recorder = Recorder(trainer)
    trainer.on(Event.STEP_COMPLETED, lambda s: trainer.stop() if s.global_step == 1 else None)
    trainer.run()
    assert recorder.sequence[-3:] == [
        ("epoch_started", 1, None),
        ("step_completed", 1, 1),
        ("run_stopped", 1, None),
    ]


def test_pause_waits_and_resume_continues() -> None:
    trainer = tiny_trainer(epochs=2)
    recorder = Recorder(trainer)
    trainer.on(Event.STEP_COMPLETED, lambda s: trainer.pause() if s.global_step == 2 else None)
    trainer.start()
    wait_for(lambda: trainer.state == "paused")
    assert not trainer.join(0.2)  # still parked, not finished
    assert recorder.sequence[-1] == ("run_paused", 1, None)
    assert len(recorder.of(Event.STEP_COMPLETED)) == 2
    trainer.resume()
    assert trainer.join(60)
    full = expected_run(epochs=2, steps=3)
    at = full.index(("step_completed", 1, 2)) + 1
    assert recorder.sequence == [
        *full[:at],
        ("run_paused", 1, None),
        ("run_resumed", 1, None),
        *full[at:],
    ]
    assert trainer.state == "completed"


def test_side_jobs_see_a_run_as_busy_from_start_to_its_end_paused_included() -> None:
    trainer = tiny_trainer(epochs=2)
    trainer.on(Event.STEP_COMPLETED, lambda s: trainer.pause() if s.global_step == 1 else None)
    watched = runs_watched()
    trainer.start()
    assert runs_watched() == watched + 1
    wait_for(lambda: trainer.state == "paused")
    assert busy()
    trainer.resume()
    assert trainer.join(60) and trainer.state == "completed"
    assert not busy()


def test_stop_while_paused_ends_without_resuming() -> None:
    trainer = tiny_trainer(epochs=2)
    recorder = Recorder(trainer)
    trainer.on(Event.STEP_COMPLETED, lambda s: trainer.pause() if s.global_step == 1 else None)
    trainer.start()
    wait_for(lambda: trainer.state == "paused")
    trainer.stop()
    assert trainer.join(60)
    assert recorder.sequence[-3:] == [
        ("step_completed", 1, 1),
        ("run_paused", 1, None),
        ("run_stopped", 1, None),
    ]


class BreaksOnCall(nn.Module):
    """A layer that raises on its ``n``-th training call."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self.linear, self.n, self.calls = nn.Linear(8, 3), n, 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            self.calls += 1
            if self.calls == self.n:
                raise RuntimeError("the sensor unplugged")
        return self.linear(x)


def test_failure_in_a_step_fires_run_failed_and_ends_the_thread() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), BreaksOnCall(3))
    trainer = tiny_trainer(model=model, approach="scratch")
    recorder = Recorder(trainer)
    trainer.start()
    assert trainer.join(60)
    assert recorder.sequence == [
        ("run_started", None, None),
        ("epoch_started", 1, None),
        ("step_completed", 1, 1),
        ("step_completed", 1, 2),
        ("run_failed", 1, None),
    ]
    failed: RunFailed = recorder.payloads[-1]
    assert failed.message == "RuntimeError at epoch 1 step 3: the sensor unplugged"
    assert failed.error_type == "RuntimeError" and failed.global_step == 2
    assert trainer.state == "failed" and isinstance(trainer.error, RuntimeError)
    assert trainer.history.error == failed.message
    assert not trainer.refused  # it trained two steps: a failed run, not a refused setting


def test_nan_loss_names_the_learning_rate_and_keeps_weights_finite() -> None:
    torch.manual_seed(0)
    layers: list[nn.Module] = [nn.Linear(4, 16), nn.ReLU()]
    for _ in range(3):
        layers += [nn.Linear(16, 16), nn.ReLU()]
    model = nn.Sequential(*layers, nn.Linear(16, 3))
    trainer = Trainer.from_parts(
        model,
        tiny_data(24, seed=1, scale=10),
        tiny_data(9, seed=2, scale=10),
        CLASSES,
        config=tiny_trainer().config.replace(
            approach="scratch", optimizer="sgd", lr=10.0, epochs=20, batch_size=8
        ),
    )
    trainer.run()
    final = trainer.history.final
    assert isinstance(final, RunFailed), "the loss should have diverged at lr=10"
    assert re.fullmatch(
        r"loss became (nan|inf|-inf) at epoch \d+ step \d+: the learning rate 10 is probably "
        r"too high; try 0\.01 \(or run the LR finder\)",
        final.message,
    ), final.message
    assert all(torch.isfinite(p).all() for p in trainer.model.parameters())


def test_a_second_start_while_running_is_refused() -> None:
    trainer = tiny_trainer()
    gate = Gate()
    trainer.on(Event.RUN_STARTED, gate)
    trainer.start()
    assert gate.reached.wait(30)
    with pytest.raises(RuntimeError, match=r"start\(\): this run is already running"):
        trainer.start()
    gate.opened.set()
    assert trainer.join(60)
    assert trainer.state == "completed"
    with pytest.raises(RuntimeError, match="already ran .*create a new Trainer"):
        trainer.start()


def test_a_failing_handler_fails_the_run_with_its_name() -> None:
    trainer = tiny_trainer()
    recorder = Recorder(trainer)

    def broken(_payload: object) -> None:
        raise ZeroDivisionError("plot fell over")

    trainer.on(Event.EVALUATION_COMPLETED, broken)
    trainer.run()
    # One broken handler does not hide the event from the others.
    assert recorder.sequence[-2:] == [("evaluation_completed", 1, None), ("run_failed", 1, None)]
    assert len(trainer.history.evaluations) == 1
    assert "a handler for evaluation_completed raised ZeroDivisionError" in trainer.history.error


def test_removed_handler_hears_nothing_more() -> None:
    trainer = tiny_trainer()
    heard: list[object] = []
    handle = trainer.on(Event.STEP_COMPLETED, heard.append)
    trainer.on(Event.STEP_COMPLETED, lambda s: handle.remove() if s.global_step == 2 else None)
    trainer.run()
    assert len(heard) == 2 and handle.removed


def test_setup_failure_is_the_only_event() -> None:
    trainer = Trainer(tiny_trainer().config.replace(batch_size=64), tiny_trainer().parts)
    recorder = Recorder(trainer)
    trainer.run()
    assert recorder.sequence == [("run_failed", 0, None)]
    assert trainer.history.error == (
        "batch_size=64 is larger than the 12 training images: choose batch_size <= 12"
    )
    assert trainer.refused  # a setting the run cannot use: nothing ran


def test_only_a_setting_refused_at_set_up_counts_as_refused(tmp_path) -> None:
    done = tiny_trainer()
    assert not done.refused  # idle
    done.run()
    assert done.state == "completed" and not done.refused
    blocker = tmp_path / "runs"
    blocker.write_text("a file where the runs folder should be")
    unwritable = tiny_trainer(runs_dir=str(blocker))
    unwritable.run()
    # Set-up failed, but not on a setting the data refutes: a failed run, said as such.
    assert unwritable.state == "failed" and unwritable.history.started is None
    assert not unwritable.refused


def test_from_parts_checks_batch_size_against_the_data() -> None:
    trainer = tiny_trainer(batch_size=13)
    with pytest.raises(ConfigError, match="batch_size=13 is larger than the 12 training images"):
        trainer.prepare()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"epochs": 0}, "epochs=0: choose at least 1 epoch"),
        ({"lr": 0.0}, "lr=0.0: choose a finite learning rate > 0"),
        ({"lr": float("nan")}, "lr=nan: choose a finite learning rate"),
        ({"lr": -1}, "lr=-1: choose"),
        ({"batch_size": 0}, "batch_size=0: choose at least 1"),
        ({"approach": "magic"}, "approach='magic': choose one of"),
        ({"optimizer": "lion"}, "optimizer='lion': choose one of"),
        ({"schedule": "sometimes"}, "schedule='sometimes'"),
        ({"trainable_groups": 0}, "trainable_groups=0"),
        ({"device": "gpu"}, "device='gpu'"),
        ({"embed_n": 1}, "embed_n=1"),
        ({"backbone_lr_factor": float("inf")}, "backbone_lr_factor=inf"),
    ],
)
def test_bad_config_values_name_the_setting(change: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        tiny_trainer(**change)


def test_states_follow_the_run() -> None:
    trainer = tiny_trainer()
    seen: list[str] = []
    trainer.on(None, lambda _p: seen.append(trainer.state))
    trainer.run()
    assert set(seen) <= set(STATES)
    assert seen[0] == "running" and seen[-1] == "completed"


def test_predict_returns_top_k_class_names() -> None:
    trainer = tiny_trainer(epochs=5, lr=0.1, approach="scratch")
    trainer.run()
    inputs, labels = tiny_data(30, seed=9)
    trainer.model.eval()
    device = next(trainer.model.parameters()).device
    batch_guess = trainer.model(inputs.to(device)).argmax(dim=1).tolist()
    assert [trainer.predict(x, k=1)[0][0] for x in inputs] == [CLASSES[i] for i in batch_guess]
    top = trainer.predict(inputs[2], k=2)
    assert len(top) == 2 and top[0][1] >= top[1][1]
    assert {name for name, _ in top} <= set(CLASSES)
    right = sum(
        trainer.predict(x, k=1)[0][0] == CLASSES[int(y)]
        for x, y in zip(inputs, labels, strict=True)
    )
    assert right >= 15  # chance is 10 of 30
    assert sum(p for _, p in trainer.predict(inputs[0], k=10)) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="k=0"):
        trainer.predict(inputs[0], k=0)


def test_lr_finder_sweeps_up_and_leaves_the_model_alone() -> None:
    trainer = tiny_trainer(approach="scratch", batch_size=4)
    before = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    result = trainer.find_lr(start_lr=1e-5, end_lr=100.0, num_steps=60)
    assert (len(result.lrs) == len(result.losses) == len(result.raw_losses)) and len(
        result.lrs
    ) > 10
    assert (result.lrs[1:] > result.lrs[:-1]).all()
    assert 1e-5 <= result.suggested_lr <= 100.0
    for key, value in trainer.model.state_dict().items():
        assert torch.equal(value.cpu(), before[key]), key
    with pytest.raises(ValueError, match="end_lr"):
        trainer.find_lr(start_lr=1.0, end_lr=0.1)


def test_lr_finder_on_cached_features_matches_the_full_model() -> None:
    results = [
        tiny_trainer(cache_features=cache).find_lr(1e-4, 10.0, num_steps=20)
        for cache in (True, False)
    ]
    assert results[0].raw_losses == pytest.approx(results[1].raw_losses, rel=1e-5)
