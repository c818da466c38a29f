"""What a participant takes home, as bytes: the model in three formats, metrics, confusion.

These are the files a browser download hands over (a dashboard participant has no
access to the server's disk). The model files are the exporter's own, written to a
temporary folder and read back; the metrics come from the run's history.
"""

from __future__ import annotations

import csv
import io
import json
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from lab.core.runs.export import EXPORT_FORMAT
from lab.core.runs.saved import payload_to_dict
from lab.core.training.events import RunCompleted
from lab.core.training.history import RunHistory

#: Download kind -> (file name ending, MIME type).
MODEL_FILES = {
    "state_dict": ("model_state.pt", "application/octet-stream"),
    "torchscript": ("model_torchscript.pt", "application/octet-stream"),
    "onnx": ("model.onnx", "application/octet-stream"),
}

TakeHomeFile = tuple[str, str, bytes]


def model_file(trainer: Any, kind: str) -> TakeHomeFile:
    """``(file name, MIME type, bytes)`` of ``trainer``'s model exported as ``kind``."""
    if kind not in MODEL_FILES:
        raise ValueError(f"kind={kind!r}: choose one of {', '.join(MODEL_FILES)}")
    ending, mime = MODEL_FILES[kind]
    with tempfile.TemporaryDirectory(prefix="transfer-lab-export-") as folder:
        written = trainer.export(folder, formats=[kind])
        data = Path(written[kind]).read_bytes()
    return f"{trainer.run_id}-{ending}", mime, data


def model_metadata(trainer: Any) -> TakeHomeFile:
    """The model's metadata as JSON: classes, preprocessing, run settings, test score."""
    parts = trainer.prepare()
    final = trainer.history.final
    test = final.test if isinstance(final, RunCompleted) else None
    values = {
        "format": EXPORT_FORMAT,
        "run_id": trainer.run_id,
        "class_names": list(parts.class_names),
        "preprocessing": parts.preprocessing,
        "config": trainer.config.to_dict(),
        "test_accuracy": None if test is None else test.acc,
        "files": {kind: f"{trainer.run_id}-{ending}" for kind, (ending, _) in MODEL_FILES.items()},
    }
    text = json.dumps(values, indent=2, default=str)
    return f"{trainer.run_id}-metadata.json", "application/json", text.encode()


EPOCH_COLUMNS = ("epoch", "global_step", "train_loss", "train_acc", "val_loss", "val_acc")


def metrics_csv(history: RunHistory, name: str = "run") -> TakeHomeFile:
    """One row per evaluated epoch: losses and accuracies, then recall per class."""
    classes = list(history.class_names)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([*EPOCH_COLUMNS, *(f"recall_{c}" for c in classes)])
    for evaluation in history.evaluations:
        row = [getattr(evaluation, column) for column in EPOCH_COLUMNS]
        writer.writerow([*row, *np.asarray(evaluation.recall).tolist()])
    return f"{name}-metrics.csv", "text/csv", out.getvalue().encode()


def metrics_json(history: RunHistory, name: str = "run") -> TakeHomeFile:
    """Every step and evaluation of the run, and how it ended, as JSON."""
    skip = {"val_predictions", "embedding"}  # per-image data, not metrics
    values = {
        "name": history.name,
        "state": history.state,
        "class_names": list(history.class_names),
        "steps": [payload_to_dict(step) for step in history.steps],
        "epochs": [
            {k: v for k, v in payload_to_dict(e).items() if k not in skip}
            for e in history.evaluations
        ],
        "final": payload_to_dict(history.final) if history.final is not None else None,
    }
    text = json.dumps(values, indent=2, default=str)
    return f"{name}-metrics.json", "application/json", text.encode()


def confusion_csv(history: RunHistory, name: str = "run", epoch: int | None = None) -> TakeHomeFile:
    """The validation confusion matrix of ``epoch`` (default: the last) as CSV.

    Rows are true classes, columns predicted ones.
    """
    if not history.evaluations:
        raise ValueError("no evaluation yet: the confusion matrix exists after the first epoch")
    chosen = [e for e in history.evaluations if epoch is None or e.epoch == epoch]
    if not chosen:
        done = [e.epoch for e in history.evaluations]
        raise ValueError(f"epoch={epoch}: choose one of the evaluated epochs {done}")
    matrix = np.asarray(chosen[-1].confusion)
    classes = list(history.class_names) or [str(i) for i in range(len(matrix))]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["true \\ predicted", *classes])
    for label, row in zip(classes, matrix.tolist(), strict=True):
        writer.writerow([label, *row])
    return f"{name}-confusion-epoch{chosen[-1].epoch}.csv", "text/csv", out.getvalue().encode()
