"""Decoded uint8 images kept in memory, and the measured memory layout: same results as
the per-image path and the contiguous layout."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

from lab.core.data import ArrayImageDataset, TorchImageDataset
from lab.core.data.batches import load_batches
from lab.core.data.decoded import DecodedImages, decoded
from lab.core.data.transforms import Preprocessing, build_transform
from lab.core.hardware.device import setup_device
from lab.core.hardware.layout import choose_layout, to_layout
from lab.core.training.engine import Trainer
from tests.core.tiny_runs import tiny_config

PREPROC = Preprocessing(resize_size=20, crop_size=16)


def _images(n: int = 36, seed: int = 0) -> ArrayImageDataset:
    """Three classes of 12x12 grayscale squares whose brightness says the class."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 3
    images = rng.integers(0, 60, (n, 12, 12), dtype=np.uint8)
    for i, label in enumerate(labels):
        images[i, 3:9, 3:9] = 80 + 80 * label
    return ArrayImageDataset("squares", images, labels, ("dark", "mid", "light"))


def _split(dataset: ArrayImageDataset, indices: Any, augment: bool = False) -> TorchImageDataset:
    transform = build_transform(PREPROC, 16, augment=augment, train=augment)
    return TorchImageDataset(dataset, indices, transform)


def _conv_model() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 4, 3),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(4, 3),
    )


def test_a_decoded_batch_equals_the_per_image_transform() -> None:
    split = _split(_images(), np.arange(10))
    wrapped = decoded(split)
    assert isinstance(wrapped, DecodedImages)
    expected = torch.stack([split[i][0] for i in range(4, 9)])
    inputs, labels = wrapped.batch(torch.arange(4, 9))
    assert torch.equal(inputs, expected)
    assert labels.tolist() == [split[i][1] for i in range(4, 9)]
    assert torch.equal(wrapped[3][0], split[3][0]) and wrapped[3][1] == split[3][1]
    assert not wrapped.complete
    wrapped.batch(torch.arange(10))
    assert wrapped.complete


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("interpolation", ["bilinear", "bicubic", "nearest"])
@pytest.mark.parametrize(("side", "resize", "crop"), [(28, 128, 112), (28, 15, 13), (9, 37, 31)])
def test_decoded_pixels_equal_the_per_image_transform_at_any_size(
    channels: int, interpolation: str, side: int, resize: int, crop: int
) -> None:
    rng = np.random.default_rng(side + resize)
    shape = (8, side, side) if channels == 1 else (8, side, side, 3)
    images = rng.integers(0, 256, shape, dtype=np.uint8)
    data = ArrayImageDataset("noise", images, np.arange(8) % 2, ("a", "b"))
    preproc = Preprocessing(resize_size=resize, crop_size=crop, interpolation=interpolation)
    split = TorchImageDataset(data, np.arange(8), build_transform(preproc, train=False))
    wrapped = decoded(split)
    assert isinstance(wrapped, DecodedImages)
    inputs, _ = wrapped.batch(torch.arange(8))
    assert torch.equal(inputs, torch.stack([split[i][0] for i in range(8)]))
    # Grayscale images keep one channel in memory: a third of the pixels.
    assert wrapped.kept_bytes == 8 * channels * crop * crop


def test_on_a_cpu_batches_load_on_the_computing_thread_and_ahead_elsewhere() -> None:
    plain = decoded(_split(_images(), np.arange(12)))
    augmented = decoded(_split(_images(), np.arange(12), augment=True))
    loaded_on: dict[str, set[str]] = {"plain": set(), "augmented": set()}
    for name, split in (("plain", plain), ("augmented", augmented)):
        batch = split.batch

        def noting(positions: Any, name: str = name, batch: Any = batch) -> Any:
            loaded_on[name].add(threading.current_thread().name)
            return batch(positions)

        split.batch = noting  # type: ignore[method-assign]
        batches = list(torch.arange(12).split(4))
        assert [p.tolist() for p, _, _ in load_batches(split, batches)] == [
            b.tolist() for b in batches
        ]
    # The model uses every core: a helper loading ahead would take one from it.
    assert loaded_on["plain"] == {threading.current_thread().name}
    # Random augmentation runs per image in PIL, on a helper thread ahead of the model.
    assert loaded_on["augmented"]
    assert all(name.startswith("lab-load") for name in loaded_on["augmented"])


def test_a_finished_run_lets_its_decoded_pixels_go() -> None:
    trainer = _run(True, "feature_extraction", "contiguous")
    splits = (trainer.parts.train, trainer.parts.val, trainer.parts.test)
    assert all(isinstance(s, DecodedImages) for s in splits)
    assert [s.kept_bytes for s in splits] == [0, 0, 0]  # type: ignore[union-attr]
    val = trainer.parts.val
    assert isinstance(val, DecodedImages)
    inputs, _ = val.batch(torch.arange(3))  # decoded again when asked for
    assert torch.equal(inputs, torch.stack([val.split[i][0] for i in range(3)]))
    assert val.kept_bytes == 3 * val.pixels(0).numel()


def test_only_small_in_memory_splits_are_decoded() -> None:
    split = _split(_images(), np.arange(10))
    assert decoded(split, limit_bytes=10) is split  # too large for the budget
    assert decoded(torch.utils.data.TensorDataset(torch.zeros(2, 3))) is not None


def test_augmented_splits_keep_the_original_pixels() -> None:
    split = _split(_images(), np.arange(6), augment=True)
    wrapped = decoded(split)
    assert isinstance(wrapped, DecodedImages)
    assert tuple(wrapped.pixels(0).shape) == (1, 12, 12)  # random crop comes later
    inputs, _ = wrapped.batch(torch.arange(6))  # CPU: the per-image (PIL) path
    assert inputs.shape == (6, 3, 16, 16)
    # What a GPU runs: each image augmented on the device, then normalized as a batch.
    finished = wrapped._finish([wrapped.pixels(i) for i in range(6)], torch.device("cpu"))
    assert finished.shape == (6, 3, 16, 16) and finished.dtype == torch.float32


def _run(decode: bool, approach: str, layout: str) -> Trainer:
    data = _images()
    splits = [_split(data, np.arange(a, b)) for a, b in ((0, 24), (24, 33), (33, 36))]
    if decode:
        splits = [decoded(s) for s in splits]
    trainer = Trainer.from_parts(
        _conv_model(),
        splits[0],
        splits[1],
        data.class_names,
        test=splits[2],
        config=tiny_config(approach=approach, epochs=3, embedding="pca", layout=layout),
    )
    trainer.run()
    assert trainer.state == "completed", trainer.history.error
    return trainer


@pytest.mark.parametrize("approach", ["feature_extraction", "fine_tuning"])
def test_decoded_splits_train_exactly_like_per_image_ones(approach: str) -> None:
    plain, cached = _run(False, approach, "contiguous"), _run(True, approach, "contiguous")
    for a, b in zip(plain.history.evaluations, cached.history.evaluations, strict=True):
        assert a.val_acc == b.val_acc
        assert np.array_equal(a.val_predictions, b.val_predictions)
        assert a.val_loss == pytest.approx(b.val_loss, abs=1e-6)
        assert a.embedding is not None and b.embedding is not None
        np.testing.assert_allclose(a.embedding.points, b.embedding.points, atol=1e-4)


def test_channels_last_gives_the_contiguous_predictions() -> None:
    contiguous = _run(True, "fine_tuning", "contiguous")
    channels_last = _run(True, "fine_tuning", "channels_last")
    for a, b in zip(contiguous.history.evaluations, channels_last.history.evaluations, strict=True):
        assert a.val_loss == pytest.approx(b.val_loss, rel=1e-2)  # summation order differs
    # The same weights in both layouts give the same outputs. (Training in each layout
    # parts ways by rounding, which after a few epochs flips an image on some CPUs.)
    model = contiguous.model.eval()
    images = torch.rand(16, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        plain = model(images)
        model.to(memory_format=torch.channels_last)
        last = model(images.contiguous(memory_format=torch.channels_last))
    assert torch.equal(plain.argmax(1), last.argmax(1))
    torch.testing.assert_close(plain, last, rtol=1e-4, atol=1e-5)


def test_auto_layout_picks_one_and_applies_it() -> None:
    model, setup = _conv_model(), setup_device("cpu")
    chosen = choose_layout(model, (3, 16, 16), setup)
    assert chosen in ("contiguous", "channels_last")
    weight = model[0].weight
    channels_last = weight.is_contiguous(memory_format=torch.channels_last)
    assert channels_last == (chosen == "channels_last") or weight.shape[-1] == 1
    assert model.training  # the mode is kept
    assert choose_layout(nn.Linear(4, 3), (4,), setup) == "contiguous"
    x = to_layout(torch.zeros(2, 3, 4, 4), "channels_last")
    assert x.is_contiguous(memory_format=torch.channels_last)
    with pytest.raises(ValueError, match="layout='nhwc'"):
        to_layout(x, "nhwc")
