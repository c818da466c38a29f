"""A synthetic run, built from real event payloads, for the plot and widget tests."""

from __future__ import annotations

import numpy as np

from lab.core.training.events import (
    Embedding,
    EvaluationCompleted,
    Payload,
    RunCompleted,
    RunStarted,
    StepCompleted,
    TestMetrics,
)
from lab.core.training.history import RunHistory

CLASSES = ("cat", "dog", "fox")


def synthetic_events(
    epochs: int = 3, steps_per_epoch: int = 4, n_val: int = 12, seed: int = 0
) -> list[Payload]:
    """A complete run whose validation predictions get better every epoch."""
    rng = np.random.default_rng(seed)
    n_classes = len(CLASSES)
    labels = np.arange(n_val) % n_classes
    events: list[Payload] = [
        RunStarted(
            run_id="r1",
            config={"model": "tiny", "approach": "fine_tuning"},
            class_names=CLASSES,
            n_train=40,
            n_val=n_val,
            steps_per_epoch=steps_per_epoch,
            total_epochs=epochs,
            device="cpu",
            run_dir=None,
            trainable_params=10,
            frozen_params=5,
        )
    ]
    total = epochs * steps_per_epoch
    for epoch in range(1, epochs + 1):
        for step in range(1, steps_per_epoch + 1):
            g = (epoch - 1) * steps_per_epoch + step
            events.append(StepCompleted(epoch, step, g, total, 2.0 / g, 0.01, 100.0, g * 0.1))
        wrong = rng.random(n_val) < 0.6 / epoch
        preds = np.where(wrong, (labels + 1) % n_classes, labels)
        confusion = np.zeros((n_classes, n_classes), dtype=int)
        np.add.at(confusion, (labels, preds), 1)
        embedding = Embedding(
            method="pca",
            points=rng.normal(size=(n_val, 2)),
            labels=labels,
            predictions=preds,
            indices=np.arange(n_val),
        )
        events.append(
            EvaluationCompleted(
                epoch=epoch,
                global_step=epoch * steps_per_epoch,
                train_loss=1.0 / epoch,
                train_acc=1 - 0.5 / epoch,
                val_loss=1.2 / epoch,
                val_acc=float((preds == labels).mean()),
                confusion=confusion,
                precision=np.ones(n_classes),
                recall=np.ones(n_classes),
                val_predictions=preds,
                embedding=embedding,
            )
        )
    test = TestMetrics(loss=0.5, acc=0.75, confusion=np.eye(n_classes, dtype=int), n=9)
    events.append(RunCompleted(epochs, total, 0.9, test))
    return events


def history_of(events: list[Payload], name: str = "run") -> RunHistory:
    history = RunHistory(name=name)
    for payload in events:
        history.apply(payload)
    return history
