"""The same run on several processes with PyTorch's DistributedDataParallel (torchrun).

``torchrun --nproc_per_node N -m lab.cli train CONFIG.json`` starts N processes; each
builds the same model from the same seed, DDP averages the gradients of every step, and
:class:`~torch.utils.data.DistributedSampler` gives each process its share of the
training images (on the cached-feature path a fixed share, so each process caches only
its own images' features). Validation is split across processes too and gathered, so
every process holds the metrics of the whole validation split; only rank 0 writes the
run folder and checkpoints. Stop requests (SIGTERM from a scheduler) are agreed on by
all processes at the next step, so they stop together and rank 0 closes the run.

Backends: ``gloo`` on CPU, ``nccl`` on GPUs (one GPU per process, ``cuda:LOCAL_RANK``).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DistributedSampler, Subset

from lab.core.hardware.device import DeviceSetup
from lab.core.training.cached_features import uses_feature_cache
from lab.core.training.config import RunConfig
from lab.core.training.control import RunControl, StopRequested
from lab.core.training.engine import Trainer
from lab.core.training.evaluation import EvalResult
from lab.core.training.events import Embedding, StepCompleted
from lab.core.training.parts import TrainingParts
from lab.core.training.training_loop import EpochStats, TrainingLoop

#: Environment variables torchrun sets in every process it starts.
TORCHRUN_VARIABLES = ("RANK", "LOCAL_RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")


@dataclass(frozen=True)
class DistributedContext:
    """This process's place in the group."""

    rank: int
    local_rank: int
    world_size: int
    backend: str

    @property
    def is_main(self) -> bool:
        """Rank 0 writes the run folder and prints the result."""
        return self.rank == 0

    @property
    def device(self) -> str:
        return f"cuda:{self.local_rank}" if self.backend == "nccl" else "cpu"


def launched_by_torchrun() -> bool:
    """Whether this process was started by torchrun (its variables are all set)."""
    return all(name in os.environ for name in TORCHRUN_VARIABLES)


def init_distributed(device: str = "auto") -> DistributedContext:
    """Join torchrun's process group: nccl when CUDA is used, gloo otherwise."""
    use_cuda = torch.cuda.is_available() and not device.startswith(("cpu", "mps"))
    backend = "nccl" if use_cuda else "gloo"
    local_rank = int(os.environ["LOCAL_RANK"])
    if use_cuda:
        torch.cuda.set_device(local_rank)
    if not dist.is_initialized():
        dist.init_process_group(backend)
    return DistributedContext(dist.get_rank(), local_rank, dist.get_world_size(), backend)


def shutdown_distributed() -> None:
    """Leave the process group (every process calls it at the end)."""
    if dist.is_initialized():
        dist.destroy_process_group()


class DistributedControl(RunControl):
    """Stop flags agreed on by all processes at each training step.

    A process that stopped alone would leave the others waiting forever in the next
    gradient all-reduce; here a stop on any process stops all of them at the same step.
    Outside training steps (``collective = False``, during evaluation) checks are off,
    as the processes' evaluation batches need not line up. Pausing is not offered.
    """

    def __init__(self, context: DistributedContext, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.context = context
        self.collective = True

    def between_steps(self) -> None:
        if not self.collective:
            return
        flag = torch.tensor([1.0 if self.stop_requested else 0.0], device=self.context.device)
        dist.all_reduce(flag, op=dist.ReduceOp.MAX)
        if flag.item() > 0:
            self.request_stop()
            raise StopRequested


def _shard_val(parts: TrainingParts, context: DistributedContext) -> np.ndarray:
    return np.arange(context.rank, parts.n_val, context.world_size)


class DistributedTrainingLoop(TrainingLoop):
    """The training loop with DDP-wrapped modules and this process's share of the data."""

    control: DistributedControl

    def __init__(
        self,
        parts: TrainingParts,
        config: RunConfig,
        setup: DeviceSetup,
        control: DistributedControl,
        on_step: Callable[[StepCompleted], None],
        context: DistributedContext,
    ) -> None:
        self.context = context
        cached = uses_feature_cache(parts, config)
        self.sampler: DistributedSampler[Any] = DistributedSampler(
            parts.train,
            num_replicas=context.world_size,
            rank=context.rank,
            shuffle=not cached,
            seed=config.seed,
        )
        self.val_positions = _shard_val(parts, context)
        train = Subset(parts.train, list(self.sampler)) if cached else parts.train
        local = dataclasses.replace(
            parts, train=train, val=Subset(parts.val, self.val_positions.tolist())
        )
        super().__init__(local, config, setup, control, on_step)
        self.projector = None  # the 2-D embedding is left to single-process runs
        self._wrapped: dict[int, nn.Module] = {}

    def _place_data(self, parts: TrainingParts, layout: str) -> str:
        """Every rank takes rank 0's layout: DDP needs the same parameter strides on all,
        and a layout chosen by timing could differ between processes."""
        chosen = super()._place_data(parts, layout)
        agreed = [chosen]
        dist.broadcast_object_list(agreed, src=0)
        if agreed[0] != chosen:
            chosen = super()._place_data(parts, agreed[0])
        return chosen

    def samples_per_epoch(self) -> int:
        return self.sampler.num_samples

    def epoch_batches(self, epoch: int) -> list[torch.Tensor]:
        if self.uses_cache:  # a fixed share, cached once, shuffled within each epoch
            return super().epoch_batches(epoch)
        self.sampler.set_epoch(epoch)  # a new split of the images among processes
        return list(torch.tensor(list(self.sampler)).split(self.config.batch_size))

    def _train_step(self, module: nn.Module, inputs: torch.Tensor, labels: torch.Tensor) -> float:
        if id(module) not in self._wrapped:
            ids = [self.context.local_rank] if self.context.backend == "nccl" else None
            self._wrapped[id(module)] = DistributedDataParallel(module, device_ids=ids)
        return super()._train_step(self._wrapped[id(module)], inputs, labels)

    def run_epoch(self, epoch: int) -> EpochStats:
        stats = super().run_epoch(epoch)
        sums = torch.tensor(
            [stats.loss * stats.n, stats.acc * stats.n, float(stats.n)],
            dtype=torch.float64,
            device=self.context.device,
        )
        dist.all_reduce(sums)
        loss_sum, correct, n = sums.tolist()
        return EpochStats(loss_sum / max(n, 1), correct / max(n, 1), int(n))

    def evaluate_val(self) -> tuple[EvalResult, Embedding | None]:
        self.control.collective = False
        try:
            result, _ = super().evaluate_val()
        finally:
            self.control.collective = True
        return gather_results(result, self.val_positions, len(self.parts.class_names)), None

    def evaluate_test(self) -> EvalResult | None:
        self.control.collective = False  # every process scores the whole test split
        try:
            return super().evaluate_test()
        finally:
            self.control.collective = True


def gather_results(result: EvalResult, positions: np.ndarray, n_classes: int) -> EvalResult:
    """The metrics of the whole split from each process's share (every process gets them)."""
    shares: list[Any] = [None] * dist.get_world_size()
    dist.all_gather_object(shares, (positions, result.predictions, result.labels, result.loss))
    order = np.concatenate([share[0] for share in shares])
    ranks = np.argsort(order, kind="stable")
    predictions = np.concatenate([share[1] for share in shares])[ranks]
    labels = np.concatenate([share[2] for share in shares])[ranks]
    loss_sum = sum(share[3] * len(share[0]) for share in shares if len(share[0]))
    return EvalResult.of(labels, predictions, loss_sum / max(len(labels), 1), n_classes)


class DistributedTrainer(Trainer):
    """A :class:`Trainer` for one process of a torchrun group (see the module docstring)."""

    def __init__(self, config: RunConfig, context: DistributedContext) -> None:
        config = config.replace(device=context.device)
        super().__init__(config if context.is_main else config.replace(runs_dir=None))
        self.context = context
        self._group_control = DistributedControl(
            context, on_pause=self._paused, on_resume=self._resumed
        )
        self._control = self._group_control  # stop() now reaches every process

    def _make_loop(self, parts: TrainingParts, setup: DeviceSetup) -> TrainingLoop:
        return DistributedTrainingLoop(
            parts, self.config, setup, self._group_control, self._emit, self.context
        )
