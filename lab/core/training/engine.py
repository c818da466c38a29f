"""The Trainer: runs a :class:`RunConfig` on a background thread and reports events.

Event order of a run (``*`` repeats)::

    RUN_STARTED
    ( EPOCH_STARTED  [GROUPS_UNFROZEN]  STEP_COMPLETED*  EVALUATION_COMPLETED  [CHECKPOINT_SAVED] )*
    RUN_COMPLETED

``CHECKPOINT_SAVED`` follows an evaluation whose validation accuracy beat every earlier
one, when the run writes to a runs directory. ``RUN_PAUSED`` / ``RUN_RESUMED`` pairs can
appear between any two steps or evaluation batches. A run ends with exactly one of
``RUN_COMPLETED``, ``RUN_STOPPED`` (after ``stop()``, within one step) or ``RUN_FAILED``
(an error, with a readable message); if set-up fails, ``RUN_FAILED`` is the only event.
The weights trained so far stay in ``trainer.model`` whichever way a run ends; a
completed run ends with the best validation epoch's weights.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import torch
from torch import nn

from lab.core.data import DataError
from lab.core.hardware.device import DeviceSetup, cpu_state_dict, setup_device
from lab.core.hardware.memory import release_memory
from lab.core.hardware.openmp import release_team
from lab.core.models.explain import CamMap, grad_cam
from lab.core.models.finetune import (
    FreezeSummary,
    apply_approach,
    backbone_frozen,
    lock_all_but_head,
    summarize,
)
from lab.core.models.groups import LayerGroup
from lab.core.runs.export import export_model
from lab.core.runs.saved import RunRecorder
from lab.core.serving.shutdown import leaving, watch
from lab.core.training import staged
from lab.core.training.config import ConfigError, RunConfig
from lab.core.training.control import RunControl, StopRequested
from lab.core.training.events import (
    CheckpointSaved,
    EpochStarted,
    Event,
    EventBus,
    Handler,
    HandlerHandle,
    Payload,
    RunPaused,
    RunResumed,
    RunStopped,
)
from lab.core.training.failures import HandlerError
from lab.core.training.history import RunHistory
from lab.core.training.lr_finder import LRFinderResult, find_lr
from lab.core.training.parts import DataLike, TrainingParts, check_parts, parts_from_config
from lab.core.training.parts import parts_from_modules as _parts_from_modules
from lab.core.training.prediction import as_input, predict_top_k
from lab.core.training.run_payloads import (
    evaluation_completed,
    run_completed,
    run_failed,
    run_started,
)
from lab.core.training.training_loop import TrainingLoop

log = logging.getLogger(__name__)


class Trainer:
    """Trains one run on a background thread; see the module docstring for events.

    Build it from a config (``Trainer(config)``: model from the catalog, data from
    ``lab.core.data``) or from your own parts (:meth:`from_parts`). The model and data
    are built on first need: ``prepare()``, ``model``, ``summary()`` or the run thread.
    """

    def __init__(self, config: RunConfig | None = None, parts: TrainingParts | None = None) -> None:
        self.config = config if config is not None else RunConfig()
        if parts is None:
            from lab.core.models import catalog

            catalog.get_entry(self.config.model)  # an unknown model fails right here
        self._parts = parts
        self._prepared = False
        self._bus = EventBus()
        self.history = RunHistory()
        self._state = "idle"
        self._lock = threading.Lock()
        self._prepare_lock = threading.RLock()
        self._thread: threading.Thread | None = None
        self._control = RunControl(on_pause=self._paused, on_resume=self._resumed)
        self._loop: TrainingLoop | None = None
        self._recorder: RunRecorder | None = None
        self._setup: DeviceSetup | None = None
        self._stop_reason = "stopped by user"
        self.run_id = f"{datetime.now():%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:6]}"
        #: The exception that ended the run, if it failed (the message is in the event).
        self.error: BaseException | None = None

    @classmethod
    def from_parts(
        cls,
        model: nn.Module,
        train: DataLike,
        val: DataLike,
        class_names: Sequence[str],
        *,
        config: RunConfig | None = None,
        head: nn.Module | None = None,
        groups: Sequence[LayerGroup] | None = None,
        test: DataLike | None = None,
        transform: Callable[[Any], torch.Tensor] | None = None,
    ) -> Trainer:
        """A trainer for a model outside the catalog, e.g. a tiny model on tensors.

        ``train``/``val``/``test`` are datasets or ``(inputs, labels)`` tensors; ``head``
        defaults to the model's last child and ``groups`` to (backbone, head). Only the
        training settings of ``config`` apply (its ``model`` and ``data`` are labels).
        """
        parts = _parts_from_modules(
            model, train, val, class_names, head=head, groups=groups, test=test, transform=transform
        )
        return cls(config or RunConfig(model="custom", runs_dir=None), parts)

    # -- building ---------------------------------------------------------------------

    def prepare(self) -> TrainingParts:
        """Build model and data now (the run thread does it otherwise) and apply freezing."""
        with self._prepare_lock:  # the UI and the run thread may both ask first
            if self._parts is None:
                self._parts = parts_from_config(self.config)
            if not self._prepared:
                check_parts(self._parts, self.config)
                groups, config = self._parts.groups, self.config
                apply_approach(groups, *staged.initial_groups(config, len(groups)))
                if backbone_frozen(groups):
                    lock_all_but_head(self._parts.model, self._parts.head)
                self._prepared = True
            return self._parts

    @property
    def parts(self) -> TrainingParts:
        return self.prepare()

    @property
    def model(self) -> nn.Module:
        """The model being trained (built on first access)."""
        return self.prepare().model

    @property
    def class_names(self) -> tuple[str, ...]:
        return self.prepare().class_names

    def summary(self) -> FreezeSummary:
        """Trainable / frozen parameters and learning rate per layer group."""
        return summarize(
            self.prepare().groups, self.config.lr, self.config.effective_backbone_lr_factor
        )

    # -- control ----------------------------------------------------------------------

    @property
    def state(self) -> str:
        """One of ``lab.core.training.history.STATES``."""
        return self._state

    @property
    def refused(self) -> bool:
        """Whether set-up refused a setting (a :class:`ConfigError` or :class:`DataError`,
        e.g. a batch larger than the training split) before the run started: nothing
        trained and nothing was saved, so it is not a run to compare."""
        return self.history.started is None and isinstance(self.error, ConfigError | DataError)

    @property
    def run_dir(self) -> Path | None:
        return self._recorder.run_dir if self._recorder else None

    def on(self, event: Event | None, handler: Handler) -> HandlerHandle:
        """Subscribe ``handler`` (called on the run thread; keep it O(1), e.g. a queue put)."""
        return self._bus.on(event, handler)

    def start(self) -> None:
        """Start the run on a background thread (returns at once)."""
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                raise RuntimeError(
                    "start(): this run is already running; call stop() (or wait with join()) "
                    "before starting again"
                )
            if self._state != "idle":
                raise RuntimeError(
                    f"start(): this Trainer already ran (state {self._state!r}); create a new "
                    "Trainer for another run"
                )
            self._state = "running"
            release_team()  # the run thread's workers keep spinning (hardware.openmp)
            self._thread = threading.Thread(target=self._run, name="lab-trainer", daemon=True)
            self._thread.start()
        watch(self)  # a kernel that shuts down stops this run between steps and saves it

    def pause(self) -> None:
        """Pause before the next step (RUN_PAUSED fires then). No-op unless running."""
        if self._state == "running":
            self._control.request_pause()

    def resume(self) -> None:
        """Continue a paused run (RUN_RESUMED fires)."""
        self._control.request_resume()

    def stop(self, reason: str = "stopped by user") -> None:
        """End the run after the current step (RUN_STOPPED fires with ``reason``).

        No-op when not running.
        """
        if self._state in ("running", "paused"):
            self._stop_reason = reason
            self._control.request_stop()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the run thread; True when it has finished (or never started)."""
        if self._thread is None:
            return True
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def run(self) -> RunHistory:
        """Start and wait: the whole run, blocking (scripts and benchmarks)."""
        self.start()
        self.join()
        return self.history

    # -- using the model --------------------------------------------------------------

    def predict(self, image: Any, k: int = 5) -> list[tuple[str, float]]:
        """Top-``k`` (class name, probability) for one PIL image, array or input tensor."""
        parts = self.prepare()
        device = self._setup.device if self._setup else next(parts.model.parameters()).device
        with self._control.model_lock:
            return predict_top_k(parts.model, image, parts.class_names, parts.transform, k, device)

    def explain(self, image: Any) -> CamMap:
        """Grad-CAM of one PIL image (or input tensor) for the predicted class."""
        parts = self.prepare()
        inputs = as_input(image, parts.transform)
        with self._control.model_lock:  # the map is drawn on a copy taken here
            (cam,) = grad_cam(parts.model, parts.groups, inputs)
        return cam

    def find_lr(
        self, start_lr: float = 1e-7, end_lr: float = 10.0, num_steps: int = 100
    ) -> LRFinderResult:
        """Exponential LR sweep on the training data; the model is left as it was."""
        if self._state in ("running", "paused"):
            raise RuntimeError("find_lr(): a run is in progress; stop it or use a new Trainer")
        setup = self._setup or setup_device(
            self.config.device, self.config.amp, self.config.cpu_bf16
        )
        return find_lr(self.prepare(), self.config, setup, start_lr, end_lr, num_steps)

    def export(self, out_dir: str | Path, formats: Sequence[str] | None = None) -> dict[str, Path]:
        """Export the current model (see :func:`lab.core.runs.export.export_model`)."""
        parts = self.prepare()
        with self._control.model_lock:
            return export_model(
                parts.model,
                out_dir,
                class_names=parts.class_names,
                preprocessing=parts.preprocessing,
                config=self.config.to_dict(),
                formats=formats,
            )

    # -- the run thread ---------------------------------------------------------------

    def _emit(self, payload: Payload, final: bool = False) -> None:
        """Record, fold and deliver ``payload``.

        ``final`` (the run's ``RUN_FAILED``): nothing may stop its delivery, neither a
        recorder on a full disk nor a failing handler, so both are only logged.
        """
        if self._recorder is not None:  # first: an event that cannot be saved did not happen
            try:
                self._recorder.record(payload)
            except Exception:
                if not final:
                    raise
                log.warning("could not record %s", payload.event.value, exc_info=True)
        self.history.apply(payload)
        self._state = self.history.state
        try:
            self._bus.fire(payload)
        except Exception as exc:  # a broken view must not leave the run half-reported
            if not final:
                raise HandlerError(payload.event.value, exc) from exc
            log.exception("a handler for %s raised", payload.event.value)

    def _where(self) -> tuple[int, int]:
        loop = self._loop
        return (loop.epoch, loop.global_step) if loop else (0, 0)

    def _paused(self) -> None:
        self._emit(RunPaused(*self._where()))

    def _resumed(self) -> None:
        self._emit(RunResumed(*self._where()))

    def _run(self) -> None:
        try:
            try:
                self._train()
            except StopRequested:
                self._emit(RunStopped(*self._where(), reason=self._stop_reason))
        except BaseException as exc:  # the thread must never die silently
            if self.history.final is not None:
                # The final event was delivered; one of its handlers raised afterwards.
                log.exception("a handler for %s raised", self.history.final.event.value)
            else:
                self._fail(exc)
        finally:
            if self._recorder is not None:
                self._recorder.close()
            self._loop = None  # its optimizer state, caches and batches go with it
            if self._parts is not None:
                self._parts.release_caches()  # the decoded pixels too: the run is over
            if not leaving():  # a process that is ending gives all its memory back anyway
                # Only a stopped or failed run's traceback holds tensors in reference cycles.
                release_memory(collect=self._state != "completed")

    def _fail(self, exc: BaseException) -> None:
        self.error = exc
        log.debug("run %s failed", self.run_id, exc_info=exc)
        device = str(self._setup.device) if self._setup else self.config.device
        self._emit(run_failed(exc, self._loop, self.config, device), final=True)

    def _train(self) -> None:
        parts = self.prepare()
        loop = self._begin(parts)
        best_acc, best_state = -1.0, None
        plan = staged.groups_per_epoch(self.config, len(parts.groups))
        for epoch in range(1, self.config.epochs + 1):
            self._emit(EpochStarted(epoch, self.config.epochs))
            if epoch > 1 and plan[epoch - 1] != plan[epoch - 2]:
                k, before = plan[epoch - 1], plan[epoch - 2]
                self._emit(staged.unfreeze(loop, parts, self.config, epoch, k, before))
            val_acc = self._epoch(loop, epoch)
            if val_acc > best_acc:
                best_acc, best_state = val_acc, cpu_state_dict(parts.model)
                self._save_checkpoint(parts, epoch, val_acc)
        if best_state is not None:
            parts.model.load_state_dict(best_state)
        test = loop.evaluate_test()
        self._emit(run_completed(self.config.epochs, loop.global_step, best_acc, test))

    def _begin(self, parts: TrainingParts) -> TrainingLoop:
        """Set up device, loop and recorder, report RUN_STARTED; returns the loop."""
        self._setup = setup_device(self.config.device, self.config.amp, self.config.cpu_bf16)
        torch.manual_seed(self.config.seed)  # dropout and other randomness per seed
        loop = self._make_loop(parts, self._setup)
        if self.config.runs_dir:
            self._recorder = RunRecorder(Path(self.config.runs_dir) / self.run_id, self.config)
        self._loop = loop
        run_dir, steps = (str(self.run_dir) if self.run_dir else None), loop.steps_per_epoch
        self._emit(run_started(self.run_id, self.config, parts, steps, str(self._setup), run_dir))
        loop.calibrate_random_init(frozen=True)  # a frozen random backbone, before caching
        return loop

    def _epoch(self, loop: TrainingLoop, epoch: int) -> float:
        """Train and evaluate one epoch, report it; returns its validation accuracy."""
        stats = loop.run_epoch(epoch)
        loop.calibrate_random_init(frozen=False)
        result, embedding = loop.evaluate_val()
        self._emit(evaluation_completed(epoch, loop.global_step, stats, result, embedding))
        return result.acc

    def _make_loop(self, parts: TrainingParts, setup: DeviceSetup) -> TrainingLoop:
        """The epochs' machinery (a distributed run swaps in its own)."""
        return TrainingLoop(parts, self.config, setup, self._control, self._emit)

    def _save_checkpoint(self, parts: TrainingParts, epoch: int, val_acc: float) -> None:
        if self._recorder is None:
            return
        path = self._recorder.save_checkpoint(
            parts.model,
            class_names=parts.class_names,
            preprocessing=parts.preprocessing,
            config=self.config,
            epoch=epoch,
            val_acc=val_acc,
        )
        self._emit(CheckpointSaved(epoch=epoch, path=str(path), val_acc=val_acc))
