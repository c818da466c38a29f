"""Tests for lab.core.data: built-in data sets, folders, splits, transforms, torchvision."""

from __future__ import annotations

import socket
import struct
import urllib.error
import urllib.request
from importlib import metadata
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image
from torch.utils.data import DataLoader

from lab.core.data import (
    DEFAULT_DATASET,
    DataError,
    DataSpec,
    FolderDataset,
    Preprocessing,
    TorchImageDataset,
    TorchvisionDataset,
    augmented_samples,
    build_transform,
    list_datasets,
    load_dataset,
    prepare,
    split_indices,
    tensor_to_image,
)
from lab.core.data.builtin import ANIMAL_SHAPES_CLASSES, animal_shapes_arrays
from lab.core.data.online import SOURCES

# ---------------------------------------------------------------- built-in data sets


@pytest.mark.parametrize(
    ("name", "count", "size"),
    [("animal_shapes", 10_000, 28), ("mnist5k", 5_000, 28), ("digits", 1_797, 8)],
)
def test_builtin_loads_with_shapes_and_classes(name: str, count: int, size: int) -> None:
    dataset = load_dataset(name)
    assert len(dataset) == count
    assert len(dataset.class_names) == 10
    assert dataset.class_counts().sum() == count
    assert dataset.class_counts().min() > count // 20  # every class well represented
    assert set(np.unique(dataset.labels)) == set(range(10))
    image = dataset.image(count - 1)
    assert image.mode == "RGB" and image.size == (size, size)
    pixels = np.asarray(image)
    assert pixels.max() > 100  # real content, scaled to 0..255
    assert (pixels[..., 0] == pixels[..., 1]).all() and (pixels[..., 1] == pixels[..., 2]).all()
    assert dataset.skipped == []


def test_default_is_animal_shapes_and_names_match_package_description() -> None:
    assert DEFAULT_DATASET == "animal_shapes"
    dataset = load_dataset()
    assert dataset.name == "animal_shapes"
    assert dataset.class_names == ANIMAL_SHAPES_CLASSES
    description = metadata.metadata("animal_shape_mnist")["Description"] or ""
    listed = description.split("(including", 1)[1].split(")", 1)[0]
    assert [word.strip().lower() for word in listed.split(",")] == list(ANIMAL_SHAPES_CLASSES)
    assert dataset.class_counts().tolist() == [1000] * 10


def test_builtin_arrays_are_cached_and_read_only() -> None:
    first, second = load_dataset("animal_shapes"), load_dataset("animal_shapes")
    assert first.images is second.images  # type: ignore[attr-defined]
    images, labels = animal_shapes_arrays()
    with pytest.raises(ValueError):
        images[0, 0, 0] = 1
    assert np.array_equal(np.asarray(first.image(5))[..., 0], images[5])
    assert first.labels[5] == labels[5]


def test_samples_per_class_and_indices_by_class() -> None:
    dataset = load_dataset("digits")
    by_class = dataset.indices_by_class()
    assert sorted(by_class) == list(range(10))
    for label, indices in by_class.items():
        assert (dataset.labels[indices] == label).all()
    assert sum(len(v) for v in by_class.values()) == len(dataset)
    samples = dataset.samples_per_class(4, seed=1)
    assert all(len(v) == 4 and (dataset.labels[v] == c).all() for c, v in samples.items())
    assert all(np.array_equal(samples[c], dataset.samples_per_class(4, seed=1)[c]) for c in samples)
    other = dataset.samples_per_class(4, seed=2)
    assert any(not np.array_equal(samples[c], other[c]) for c in samples)
    with pytest.raises(DataError, match="k=0"):
        dataset.samples_per_class(0)


def test_list_datasets_and_unknown_names() -> None:
    infos = {info.name: info for info in list_datasets()}
    expected = {"animal_shapes", "mnist5k", "digits", "cifar10", "fashion_mnist"}
    assert expected | {"oxford_pets", "flowers102", "eurosat", "folder"} == set(infos)
    assert [n for n, i in infos.items() if i.offline] == [
        "animal_shapes",
        "mnist5k",
        "digits",
        "folder",
    ]
    assert all(info.title and info.description for info in infos.values())
    with pytest.raises(DataError, match="did you mean 'cifar10'"):
        load_dataset("cifar")
    with pytest.raises(DataError, match=r"needs path="):
        load_dataset("folder")


# ---------------------------------------------------------------- splits


def _labels(counts: list[int]) -> np.ndarray:
    return np.repeat(np.arange(len(counts)), counts)[
        np.random.default_rng(7).permutation(sum(counts))
    ]


def test_split_is_stratified_disjoint_and_complete() -> None:
    labels = _labels([100, 50, 30])
    splits = split_indices(labels, val_fraction=0.2, test_fraction=0.1, seed=3)
    train, val, test = splits.train, splits.val, splits.test
    everything = np.concatenate([train, val, test])
    assert len(everything) == len(labels) == len(np.unique(everything))
    assert np.bincount(labels[val]).tolist() == [20, 10, 6]
    assert np.bincount(labels[test]).tolist() == [10, 5, 3]
    assert np.bincount(labels[train]).tolist() == [70, 35, 21]
    assert splits.sizes() == {"train": 126, "val": 36, "test": 18}


def test_split_is_deterministic_per_seed() -> None:
    labels = _labels([40, 40])
    a, b = split_indices(labels, seed=1), split_indices(labels, seed=1)
    c = split_indices(labels, seed=2)
    for part in ("train", "val", "test"):
        assert np.array_equal(getattr(a, part), getattr(b, part))
    assert not np.array_equal(a.test, c.test)


def test_n_per_class_limits_train_only_and_nests() -> None:
    labels = _labels([60, 25, 40])
    full = split_indices(labels, seed=5)
    small = split_indices(labels, n_per_class=4, seed=5)
    big = split_indices(labels, n_per_class=20, seed=5)
    assert np.bincount(labels[small.train]).tolist() == [4, 4, 4]
    # Class 1 has only 15 training images: it keeps all of them.
    assert np.bincount(labels[big.train]).tolist() == [20, 15, 20]
    for split in (small, big):
        assert np.array_equal(split.val, full.val) and np.array_equal(split.test, full.test)
    assert set(small.train) < set(big.train) < set(full.train)


def test_zero_fractions_and_tiny_classes() -> None:
    labels = _labels([3, 3])
    only_train = split_indices(labels, val_fraction=0.0, test_fraction=0.0)
    assert len(only_train.train) == 6 and len(only_train.val) == len(only_train.test) == 0
    # A non-zero fraction always holds out one image per class.
    held = split_indices(labels, val_fraction=0.01, test_fraction=0.01)
    assert np.bincount(labels[held.val]).tolist() == [1, 1]
    assert np.bincount(labels[held.train]).tolist() == [1, 1]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_per_class": 0}, "n_per_class=0: choose at least 1"),
        ({"n_per_class": -3}, "n_per_class=-3"),
        ({"n_per_class": 2.5}, "whole number"),
        ({"val_fraction": 1.0}, "val_fraction=1.0"),
        ({"test_fraction": -0.1}, "test_fraction=-0.1"),
        ({"val_fraction": 0.5, "test_fraction": 0.5}, "leaves no training"),
        ({"seed": -1}, "seed=-1"),
    ],
)
def test_split_argument_errors(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(DataError, match=message):
        split_indices(_labels([10, 10]), **kwargs)


def test_split_names_a_class_too_small_to_split() -> None:
    labels = np.array([0] * 10 + [1] * 2)
    with pytest.raises(DataError, match=r"class 'dog' has only 2 image\(s\)") as info:
        split_indices(labels, class_names=["cat", "dog"])
    assert "lower the fractions" in str(info.value)


# ---------------------------------------------------------------- image folders


def _save(path: Path, image: Image.Image) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """cat: RGB jpg, L png, transparent RGBA png, P gif, nested image; dog: PNGs + junk."""
    root = tmp_path / "pets"
    _save(root / "cat" / "rgb.jpg", Image.new("RGB", (20, 16), (200, 30, 30)))
    _save(root / "cat" / "gray.png", Image.new("L", (16, 16), 90))
    _save(root / "cat" / "clear.png", Image.new("RGBA", (16, 16), (0, 0, 0, 0)))
    _save(root / "cat" / "palette.gif", Image.new("P", (16, 16), 3))
    _save(root / "cat" / "more" / "nested.PNG", Image.new("RGB", (16, 16), (1, 2, 3)))
    for i in range(3):
        _save(root / "dog" / f"{i}.png", Image.new("RGB", (16, 16), (0, 40 * i, 0)))
    (root / "dog" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really an image")
    good = root / "dog" / "0.png"
    (root / "dog" / "cut.png").write_bytes(good.read_bytes()[: len(good.read_bytes()) // 2])
    (root / "dog" / "notes.txt").write_text("labels are folder names")
    (root / "dog" / ".DS_Store").write_bytes(b"\x00\x01")
    (root / ".ipynb_checkpoints").mkdir()
    return root


def test_folder_reads_classes_images_and_skips_bad_files(folder: Path) -> None:
    dataset = load_dataset("folder", path=folder)
    assert isinstance(dataset, FolderDataset)
    assert dataset.class_names == ("cat", "dog")
    assert dataset.class_counts().tolist() == [5, 3]
    assert sorted(s.split(":")[0] for s in dataset.skipped) == [
        "dog/broken.png",
        "dog/cut.png",
        "dog/notes.txt",
    ]
    assert "not an image file" in next(s for s in dataset.skipped if "notes.txt" in s)
    assert "cannot be read" in next(s for s in dataset.skipped if "broken.png" in s)
    assert "3 files skipped" in repr(dataset)
    for i in range(len(dataset)):
        assert dataset.image(i).mode == "RGB"


def test_folder_modes_come_out_rgb(folder: Path) -> None:
    dataset = FolderDataset(folder)
    by_name = {path.name: dataset.image(i) for i, path in enumerate(dataset.files)}
    assert by_name["clear.png"].getpixel((0, 0)) == (255, 255, 255)  # composited on white
    assert by_name["gray.png"].getpixel((3, 3)) == (90, 90, 90)
    assert by_name["nested.PNG"].getpixel((0, 0)) == (1, 2, 3)
    red = np.asarray(by_name["rgb.jpg"], dtype=int)[8, 10]
    assert red[0] > 150 and red[1] < 80  # JPEG is lossy: approximately the saved colour
    assert by_name["palette.gif"].size == (16, 16)


def test_folder_errors_name_problem_and_fix(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    with pytest.raises(DataError, match="does not exist") as info:
        load_dataset("folder", path=missing)
    assert str(missing) in str(info.value) and "one sub-folder per class" in str(info.value)

    a_file = tmp_path / "x.png"
    _save(a_file, Image.new("RGB", (4, 4)))
    with pytest.raises(DataError, match="is a file, not a folder"):
        FolderDataset(a_file)

    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataError, match=r"no class sub-folders \(it is empty\)"):
        FolderDataset(empty)

    loose = tmp_path / "loose"
    _save(loose / "a.png", Image.new("RGB", (4, 4)))
    with pytest.raises(DataError, match=r"holds 1 image\(s\) but no sub-folders"):
        FolderDataset(loose)

    single = tmp_path / "single"
    _save(single / "cat" / "a.png", Image.new("RGB", (4, 4)))
    with pytest.raises(DataError, match="single class 'cat'.*at least two"):
        FolderDataset(single)


def test_folder_class_without_readable_images(tmp_path: Path) -> None:
    root = tmp_path / "data"
    _save(root / "cat" / "a.png", Image.new("RGB", (4, 4)))
    (root / "dog").mkdir()
    (root / "dog" / "bad.jpg").write_bytes(b"garbage")
    (root / "bird").mkdir()
    with pytest.raises(DataError, match="'bird', 'dog' hold no readable images") as info:
        FolderDataset(root)
    assert "dog/bad.jpg: cannot be read" in str(info.value)


def test_folder_file_broken_after_scan_names_the_file(folder: Path) -> None:
    dataset = FolderDataset(folder)
    dataset.files[0].write_bytes(b"gone bad")
    with pytest.raises(DataError, match=dataset.files[0].name):
        dataset.image(0)


# ---------------------------------------------------------------- transforms


def test_transform_output_shape_and_normalisation() -> None:
    preproc = Preprocessing()
    value = 128
    image = Image.new("L", (40, 30), value)  # grayscale in, three channels out
    out = build_transform(preproc, train=False)(image)
    assert out.shape == (3, 224, 224) and out.dtype == torch.float32
    expected = (value / 255 - torch.tensor(preproc.mean)) / torch.tensor(preproc.std)
    assert torch.allclose(out.mean(dim=(1, 2)), expected, atol=1e-3)
    small = build_transform(preproc, image_size=32, train=False)(image)
    assert small.shape == (3, 32, 32)


def test_transform_reads_any_preprocessing_like_object() -> None:
    preproc = SimpleNamespace(
        mean=[0.5, 0.5, 0.5],
        std=[0.5, 0.5, 0.5],
        resize_size=[342],
        crop_size=[299],
        interpolation="bicubic",
    )
    transform = build_transform(preproc)
    out = transform(Image.new("RGB", (50, 60), (255, 0, 0)))
    assert out.shape == (3, 299, 299)
    assert torch.allclose(out[:, 100, 100], torch.tensor([1.0, -1.0, -1.0]), atol=1e-3)
    resize = next(t for t in transform.transforms if type(t).__name__ == "Resize")
    assert resize.size == [342] and resize.interpolation.value == "bicubic"
    with pytest.raises(DataError, match="image_size=0"):
        build_transform(preproc, image_size=0)


def test_augmentation_only_for_training() -> None:
    dataset = load_dataset("animal_shapes")
    image = dataset.image(0)
    eval_tf = build_transform(Preprocessing(), image_size=32, augment=True, train=False)
    assert torch.equal(eval_tf(image), eval_tf(image))
    plain_train = build_transform(Preprocessing(), image_size=32, augment=False, train=True)
    assert torch.equal(plain_train(image), eval_tf(image))
    train_tf = build_transform(Preprocessing(), image_size=32, augment=True, train=True)
    torch.manual_seed(0)
    outputs = [train_tf(image) for _ in range(4)]
    assert all(o.shape == (3, 32, 32) for o in outputs)
    assert any(not torch.equal(outputs[0], o) for o in outputs[1:])


def test_augmented_samples_are_seeded_images() -> None:
    dataset = load_dataset("animal_shapes")
    transform = build_transform(Preprocessing(), image_size=24, augment=True, train=True)
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    first = augmented_samples(dataset, 3, 5, transform, seed=9)
    assert torch.equal(torch.rand(1), before)  # the caller's random state is untouched
    again = augmented_samples(dataset, 3, 5, transform, seed=9)
    assert len(first) == 5 and all(im.mode == "RGB" and im.size == (24, 24) for im in first)
    assert [np.asarray(a).tolist() for a in first] == [np.asarray(b).tolist() for b in again]
    assert len({np.asarray(im).tobytes() for im in first}) > 1


def test_tensor_to_image_undoes_normalisation() -> None:
    preproc = Preprocessing()
    image = Image.new("RGB", (8, 8), (10, 120, 240))
    tensor = build_transform(preproc, image_size=8, train=False)(image)
    back = tensor_to_image(tensor, preproc.mean, preproc.std)
    assert np.abs(np.asarray(back, dtype=int) - [10, 120, 240]).max() <= 1


# ---------------------------------------------------------------- torch data sets, prepare


def test_torch_image_dataset_items_and_loader() -> None:
    dataset = load_dataset("digits")
    indices = np.array([5, 0, 17])
    torch_data = TorchImageDataset(dataset, indices, build_transform(Preprocessing(), 16))
    assert len(torch_data) == 3
    tensor, label = torch_data[0]
    assert tensor.shape == (3, 16, 16) and label == dataset.labels[5] and isinstance(label, int)
    assert torch_data.labels.tolist() == dataset.labels[indices].tolist()
    batch, labels = next(iter(DataLoader(torch_data, batch_size=3)))
    assert batch.shape == (3, 3, 16, 16) and labels.tolist() == dataset.labels[indices].tolist()
    raw, _ = TorchImageDataset(dataset, [0])[0]
    assert raw.shape == (3, 8, 8) and raw.min() >= 0.0 and raw.max() <= 1.0
    with pytest.raises(DataError, match="indices must lie in"):
        TorchImageDataset(dataset, [len(dataset)])


def test_prepare_builds_splits_and_torch_datasets() -> None:
    spec = DataSpec(name="mnist5k", n_per_class=3, image_size=16, augment=True, seed=2)
    prepared = prepare(spec, Preprocessing())
    assert prepared.class_names == tuple(str(d) for d in range(10)) and prepared.num_classes == 10
    assert len(prepared.train) == 30 and len(prepared.val) == len(prepared.test) == 1000
    assert np.bincount(prepared.train.labels).tolist() == [3] * 10
    x, y = prepared.val[0]
    assert x.shape == (3, 16, 16) and y == prepared.dataset.labels[prepared.splits.val[0]]
    assert torch.equal(prepared.val[0][0], prepared.val[0][0])
    bigger = prepare(DataSpec(name="mnist5k", n_per_class=30, seed=2), Preprocessing())
    assert np.array_equal(bigger.splits.test, prepared.splits.test)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_per_class": 0}, "n_per_class=0: choose at least 1 image per class"),
        ({"val_fraction": 1.5}, "val_fraction=1.5"),
        ({"image_size": 0}, "image_size=0"),
    ],
)
def test_data_spec_rejects_bad_values(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(DataError, match=message):
        DataSpec(**kwargs)


# ---------------------------------------------------------------- torchvision data sets


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every URL open fails as offline; a socket connection would fail too."""
    tried: list[str] = []

    def refuse(request: Any, *args: Any, **kwargs: Any) -> None:
        tried.append(getattr(request, "full_url", str(request)))
        raise urllib.error.URLError("network is unreachable (test)")

    def no_connect(*args: Any, **kwargs: Any) -> None:
        raise OSError("network is unreachable (test)")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    monkeypatch.setattr(socket.socket, "connect", no_connect)
    return tried


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_torchvision_offline_gives_clear_error(
    name: str, tmp_path: Path, no_network: list[str]
) -> None:
    with pytest.raises(DataError) as info:
        load_dataset(name, root=tmp_path)
    message = str(info.value)
    assert SOURCES[name].title in message and "could not be downloaded" in message
    assert str(tmp_path) in message and "network access" in message
    assert "animal_shapes, mnist5k, digits" in message
    assert no_network  # a download was attempted, and refused


def test_torchvision_without_download_says_files_are_missing(
    tmp_path: Path, no_network: list[str]
) -> None:
    with pytest.raises(DataError, match=r"'cifar10'\) is not in root \(download=False\)"):
        load_dataset("cifar10", root=tmp_path, download=False)
    assert no_network == []


def _write_idx(path: Path, magic: int, array: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    header = struct.pack(">I", magic) + b"".join(struct.pack(">I", d) for d in array.shape)
    path.write_bytes(header + array.astype(np.uint8).tobytes())


def test_torchvision_files_put_under_root_load_offline(
    tmp_path: Path, no_network: list[str]
) -> None:
    rng = np.random.default_rng(0)
    raw = tmp_path / "FashionMNIST" / "raw"
    parts = {
        "train": (rng.integers(0, 256, (6, 28, 28)), np.arange(6) % 10),
        "t10k": (rng.integers(0, 256, (4, 28, 28)), np.array([9, 8, 7, 6])),
    }
    for prefix, (images, labels) in parts.items():
        _write_idx(raw / f"{prefix}-images-idx3-ubyte", 2051, images)
        _write_idx(raw / f"{prefix}-labels-idx1-ubyte", 2049, labels)
    dataset = load_dataset("fashion_mnist", root=tmp_path)
    assert isinstance(dataset, TorchvisionDataset) and no_network == []
    assert len(dataset) == 10 and dataset.class_names[0] == "T-shirt/top"
    assert dataset.labels.tolist() == [0, 1, 2, 3, 4, 5, 9, 8, 7, 6]
    last = dataset.image(9)  # from the second (test) part
    assert last.mode == "RGB" and last.size == (28, 28)
    assert np.array_equal(np.asarray(last)[..., 1], parts["t10k"][0][3])
