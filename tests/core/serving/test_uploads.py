"""Uploads: zips read without trusting them, image checks, the per-session store."""

from __future__ import annotations

from pathlib import Path

import pytest

from lab.core.data import DataError, load_dataset
from lab.core.serving.settings import UploadLimits
from lab.core.serving.uploads import (
    UploadError,
    UploadStore,
    check_image_bytes,
    read_class_zip,
    safe_name,
)


@pytest.fixture
def store(tmp_path: Path) -> UploadStore:
    return UploadStore(tmp_path / "uploads", UploadLimits(), session="s1")


def test_a_zip_of_class_folders_loads_like_an_image_folder(store, uploads):
    report = store.add_zip(uploads.class_zip({"cat": 3, "dog": 2}, top="pets"))
    assert report.added == {"cat": 3, "dog": 2} and not report.refused
    assert store.classes() == {"cat": ["0.png", "1.png", "2.png"], "dog": ["0.png", "1.png"]}
    dataset = load_dataset("folder", path=store.root)
    assert dataset.class_names == ("cat", "dog") and len(dataset) == 5
    assert store.root.is_relative_to(store.root.parents[1])  # <root>/<session>/images
    assert store.root.parent.name == "s1"


def test_unsafe_zip_entries_are_refused_by_name_and_the_rest_comes_in(store, uploads, tmp_path):
    png = uploads.png()
    extra = [
        ("../escape.png", png),
        ("/etc/absolute.png", png),
        ("cat/inner.zip", b"PK\x05\x06" + b"\0" * 18),
        ("dog/notes.txt", b"hello"),
        ("__MACOSX/cat/._0.png", b"litter"),
    ]
    data = uploads.class_zip({"cat": 2, "dog": 2}, extra=extra)
    report = store.add_zip(data)
    refused = " | ".join(report.refused)
    assert "../escape.png" in refused and "'..'" in refused
    assert "/etc/absolute.png" in refused and "absolute" in refused
    assert "cat/inner.zip" in refused and "archives inside" in refused
    assert report.skipped == ["dog/notes.txt: not an image file"]
    assert report.added == {"cat": 2, "dog": 2}
    assert not (tmp_path / "escape.png").exists() and not Path("/etc/absolute.png").exists()
    assert "skipped 1 file(s)" in report.summary() and "refused 3" in report.summary()


def test_symlinks_in_a_zip_are_refused_not_followed(store, uploads):
    data = uploads.zip_with_link({"cat": 2, "dog": 2}, "cat/passwd.png", "/etc/passwd")
    report = store.add_zip(data)
    assert any("cat/passwd.png" in r and "symbolic link" in r for r in report.refused)
    assert "passwd.png" not in store.classes()["cat"]


def test_a_decompression_bomb_is_refused_by_name_without_refusing_the_set(store, uploads):
    data = uploads.class_zip({"cat": 2, "dog": 2}, extra=[("cat/huge.png", uploads.bomb_png())])
    report = store.add_zip(data)
    assert report.added == {"cat": 2, "dog": 2}
    assert len(report.refused) == 1 and report.refused[0].startswith("huge.png:")
    assert "LAB_MAX_PIXELS" in report.refused[0]


def test_pixel_limit_counts_the_header_not_the_file_size(uploads):
    small = uploads.png(size=100)
    assert check_image_bytes("a.png", small, max_pixels=10_001) is None
    message = check_image_bytes("a.png", small, max_pixels=9_999)
    assert message is not None and "100x100 = 10,000 pixels" in message
    assert "cannot be read" in (check_image_bytes("b.png", b"not a png", 10**6) or "")


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", "not a zip"),
        (b"plain text", "not a zip"),
    ],
)
def test_files_that_are_not_zips_are_refused(data, expected):
    with pytest.raises(UploadError, match=expected):
        read_class_zip(data, UploadLimits())


def test_an_empty_zip_and_a_zip_without_images_are_refused(store, uploads):
    with pytest.raises(UploadError, match="it is empty"):
        store.add_zip(uploads.empty_zip())
    only_text = uploads.class_zip({}, extra=[("cat/a.txt", b"x")])
    with pytest.raises(UploadError, match="no usable images"):
        store.add_zip(only_text)
    assert store.classes() == {}


def test_limits_on_size_and_count_name_the_setting(tmp_path, uploads):
    limits = UploadLimits(max_bytes=2000, max_files=3)
    store = UploadStore(tmp_path, limits)
    store.add_class("cat")
    with pytest.raises(UploadError, match="LAB_UPLOAD_MAX_FILES"):
        store.add_images("cat", [(f"{i}.png", uploads.png()) for i in range(4)])
    with pytest.raises(UploadError, match="LAB_UPLOAD_MAX_MB"):
        store.add_images("cat", [("big.png", b"\0" * 2001)])
    with pytest.raises(UploadError, match="LAB_UPLOAD_MAX_MB"):
        store.add_zip(b"\0" * 2001)
    assert store.classes() == {"cat": []}


def test_classes_by_name_rename_remove_and_remove_an_image(store, uploads):
    assert store.add_class(" cat ") == "cat"
    store.add_class("dog")
    report = store.add_images("cat", [("a.png", uploads.png()), ("a.png", uploads.png(seed=1))])
    assert report.added == {"cat": 2} and store.classes()["cat"] == ["a-2.png", "a.png"]
    skipped = store.add_images("dog", [("notes.txt", b"hi"), ("b.png", uploads.png())])
    assert skipped.skipped == ["notes.txt: not an image file"] and skipped.added == {"dog": 1}
    assert store.rename_class("cat", "kitten") == "kitten"
    assert store.classes() == {"dog": ["b.png"], "kitten": ["a-2.png", "a.png"]}
    store.remove_image("kitten", "a.png")
    assert store.classes()["kitten"] == ["a-2.png"]
    store.remove_class("dog")
    assert list(store.classes()) == ["kitten"]
    with pytest.raises(DataError, match="exists already"):
        store.add_class("kitten")
    with pytest.raises(DataError, match="does not exist"):
        store.add_images("dog", [("b.png", uploads.png())])


@pytest.mark.parametrize("name", ["", "  ", "../x", "a/b", "..", ".hidden", "a\\b", "///"])
def test_unsafe_class_names_are_refused(name):
    with pytest.raises(DataError):
        safe_name(name)


def test_each_session_has_its_own_folder(tmp_path, uploads):
    first, second = UploadStore(tmp_path, UploadLimits()), UploadStore(tmp_path, UploadLimits())
    first.add_class("cat")
    assert first.root != second.root and second.classes() == {}
    first.clear()
    assert not first.root.exists()
