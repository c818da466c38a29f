"""Runs on disk: written as they go, loaded back with the same curves.

A run folder holds ``config.json``, ``metrics.jsonl`` (one JSON line per event, appended
and flushed as the run goes), ``best.pt`` (state dict + class names + preprocessing +
config of the best validation epoch) and ``test.json`` (final test metrics). A stopped
or failed run keeps whatever it had written. Files are replaced whole (``lab.core.runs.atomic``);
damaged folders are read by ``lab.core.runs.run_folder``.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from lab.core.runs import atomic
from lab.core.training import events
from lab.core.training.config import RunConfig
from lab.core.training.events import Payload, RunCompleted, RunFailed, RunStopped, readonly
from lab.core.training.history import RunHistory

CHECKPOINT_FORMAT = "transfer-lab-checkpoint/1"
PAYLOAD_TYPES: dict[str, type[Payload]] = {
    cls.event.value: cls
    for cls in (
        events.RunStarted,
        events.EpochStarted,
        events.GroupsUnfrozen,
        events.StepCompleted,
        events.EvaluationCompleted,
        events.CheckpointSaved,
        events.RunPaused,
        events.RunResumed,
        events.RunStopped,
        events.RunCompleted,
        events.RunFailed,
    )
}


# -- payloads <-> JSON ----------------------------------------------------------------


def _plain(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def payload_to_dict(payload: Payload) -> dict[str, Any]:
    """``{"type": event name, field: value, ...}`` with arrays as (nested) lists."""
    return {"type": payload.event.value, **_plain(payload)}


def _typed(hint: Any, value: Any) -> Any:
    if value is None:
        return None
    if hint is np.ndarray:
        return readonly(np.asarray(value))
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        inner = [h for h in typing.get_args(hint) if h is not type(None)]
        return _typed(inner[0], value) if len(inner) == 1 else value
    if typing.get_origin(hint) is tuple:
        return tuple(value)
    if dataclasses.is_dataclass(hint) and isinstance(value, dict):
        return _build(hint, value)
    return value


def _build(cls: Any, values: dict[str, Any]) -> Any:
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: _typed(hints[k], v) for k, v in values.items() if k in names})


def payload_from_dict(values: dict[str, Any]) -> Payload:
    """Inverse of :func:`payload_to_dict`."""
    kind = values.get("type")
    if kind not in PAYLOAD_TYPES:
        raise ValueError(f"type={kind!r}: not an event name ({', '.join(PAYLOAD_TYPES)})")
    payload: Payload = _build(PAYLOAD_TYPES[kind], values)
    return payload


def read_history(path: str | Path, name: str | None = None) -> RunHistory:
    """Fold the events of a ``metrics.jsonl`` file into a :class:`RunHistory`.

    Lines that are not events are skipped (:func:`lab.core.runs.run_folder.read_events` names
    them); a run that never ended reads back as ``"interrupted"``.
    """
    from lab.core.runs.run_folder import read_events

    path = Path(path)
    return read_events(path, name or path.parent.name)[0]


# -- writing ----------------------------------------------------------------------------


class RunRecorder:
    """Writes one run's folder as events arrive (called on the run thread)."""

    def __init__(self, run_dir: str | Path, config: RunConfig) -> None:
        self.run_dir = Path(run_dir)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        atomic.write_json(self.run_dir / "config.json", config.to_dict())
        self._metrics: atomic.AppendLog | None = atomic.AppendLog(self.run_dir / "metrics.jsonl")

    @property
    def checkpoint_path(self) -> Path:
        return self.run_dir / "best.pt"

    def record(self, payload: Payload) -> None:
        """Append ``payload`` to metrics.jsonl; write test.json and close at the end."""
        if self._metrics is None:
            return
        # test.json first: a run whose results could not be saved does not read "completed".
        if isinstance(payload, RunCompleted) and payload.test is not None:
            atomic.write_json(self.run_dir / "test.json", _plain(payload.test))
        try:
            # allow_nan: a diverged loss is reported as NaN rather than refused. A crash
            # loses at most the line being written.
            line = json.dumps(payload_to_dict(payload)) + "\n"
            self._metrics.append(line)
        finally:
            if isinstance(payload, RunCompleted | RunStopped | RunFailed):
                self.close()

    def save_checkpoint(
        self,
        model: nn.Module,
        *,
        class_names: tuple[str, ...],
        preprocessing: dict[str, Any] | None,
        config: RunConfig,
        epoch: int,
        val_acc: float,
    ) -> Path:
        """Write best.pt atomically (a crash mid-write keeps the previous best)."""
        checkpoint = {
            "format": CHECKPOINT_FORMAT,
            "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
            "class_names": list(class_names),
            "preprocessing": preprocessing,
            "config": config.to_dict(),
            "epoch": epoch,
            "val_acc": val_acc,
        }
        return atomic.write_torch(self.checkpoint_path, checkpoint)

    def close(self) -> None:
        metrics, self._metrics = self._metrics, None
        if metrics is not None:
            metrics.close()


# -- reading ----------------------------------------------------------------------------


@dataclass
class LoadedRun:
    """A run brought back from its folder."""

    path: Path
    config: RunConfig | None
    history: RunHistory
    model: nn.Module | None  # best checkpoint's weights, in eval mode; None without one
    class_names: tuple[str, ...]
    checkpoint: dict[str, Any] | None  # best.pt metadata (no state dict)
    test: dict[str, Any] | None
    problems: list[str] = field(default_factory=list)  # damaged files, named

    @property
    def interrupted(self) -> bool:
        """The process died mid-run; the metrics and checkpoint it reached are kept."""
        return self.history.state == "interrupted"

    def checkpoint_config(self) -> RunConfig | None:
        """The settings saved inside ``best.pt`` (for a run whose config.json is damaged)."""
        return _checkpoint_config(self.checkpoint)


def _checkpoint_config(checkpoint: dict[str, Any] | None) -> RunConfig | None:
    try:
        return RunConfig.from_dict((checkpoint or {})["config"])
    except Exception:  # noqa: BLE001 - missing or damaged: there is no config to use
        return None


def load_checkpoint(path: str | Path, map_location: str = "cpu") -> dict[str, Any]:
    """Read a checkpoint with ``weights_only=True`` (no arbitrary code from the file)."""
    checkpoint = torch.load(Path(path), map_location=map_location, weights_only=True)
    if not isinstance(checkpoint, dict) or "state_dict" not in checkpoint:
        raise ValueError(f"path={str(path)!r}: not a checkpoint written by this lab")
    return checkpoint


def _build_model(config: RunConfig, n_classes: int) -> nn.Module | None:
    from lab.core.models import catalog

    try:
        catalog.get_entry(config.model)
    except (KeyError, LookupError, ValueError):
        return None  # a custom model: pass model= to load_run
    return catalog.build_model(config.model, num_classes=n_classes, pretrained=False)


def load_run(path: str | Path, model: nn.Module | None = None, build: bool = True) -> LoadedRun:
    """Load a run folder: config, history rebuilt from metrics.jsonl, best weights.

    The weights go into ``model`` when given (a model outside the catalog), otherwise
    into a model rebuilt from the catalog (``build=False`` skips that). Damaged files
    do not fail the load: what could not be read is named in ``problems``, and a run
    whose process was killed has ``history.state == "interrupted"``.
    """
    from lab.core.runs.run_folder import read_run_folder

    path = Path(path)
    if not (path / "config.json").exists() and not (path / "metrics.jsonl").exists():
        raise FileNotFoundError(
            f"path={str(path)!r} is not a run folder (no config.json or metrics.jsonl): "
            "choose a folder inside the runs directory"
        )
    folder = read_run_folder(path)
    config, history, checkpoint = folder.config, folder.history, folder.checkpoint
    class_names = tuple(checkpoint["class_names"]) if checkpoint else history.class_names
    if checkpoint is None:
        model = None
    else:
        # config.json damaged: the checkpoint carries the same settings.
        settings = config or _checkpoint_config(checkpoint)
        if model is None and build and settings is not None:
            model = _build_model(settings, len(class_names))
        if model is not None:
            try:
                model.load_state_dict(checkpoint["state_dict"])
                model.eval()
            except (RuntimeError, KeyError, TypeError) as exc:
                folder.problems.append(f"best.pt: weights do not fit the model ({exc})")
                model = None
    return LoadedRun(
        path=path,
        config=config,
        history=history,
        model=model,
        class_names=class_names,
        checkpoint={k: v for k, v in checkpoint.items() if k != "state_dict"}
        if checkpoint
        else None,
        test=folder.test,
        problems=folder.problems,
    )


def list_runs(runs_dir: str | Path = "runs") -> list[Path]:
    """Run folders under ``runs_dir``, newest first."""
    root = Path(runs_dir)
    if not root.is_dir():
        return []
    found = [
        p
        for p in root.iterdir()
        if p.is_dir() and ((p / "metrics.jsonl").exists() or (p / "config.json").exists())
    ]
    return sorted(found, key=lambda p: p.stat().st_mtime, reverse=True)
