"""Explanations of each concept, shown as tooltips and help lines: the one registry.

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
    # Training, results and test
    "epochs": (
        "One epoch is one pass over every training image; more epochs, more learning "
        "(and more risk of memorising)."
    ),
    "batch_size": (
        "Images the model looks at before each weight update; larger batches are "
        "smoother but need more memory."
    ),
    "optimizer": (
        "The rule that turns gradients into weight updates: Adam adapts its steps "
        "per weight, SGD takes plain steps."
    ),
    "lr": (
        "Learning rate: the size of each update step; too high and the loss explodes, too "
        "low and nothing moves."
    ),
    "lr_finder": (
        "Try learning rates from tiny to huge for a few steps and plot the loss; a "
        "good LR sits where the loss falls fastest."
    ),
    "schedule": (
        "How the learning rate changes during training: constant, cosine decay, or "
        "one warm-up-then-decay cycle."
    ),
    "controls": (
        "Start a run, pause and resume it, or stop it; a stopped run keeps "
        "everything it learned so far."
    ),
    "progress": (
        "Steps done out of all steps, with training speed in images per second and "
        "the estimated time left."
    ),
    "curves": (
        "Loss should fall and accuracy rise; a validation curve that turns away from "
        "the training curve means overfitting."
    ),
    "confusion": (
        "Rows are true classes, columns the model's guesses: the diagonal is right, "
        "everything else shows which classes get mixed up. Click a cell to see its images."
    ),
    "epoch": "Which epoch's evaluation the confusion matrix and the embedding show.",
    "gallery": (
        "Validation images the model got wrong (or those of the clicked cell), "
        "with the true and the predicted class."
    ),
    "embedding": (
        "Each dot is a validation image placed by the model's features; classes "
        "that form separate clusters are easy to tell apart. Crosses are mistakes."
    ),
    "embedding_method": (
        "PCA is a fast linear projection fitted once per run; t-SNE keeps "
        "neighbours together but is slower. Applies to the next run."
    ),
    "compare": (
        "Runs of this session side by side, e.g. from scratch vs feature extraction vs fine-tuning."
    ),
    "checkpoint": (
        "Use a listed run's best epoch in step 7 (predict, Grad-CAM, downloads): a "
        "run whose process ended mid-run keeps the best epoch it reached."
    ),
    "test": (
        "Accuracy on the test images, which were held back from training and from "
        "choosing settings: the honest final score."
    ),
    "predict": "Upload any image and see the five classes the trained model finds most likely.",
    "export": (
        "Save the trained model as a state dict with its class names and preprocessing, "
        "or as TorchScript that runs without this lab."
    ),
    # Workshop tools
    "rank": (
        "Before training anything: how well each backbone's frozen features separate the "
        "classes of your data, scored on a small sample of your training images "
        "(cross-validated accuracy of a linear probe; k-NN and LogME beside it). A higher "
        "score predicts a better run with that backbone. It is an estimate from a few "
        "images: each score has a 90% interval, and models whose intervals overlap are one "
        "group this sample cannot tell apart. The random-init twin shows what pretraining "
        "adds; its BatchNorm statistics are recomputed on the training images before its "
        "features are taken, exactly as a run with a frozen random backbone or from scratch "
        "is evaluated. Click a model's row to choose it."
    ),
    "curve": (
        "Test accuracy against the number of labelled images per class, for pretrained "
        "features and for the same network trained from scratch; the band is the spread "
        "over seeds."
    ),
    "upload": (
        "Upload a zip with one folder of images per class (cat/1.jpg, dog/2.jpg, ...), or add "
        "classes by name and upload images into each. Then press Load & preview."
    ),
    "take_home": (
        "Take it home: each button downloads a file in your browser. The state dict holds "
        "the weights with class names and preprocessing; TorchScript and ONNX run without "
        "this lab."
    ),
}


def help_text(key: str) -> str:
    """Return the one-sentence explanation for ``key``."""
    try:
        return HELP[key]
    except KeyError:
        known = ", ".join(sorted(HELP))
        raise KeyError(f"help key {key!r} is unknown: choose one of {known}") from None
