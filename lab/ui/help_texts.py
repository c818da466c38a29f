"""One-sentence explanations of each concept, shown as tooltips and help lines.

Written for workshops: each entry should make sense to someone who has trained a
model once but never done transfer learning.
"""

from __future__ import annotations

HELP: dict[str, str] = {
    # Model
    "model": (
        "The network architecture and the pretrained weights it starts from; "
        "bigger models are usually more accurate but slower to train and run."
    ),
    "pretrained": (
        "Start from weights learned on ImageNet (1.3 M photos, 1000 classes) instead of "
        "random numbers, so the network already knows edges, textures and shapes."
    ),
    "random_init": (
        "Ignore the pretrained weights and start from random numbers: the from-scratch "
        "baseline that shows what transfer learning buys you. BatchNorm statistics of a "
        "random network are recomputed on training images before it is evaluated or its "
        "features are taken, here, in from-scratch runs and in the probe alike."
    ),
    "params": "Number of learnable numbers (weights) in the network, in millions.",
    "file_size": "Size of the weights file on disk, in megabytes.",
    "gflops": (
        "Billions of multiply-adds for one image: a rough measure of how slow the "
        "model is to train and run."
    ),
    "acc1": (
        "Top-1 accuracy on the ImageNet validation set: how often the model's first "
        "guess is right on the task it was pretrained on."
    ),
    "availability": (
        "offline: weights ship with this lab; cached: already downloaded on this "
        "machine; download: needs an internet connection the first time."
    ),
    "offline_only": "Show only models whose weights are usable without an internet connection.",
    "downloads_locked": (
        "The host of this server decides whether new weights may be downloaded "
        "(LAB_ALLOW_DOWNLOADS); here only models usable offline can be chosen."
    ),
    "max_size": "Hide models whose weights file is larger than this many megabytes.",
    "sort_by": "Column the model table is sorted by.",
    "x_axis": "What the scatter plot puts on its horizontal axis: model size or compute.",
    "scatter": "Accuracy against cost for every listed model; click a point to choose it.",
    # Data
    "dataset": (
        "The images and labels you want the model to learn; built-in sets work "
        "offline, torchvision ones download on first use."
    ),
    "folder": (
        "A folder with one sub-folder per class, each holding that class's images "
        "(for example pets/cat/*.jpg and pets/dog/*.jpg)."
    ),
    "load": "Read the data set and show sample images, class counts and split sizes.",
    "n_per_class": (
        "How many training images per class to use; fewer images show how well "
        "transfer learning copes with little data."
    ),
    "val_fraction": (
        "Share of the images held back to measure accuracy during training; the "
        "model never learns from them."
    ),
    "test_fraction": (
        "Share of the images kept aside until the very end for a final, unbiased score."
    ),
    "splits": (
        "train: the model learns from these; validation: checked after each epoch; "
        "test: scored once at the end."
    ),
    "class_counts": "How many images each class has, split into train, validation and test.",
    "image_size": (
        "Images are resized to this many pixels before entering the model: small sizes "
        "train much faster on a CPU, the weights' own size is usually most accurate."
    ),
    "augment": (
        "Randomly crop, flip and recolour training images each epoch so the model "
        "sees more variety and memorises less."
    ),
    "preview": "A few images from each class, as the data set stores them.",
    "augment_preview": "The same image after several random augmentations, as the model sees it.",
    # Approach
    "approach": (
        "Feature extraction trains only the new head; fine-tuning also adapts the last "
        "blocks of the backbone; from scratch trains everything from random weights."
    ),
    "feature_extraction": (
        "Keep the pretrained backbone frozen and train only the new classification head: "
        "fast and hard to overfit."
    ),
    "fine_tuning": (
        "Train the head and also nudge the last blocks of the pretrained backbone, "
        "usually with a smaller learning rate."
    ),
    "scratch": (
        "Train every layer starting from random weights: the baseline without "
        "transfer learning, slow and data-hungry. Before each evaluation its BatchNorm "
        "statistics are recomputed on training images, as for the probe's random twin."
    ),
    "layer_groups": (
        "The network's blocks from input (stem) to output (head); a frozen block keeps "
        "its pretrained weights unchanged during training."
    ),
    "trainable_groups": (
        "Train the last k blocks (the head counts as one) and freeze the rest; early "
        "blocks hold generic features, late blocks task-specific ones."
    ),
    "param_counts": (
        "Trainable parameters are updated by the optimizer; frozen ones keep their "
        "pretrained values and make each step cheaper."
    ),
    "head": (
        "The final layer that turns features into class scores; it is always new, "
        "sized for your classes, and always trained."
    ),
    "head_lr": "Learning rate of the new head: how big a step the optimizer takes each update.",
    "backbone_lr_factor": (
        "Unfrozen backbone blocks learn at the head LR divided by this factor, so the "
        "pretrained features change gently (1 = same LR as the head)."
    ),
}


def help_text(key: str) -> str:
    """Return the one-sentence explanation for ``key``."""
    try:
        return HELP[key]
    except KeyError:
        known = ", ".join(sorted(HELP))
        raise KeyError(f"help key {key!r} is unknown: choose one of {known}") from None
