"""Top losses in the gallery and Grad-CAM over gallery images (recording comm, no browser)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import numpy as np
import pytest
import torch
from torch import nn
from ui_helpers import wait_until

from lab.core.models.groups import LayerGroup
from lab.core.training.config import RunConfig
from lab.core.training.engine import Trainer
from lab.plots.results import CONFUSION_TRACE
from lab.ui import TransferLab

CLASSES = ("red", "green", "blue", "grey")


def _to_tensor(image: object) -> torch.Tensor:
    return torch.as_tensor(np.array(image), dtype=torch.float32).permute(2, 0, 1) / 255


def conv_factory(config: RunConfig) -> Trainer:
    """A small CNN on random 3x8x8 'images' (Grad-CAM needs a spatial layer)."""
    g = torch.Generator().manual_seed(0)
    x = torch.rand(96, 3, 8, 8, generator=g)
    y = x.mean(dim=(2, 3)).argmax(dim=1)
    y[::7] = 3
    torch.manual_seed(0)
    conv = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU())
    head = nn.Linear(8, 4)
    model = nn.Sequential(conv, nn.AdaptiveAvgPool2d(1), nn.Flatten(), head)
    settings = config.replace(model="custom", runs_dir=None, device="cpu")
    return Trainer.from_parts(
        model,
        (x[:64], y[:64]),
        (x[64:], y[64:]),
        CLASSES,
        config=settings,
        head=head,
        groups=[LayerGroup("conv", (conv,)), LayerGroup("head", (head,))],
        transform=lambda image: (
            torch.as_tensor(np.array(image), dtype=torch.float32).permute(2, 0, 1) / 255
        ),
    )


@pytest.fixture
def app() -> Iterator[TransferLab]:
    lab = TransferLab(trainer_factory=conv_factory)
    lab.train_panel.epochs, lab.train_panel.batch_size = 2, 16
    yield lab
    lab.close()


def _probabilities(title_and_captions: list[str]) -> list[float]:
    return [float(c.rsplit("/", 1)[1]) for c in title_and_captions]


def test_gallery_orders_mistakes_by_loss_and_toggles_to_confident_correct(app, comm_log) -> None:
    app.start()
    wait_until(lambda: app.train_panel.status.value == "completed", what="completed")
    results = app.results_panel
    wait_until(lambda: "Top losses" in results.gallery.title.value, what="top losses")
    assert "tl-top-losses" in results.order_toggle._dom_classes
    evaluation = app.view.history.evaluations[-1]
    wait_until(lambda: len(results.gradcam.choice.options) > 0, what="choices")
    captions = [label for label, _ in results.gradcam.choice.options]
    positions = [k for _, k in results.gradcam.choice.options]
    losses = evaluation.val_losses[positions]
    assert len(positions) and list(losses) == sorted(losses, reverse=True)
    assert all(
        evaluation.val_predictions[k] != app.results_panel.images.labels[k] for k in positions
    )
    first = captions[0].split(": ", 1)[1]  # predicted/true/probability
    k = positions[0]
    names = app.view.history.class_names
    expected = f"{names[evaluation.val_predictions[k]]}/{names[results.images.labels[k]]}/"
    assert first.startswith(expected) and re.search(r"/0\.\d\d$|/1\.00$", first)
    results.order_toggle.value = "confident_correct"  # the user's click
    wait_until(lambda: "Most confident correct" in results.gallery.title.value, what="toggle")
    wait_until(lambda: positions != [k for _, k in results.gradcam.choice.options], what="choices")
    correct = [k for _, k in results.gradcam.choice.options]
    confidence = evaluation.val_confidence[correct]
    assert list(confidence) == sorted(confidence, reverse=True)
    assert all(evaluation.val_predictions[k] == results.images.labels[k] for k in correct)


def test_a_clicked_cell_uses_the_same_order(app) -> None:
    app.start()
    wait_until(lambda: app.train_panel.status.value == "completed", what="completed")
    results, evaluation = app.results_panel, None
    wait_until(lambda: "Top losses" in results.gallery.title.value, what="top losses")
    evaluation = app.view.history.evaluations[-1]
    confusion = np.array(evaluation.confusion)
    np.fill_diagonal(confusion, 0)
    true, predicted = np.unravel_index(np.argmax(confusion), confusion.shape)
    from types import SimpleNamespace

    names = app.view.history.class_names
    heatmap = results.figure.data[CONFUSION_TRACE]
    results._on_cell_clicked(
        heatmap, SimpleNamespace(xs=[names[predicted]], ys=[names[true]]), None
    )
    wait_until(lambda: f"True {names[true]}" in results.gallery.title.value, what="cell")
    positions = [k for _, k in results.gradcam.choice.options]
    count = int(confusion[true, predicted])
    wait_until(lambda: len(results.gradcam.choice.options) == count, what="cell choices")
    positions = [k for _, k in results.gradcam.choice.options]
    losses = evaluation.val_losses[positions]
    assert list(losses) == sorted(losses, reverse=True)


def test_gradcam_overlays_a_gallery_image_and_the_slider_reblends(app) -> None:
    view = app.results_panel.gradcam
    view.button.click()
    assert "gallery" in view.caption.value.lower() or "train" in view.caption.value.lower()
    app.start()
    wait_until(lambda: app.train_panel.status.value == "completed", what="completed")
    wait_until(lambda: len(view.choice.options) > 0, what="gallery choices")
    assert "tl-gradcam" in view._dom_classes
    view.choice.value = view.choice.options[0][1]
    view.button.click()
    assert view.image.value[:4] == b"\x89PNG" and view.image.layout.display != "none", (
        view.caption.value
    )
    assert "layer group conv" in view.caption.value
    before = view.image.value
    view.slider.value = 0.0  # the image alone
    assert view.image.value != before


def test_gradcam_of_an_uploaded_image_in_step_7(app) -> None:
    import io

    from PIL import Image

    app.start()
    wait_until(lambda: app.train_panel.status.value == "completed", what="completed")
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "blue").save(buffer, format="PNG")
    app.use_panel.predict_upload([{"name": "b.png", "content": buffer.getvalue()}])
    view = app.use_panel.gradcam
    assert view.image.value[:4] == b"\x89PNG", view.caption.value
    assert "tl-gradcam" in view._dom_classes
