"""The epochs of a run: training steps (full model or cached features) and evaluation.

Runs on the run thread. It reports each step through ``on_step`` and leaves the other
events (epoch started, evaluation completed, ...) to the engine.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from lab.core.data.batches import index_batches, load_batches
from lab.core.data.decoded import DecodedImages
from lab.core.hardware.device import DeviceSetup
from lab.core.hardware.layout import choose_layout, to_layout
from lab.core.models.batchnorm import CALIBRATION_IMAGES, batchnorm_layers, recalibrate
from lab.core.models.finetune import param_groups
from lab.core.training.cached_features import FeatureCache, FrozenFeatures, uses_feature_cache
from lab.core.training.config import RunConfig
from lab.core.training.control import RunControl
from lab.core.training.embedding_projection import Projector, fixed_subset
from lab.core.training.evaluation import EvalResult, evaluate
from lab.core.training.events import Embedding, StepCompleted, readonly
from lab.core.training.failures import NonFiniteLoss
from lab.core.training.optim import build_optimizer, build_scheduler
from lab.core.training.parts import TrainingParts

Batches = Iterator[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]


@dataclass(frozen=True)
class EpochStats:
    """Averages over one epoch's steps (with the weights as they were at each step)."""

    loss: float
    acc: float
    n: int


class TrainingLoop:
    """Optimizer, schedule, caches and counters of one run."""

    def __init__(
        self,
        parts: TrainingParts,
        config: RunConfig,
        setup: DeviceSetup,
        control: RunControl,
        on_step: Callable[[StepCompleted], None],
    ) -> None:
        self.parts, self.config, self.setup, self.control = parts, config, setup, control
        self.on_step = on_step
        self.model = parts.model.to(setup.device)
        self.layout = self._place_data(parts, config.layout)
        self.uses_cache = uses_feature_cache(parts, config)
        groups = param_groups(
            parts.groups, config.lr, config.effective_backbone_lr_factor, config.weight_decay
        )
        self.optimizer = build_optimizer(groups, config.optimizer, config.lr)
        self.steps_per_epoch = math.ceil(self.samples_per_epoch() / config.batch_size)
        self.total_steps = config.epochs * self.steps_per_epoch
        self.scheduler = build_scheduler(self.optimizer, config.schedule, self.total_steps)
        # Loss scaling only matters for float16 autocast; disabled it is a pass-through.
        self.scaler = torch.amp.GradScaler(setup.device.type, enabled=setup.uses_grad_scaler)
        self.generator = torch.Generator().manual_seed(config.seed)
        self.train_cache = FeatureCache(parts.n_train, setup.device) if self.uses_cache else None
        self.val_cache = FeatureCache(parts.n_val, setup.device) if self.uses_cache else None
        self.features = FrozenFeatures(self.model, parts.head, setup)
        self.projector = (
            None if config.embedding == "none" else Projector(config.embedding, config.seed)
        )
        self.embed_positions = fixed_subset(parts.n_val, config.embed_n, config.seed)
        self.epoch = self.step = self.global_step = 0
        self.started = time.perf_counter()
        self._last_step_end = self.started
        self._pause_mark = 0.0
        self._step_lr = config.lr
        self._loss_sum, self._seen = 0.0, 0
        self._correct = torch.zeros((), dtype=torch.long, device=setup.device)

    def _place_data(self, parts: TrainingParts, layout: str) -> str:
        """Pick the model's memory layout; decoded splits finish batches on the device in it."""
        sample = parts.train[0][0] if parts.n_train else None
        shape = tuple(sample.shape) if isinstance(sample, torch.Tensor) else ()
        chosen = choose_layout(self.model, shape, self.setup, layout)
        for split in (parts.train, parts.val, parts.test):
            if isinstance(split, DecodedImages):
                split.place(self.setup.device, partial(to_layout, layout=chosen))
        return chosen

    def samples_per_epoch(self) -> int:
        """Training images one epoch of this process sees (a share of them under DDP)."""
        return self.parts.n_train

    def epoch_batches(self, epoch: int) -> list[torch.Tensor]:
        """Positions into ``parts.train`` for each step of ``epoch``, freshly shuffled."""
        return index_batches(self.parts.n_train, self.config.batch_size, self.generator)

    @property
    def lr(self) -> float:
        """Current learning rate of the head (the last parameter group)."""
        return float(self.optimizer.param_groups[-1]["lr"])

    # -- training -------------------------------------------------------------------

    def run_epoch(self, epoch: int) -> EpochStats:
        """Train one epoch; stops between steps by raising ``StopRequested``."""
        self.epoch, self.step = epoch, 0
        self._loss_sum, self._seen = 0.0, 0
        self._correct.zero_()
        self._last_step_end = time.perf_counter()
        self._pause_mark = self.control.paused_s
        batches = self.epoch_batches(epoch)
        self.model.train()  # frozen groups stay in eval mode (see finetune.lock_eval)
        if self.train_cache is None:
            self._epoch_full(batches)
        elif not self.train_cache.complete:
            self._epoch_filling_cache(self.train_cache, batches)
        else:
            self._epoch_cached(self.train_cache, batches)
        n = max(self._seen, 1)
        return EpochStats(self._loss_sum / n, int(self._correct.item()) / n, self._seen)

    def _epoch_full(self, batches: list[torch.Tensor]) -> None:
        for _, inputs, labels in load_batches(self.parts.train, batches):
            self.control.between_steps()
            with self.control.model_lock:
                inputs, labels = self._to_device(inputs, labels)
                loss = self._train_step(self.model, inputs, labels)
            self._report_step(loss, len(labels))

    def _epoch_filling_cache(self, cache: FeatureCache, batches: list[torch.Tensor]) -> None:
        # The first epoch runs the frozen backbone once per image, keeps the features,
        # and trains the head on them straight away so steps are reported at once.
        for positions, inputs, labels in load_batches(self.parts.train, batches):
            self.control.between_steps()
            with self.control.model_lock:
                inputs, labels = self._to_device(inputs, labels)
                features = self.features(inputs)
                cache.store(positions, features, labels)
                loss = self._train_step(self.parts.head, features, labels)
            self._report_step(loss, len(labels))

    def _epoch_cached(self, cache: FeatureCache, batches: list[torch.Tensor]) -> None:
        for positions in batches:
            self.control.between_steps()
            with self.control.model_lock:
                features, labels = cache.batch(positions)
                loss = self._train_step(self.parts.head, features, labels)
            self._report_step(loss, len(labels))

    def _to_device(
        self, inputs: torch.Tensor, labels: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        device = self.setup.device
        inputs = to_layout(inputs.to(device, non_blocking=True), self.layout)
        return inputs, labels.to(device, non_blocking=True)

    def _train_step(self, module: nn.Module, inputs: torch.Tensor, labels: torch.Tensor) -> float:
        """One optimizer step of ``module`` on a batch; returns the batch's mean loss."""
        self.step += 1  # counted before the work so a failure names the step it was in
        # Forward in mixed precision on CUDA (float32 elsewhere); cross-entropy is
        # computed in float32 by autocast either way.
        with self.setup.autocast():
            logits = module(inputs)
            loss = F.cross_entropy(logits, labels)
        # The loss goes into the step event, so read it here (one device sync per step)
        # and refuse a NaN/inf before backward, which keeps it out of the weights.
        loss_value = loss.item()
        if not math.isfinite(loss_value):
            raise NonFiniteLoss(loss_value)
        # set_to_none frees the gradient memory between steps instead of zero-filling it.
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        self.scaler.step(self.optimizer)  # skipped if float16 gradients overflowed
        self.scaler.update()
        self._step_lr = self.lr  # the LR this step used, before the schedule moves on
        self.scheduler.step()
        # Accuracy stays on the device; it is read once per epoch, not per step.
        self._correct += (logits.argmax(dim=1) == labels).sum()
        self._loss_sum += loss_value * len(labels)
        self._seen += len(labels)
        return loss_value

    def _report_step(self, loss: float, n: int) -> None:
        self.global_step += 1
        now = time.perf_counter()
        paused, self._pause_mark = self.control.paused_s - self._pause_mark, self.control.paused_s
        busy = max(now - self._last_step_end - paused, 1e-9)
        self._last_step_end = now
        self.on_step(
            StepCompleted(
                epoch=self.epoch,
                step=self.step,
                global_step=self.global_step,
                total_steps=self.total_steps,
                loss=loss,
                lr=self._step_lr,
                images_per_s=n / busy,
                elapsed_s=self.elapsed_s,
            )
        )

    @property
    def elapsed_s(self) -> float:
        """Seconds since the run began, pauses left out."""
        return time.perf_counter() - self.started - self.control.paused_s

    # -- evaluation -----------------------------------------------------------------

    def calibrate_random_init(self, frozen: bool) -> None:
        """In a run from random weights, BatchNorm statistics of the frozen (``frozen``)
        or trainable layers from training images, as :mod:`lab.core.models.batchnorm` says."""
        if self.config.uses_pretrained:
            return
        layers = batchnorm_layers(self.model, frozen)
        if not layers:
            return
        self.control.between_steps()
        order = torch.randperm(self.parts.n_train, generator=torch.Generator().manual_seed(0))
        batches = list(order[:CALIBRATION_IMAGES].split(self.config.batch_size))
        inputs = (x.to(self.setup.device) for _, x, _ in load_batches(self.parts.train, batches))
        with self.control.model_lock:
            recalibrate(self.model, inputs, layers)

    def evaluate_val(self) -> tuple[EvalResult, Embedding | None]:
        """Validation metrics and the 2-D embedding of the fixed subset."""
        keep = self.embed_positions
        if self.val_cache is None:
            result = self._evaluate(
                self.model,
                self._load(self.parts.val),
                capture=self.parts.head if self.projector else None,
                keep=keep,
            )
            features = result.features
        else:
            cache = self._filled_val_cache(self.val_cache)
            result = self._evaluate(self.parts.head, self._cached(cache))
            features = cache.batch(torch.as_tensor(keep))[0].cpu().numpy()
        return result, self._embedding(result, features)

    def evaluate_test(self) -> EvalResult | None:
        """Metrics of the current model on the test split (None without one)."""
        test = self.parts.test
        if test is None or self.parts.n_test == 0:
            return None
        if self.uses_cache:  # the frozen backbone's features (not kept), then the head
            result = self._evaluate(self.parts.head, self._features_of(test))
            self.features.release()
            return result
        return self._evaluate(self.model, self._load(test))

    def _evaluate(self, module: nn.Module, batches: Batches, **options: Any) -> EvalResult:
        """One pass of ``module`` over ``batches`` that pauses, stops and locks like a step."""
        return evaluate(
            module,
            batches,
            len(self.parts.class_names),
            self.setup,
            between_batches=self.control.between_steps,
            lock=self.control.model_lock,
            **options,
        )

    def _load(self, dataset: torch.utils.data.Dataset[object]) -> Batches:
        n = len(dataset)  # type: ignore[arg-type]
        return load_batches(dataset, index_batches(n, 2 * self.config.batch_size, None))

    def _filled_val_cache(self, cache: FeatureCache) -> FeatureCache:
        if not cache.complete:
            for positions, inputs, labels in self._load(self.parts.val):
                self.control.between_steps()
                with self.control.model_lock:
                    inputs, labels = self._to_device(inputs, labels)
                    cache.store(positions, self.features(inputs), labels)
            if self.parts.n_test == 0:  # every image's features are kept now
                self.features.release()
        return cache

    def _features_of(self, dataset: torch.utils.data.Dataset[object]) -> Batches:
        for positions, inputs, labels in self._load(dataset):  # evaluate() pauses between
            with self.control.model_lock:
                inputs, labels = self._to_device(inputs, labels)
                features = self.features(inputs)
            yield positions, features, labels

    def _cached(self, cache: FeatureCache) -> Batches:
        for positions in index_batches(cache.n, 4 * self.config.batch_size, None):
            yield (positions, *cache.batch(positions))

    def _embedding(self, result: EvalResult, features: np.ndarray | None) -> Embedding | None:
        if self.projector is None or features is None or len(features) == 0:
            return None
        keep = self.embed_positions
        return Embedding(
            method=self.projector.method,
            points=readonly(self.projector.project(features)),
            labels=readonly(result.labels[keep]),
            predictions=readonly(result.predictions[keep]),
            indices=readonly(keep),
        )
