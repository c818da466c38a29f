"""One-sentence explanations for the training, results and test steps (for workshops)."""

from __future__ import annotations

import html

import ipywidgets as widgets

RUN_HELP: dict[str, str] = {
    "epochs": "One epoch is one pass over every training image; more epochs, more learning "
    "(and more risk of memorising).",
    "batch_size": "Images the model looks at before each weight update; larger batches are "
    "smoother but need more memory.",
    "optimizer": "The rule that turns gradients into weight updates: Adam adapts its steps "
    "per weight, SGD takes plain steps.",
    "lr": "Learning rate: the size of each update step; too high and the loss explodes, too "
    "low and nothing moves.",
    "lr_finder": "Try learning rates from tiny to huge for a few steps and plot the loss; a "
    "good LR sits where the loss falls fastest.",
    "schedule": "How the learning rate changes during training: constant, cosine decay, or "
    "one warm-up-then-decay cycle.",
    "controls": "Start a run, pause and resume it, or stop it; a stopped run keeps "
    "everything it learned so far.",
    "progress": "Steps done out of all steps, with training speed in images per second and "
    "the estimated time left.",
    "curves": "Loss should fall and accuracy rise; a validation curve that turns away from "
    "the training curve means overfitting.",
    "confusion": "Rows are true classes, columns the model's guesses: the diagonal is right, "
    "everything else shows which classes get mixed up. Click a cell to see its images.",
    "epoch": "Which epoch's evaluation the confusion matrix and the embedding show.",
    "gallery": "Validation images the model got wrong (or those of the clicked cell), "
    "with the true and the predicted class.",
    "embedding": "Each dot is a validation image placed by the model's features; classes "
    "that form separate clusters are easy to tell apart. Crosses are mistakes.",
    "embedding_method": "PCA is a fast linear projection fitted once per run; t-SNE keeps "
    "neighbours together but is slower. Applies to the next run.",
    "compare": "Runs of this session side by side, e.g. from scratch vs feature extraction "
    "vs fine-tuning.",
    "checkpoint": "Use a listed run's best epoch in step 7 (predict, Grad-CAM, downloads): a "
    "run whose process ended mid-run keeps the best epoch it reached.",
    "test": "Accuracy on the test images, which were held back from training and from "
    "choosing settings: the honest final score.",
    "predict": "Upload any image and see the five classes the trained model finds most likely.",
    "export": "Save the trained model as a state dict with its class names and preprocessing, "
    "or as TorchScript that runs without this lab.",
}


def run_help(key: str) -> str:
    """The one-sentence explanation for ``key``."""
    try:
        return RUN_HELP[key]
    except KeyError:
        known = ", ".join(sorted(RUN_HELP))
        raise KeyError(f"help key {key!r} is unknown: choose one of {known}") from None


def run_help_line(key: str) -> widgets.HTML:
    """A short grey help line for ``key`` with the ``tl-help`` class."""
    text = html.escape(run_help(key))
    line = widgets.HTML(f'<span style="color:#666;font-size:90%">{text}</span>')
    line.add_class("tl-help")
    return line
