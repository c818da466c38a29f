"""Data that escaped before: truncated and huge images, links, settings of the wrong type."""

from __future__ import annotations

import dataclasses
import io
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lab.core.data import DataSpec, images
from lab.core.data.errors import DataError
from lab.core.data.folder import FolderDataset
from lab.core.training.config import ConfigError, RunConfig


def _bytes(size: int, fmt: str, seed: int = 0) -> bytes:
    pixels = (np.random.default_rng(seed).random((size, size, 3)) * 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, fmt)
    return buffer.getvalue()


def _folder(root: Path, classes: dict[str, int]) -> Path:
    for name, n in classes.items():
        (root / name).mkdir(parents=True)
        for i in range(n):
            (root / name / f"{i}.png").write_bytes(_bytes(8, "png", seed=i))
    return root


def test_truncated_images_are_skipped_at_scan_and_named(tmp_path: Path) -> None:
    root = _folder(tmp_path / "data", {"cat": 3, "dog": 3})
    for fmt in ("jpeg", "png"):
        data = _bytes(64, fmt)
        (root / "cat" / f"cut.{fmt}").write_bytes(data[: len(data) // 2])  # header intact
    dataset = FolderDataset(root)
    assert len(dataset) == 6
    assert sorted(s.split(":")[0] for s in dataset.skipped) == ["cat/cut.jpeg", "cat/cut.png"]
    assert all("truncated" in s.lower() for s in dataset.skipped), dataset.skipped


def test_a_class_of_only_truncated_images_gets_a_message(tmp_path: Path) -> None:
    root = _folder(tmp_path / "data", {"cat": 3})
    (root / "dog").mkdir()
    data = _bytes(64, "jpeg")
    for i in range(3):
        (root / "dog" / f"{i}.jpg").write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match=r"'dog' hold no readable images.*dog/0\.jpg"):
        FolderDataset(root)


def test_huge_images_are_refused_by_name_and_the_rest_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(images, "MAX_PIXELS", 100 * 100)
    root = _folder(tmp_path / "data", {"cat": 2, "dog": 2})
    (root / "dog" / "huge.png").write_bytes(_bytes(120, "png"))
    dataset = FolderDataset(root)
    assert len(dataset) == 4
    (note,) = dataset.skipped
    assert note.startswith("dog/huge.png: 120x120 pixels is larger") and "downscale" in note


def test_images_past_pillows_bomb_limit_are_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _folder(tmp_path / "data", {"cat": 2, "dog": 2})
    (root / "dog" / "bomb.jpg").write_bytes(_bytes(200, "jpeg"))
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 150 * 150 // 2)  # 200x200 > twice this
    dataset = FolderDataset(root)
    assert len(dataset) == 4 and dataset.skipped[0].startswith("dog/bomb.jpg: 200x200 pixels")


def test_large_images_are_decoded_downscaled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(images, "MAX_SIDE", 40)
    for fmt in ("jpeg", "png"):
        path = tmp_path / f"big.{fmt}"
        path.write_bytes(_bytes(320, fmt))
        image = images.open_rgb(path)
        assert max(image.size) <= 40 and image.mode == "RGB", (fmt, image.size)


def test_links_out_of_the_folder_are_not_followed_and_files_count_once(tmp_path: Path) -> None:
    root = _folder(tmp_path / "data", {"cat": 3, "dog": 2})
    outside = _folder(tmp_path / "elsewhere", {"secret": 2})
    os.symlink(root, root / "everything")  # a class linked to the data root
    os.symlink(outside / "secret", root / "etc")  # a class linked out of the folder
    os.symlink(outside / "secret" / "0.png", root / "cat" / "linked.png")
    os.symlink(root / "cat" / "0.png", root / "dog" / "again.png")
    dataset = FolderDataset(root)
    assert dataset.class_names == ("cat", "dog")
    assert len(dataset) == 5, "each file once"
    notes = "; ".join(dataset.skipped)
    assert "etc/: a link out of the data folder" in notes
    assert "everything/: a link to images of other classes" in notes
    assert "cat/linked.png: a link out of the data folder" in notes
    assert "dog/again.png: the same file as another image" in notes
    assert "secret" not in notes and "0.png" not in notes.replace("cat/0.png", "")


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("image_size", "64"),
        ("image_size", 64.5),
        ("image_size", True),
        ("seed", "1"),
        ("val_fraction", "0.2"),
        ("augment", "yes"),
        ("name", 3),
        ("path", 5),
        ("n_per_class", 2.5),
    ],
)
def test_settings_of_the_wrong_type_are_named(setting: str, value: object) -> None:
    with pytest.raises(DataError) as raised:
        DataSpec(**{setting: value})  # type: ignore[arg-type]
    assert str(raised.value).startswith(f"{setting}={value!r}: ")


def _wrong_values(default: object) -> list[object]:
    """Values of another type than ``default``'s (a float for an int, a string for a number)."""
    if isinstance(default, bool):
        return ["yes", 1, None]
    if isinstance(default, int):
        return ["3", 2.5, True]
    if isinstance(default, float):
        return ["0.1", None]
    return [5, ["x"]]


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        (f.name, value)
        for f in dataclasses.fields(RunConfig)
        for value in _wrong_values(getattr(RunConfig(), f.name))
    ],
)
def test_every_run_setting_of_the_wrong_type_is_named(setting: str, value: object) -> None:
    with pytest.raises(ConfigError) as raised:
        RunConfig(**{setting: value})  # type: ignore[arg-type]
    assert str(raised.value).startswith(f"{setting}={value!r}"), str(raised.value)
