"""Hostile uploads and paths in a dashboard-mode lab: each is explained in the panel.

One lab trains a (tiny) model and holds a good upload; then every hostile input is
tried in turn. After each, the panel must show a message naming the problem (never an
absolute server path), and the trained model and the uploaded images must still be
there. The kernel living is this test process going on without an exception.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from ui_helpers import tiny_factory, wait_until

from lab.core.serving.settings import LabSettings, UploadLimits
from lab.ui import TransferLab
from lab.ui.data_sources import FOLDER, UPLOADS

GOOD = {"red": 3, "green": 3, "blue": 3}


def visible_text(panel: Any) -> str:
    """The panel's error and upload messages as plain text."""
    parts = [panel.error.value, panel.uploads.error.value, panel.uploads.message.value]
    return re.sub(r"<[^>]+>", "", " ".join(parts)).replace("&#x27;", "'").replace("&#9888;", "")


@pytest.fixture
def lab(tmp_path: Path, uploads: Any) -> Iterator[TransferLab]:
    shared = tmp_path / "shared"
    (shared / "flowers").mkdir(parents=True)
    secret = tmp_path / "secret"
    for name in ("a", "b"):  # a valid image folder, outside the roots
        (secret / name).mkdir(parents=True)
        for i in range(2):
            (secret / name / f"{i}.png").write_bytes(uploads.png(seed=i))
    (shared / "escape").symlink_to(secret)
    settings = LabSettings(
        mode="dashboard",
        data_roots=(shared,),
        upload_root=tmp_path / "uploads",
        allow_downloads=False,
        limits=UploadLimits(max_bytes=10 * 2**20, max_files=50),
    )
    app = TransferLab(trainer_factory=tiny_factory(), runs_dir=None, settings=settings)
    app.train_panel.epochs, app.train_panel.batch_size = 1, 8
    yield app
    app.close()


def _predict(app: TransferLab) -> list[tuple[str, float]]:
    return app.trainer.predict(Image.new("RGB", (8, 8), "red"), k=2)  # type: ignore[union-attr]


def test_hostile_inputs_are_explained_and_nothing_is_lost(lab, uploads, tmp_path):
    app, panel = lab, lab.data_panel
    app.start()
    wait_until(lambda: app.train_panel.status.value == "completed", what="run completed")
    trained, prediction = app.trainer, _predict(app)
    panel.dataset_name = UPLOADS
    panel.uploads.zip_drop.receive([("good.zip", uploads.class_zip(GOOD))])
    before = panel.uploads.store.classes()
    assert {k: len(v) for k, v in before.items()} == GOOD
    server_paths = [str(tmp_path), str(panel.uploads.store.root)]

    zip_drop = panel.uploads.zip_drop
    row_drop = panel.uploads.rows.children[0].children[2].children[0]  # class "blue"
    hostile: list[tuple[str, Callable[[], Any], str]] = [
        ("zip-slip", lambda: zip_drop.receive([("a.zip", uploads.class_zip({}, extra=[("../../evil.png", uploads.png())]))]), "'..'"),  # noqa: E501
        ("absolute path in zip", lambda: zip_drop.receive([("a.zip", uploads.class_zip({}, extra=[("/tmp/abs/x.png", uploads.png())]))]), "absolute paths"),  # noqa: E501
        ("symlink in zip", lambda: zip_drop.receive([("a.zip", uploads.zip_with_link({}, "red/link.png", "/etc/passwd"))]), "symbolic links"),  # noqa: E501
        ("15000x15000 PNG", lambda: row_drop.receive([("huge.png", uploads.bomb_png())]), "huge.png"),  # noqa: E501
        ("11 MB upload", lambda: zip_drop.receive([("big.zip", b"\0" * 11_000_000)]), "LAB_UPLOAD_MAX_MB"),  # noqa: E501
        ("11 MB, refused by the browser", lambda: zip_drop._on_message(zip_drop, {"kind": "refused", "files": [{"name": "big.zip", "size": 11_000_000}]}, []), "10.0 MB per upload"),  # noqa: E501
        ("path outside the roots", lambda: _load_folder(panel, "/etc"), "outside the data folders"),  # noqa: E501
        ("'..'", lambda: _load_folder(panel, "flowers/../../secret"), "outside the data folders"),  # noqa: E501
        ("symlink in a root pointing out", lambda: _load_folder(panel, "escape"), "symbolic links"),  # noqa: E501
        ("'~'", lambda: _load_folder(panel, "~"), "outside the data folders"),
        ("a non-image", lambda: row_drop.receive([("notes.txt", b"hello")]), "skipped 1 file(s) that are not images"),  # noqa: E501
        ("an empty zip", lambda: zip_drop.receive([("e.zip", uploads.empty_zip())]), "it is empty"),  # noqa: E501
        ("not a zip", lambda: zip_drop.receive([("x.zip", b"hello")]), "not a zip archive"),
        ("a zip of one class", lambda: zip_drop.receive([("solo.zip", uploads.class_zip({"solo": 2}))]), "single class ('solo')"),  # noqa: E501
        ("a class name with a path", lambda: panel.uploads.create_class("../etc"), "plain name"),
        ("too many files", lambda: row_drop.receive([(f"{i}.png", uploads.png()) for i in range(51)]), "LAB_UPLOAD_MAX_FILES"),  # noqa: E501
    ]  # fmt: skip
    assert len(hostile) >= 12
    for what, action, expected in hostile:
        action()
        text = visible_text(panel)
        assert expected in text, f"{what}: the panel says {text!r}"
        assert not any(p in text for p in server_paths), f"{what}: server path in {text!r}"
        now = panel.uploads.store.classes()
        for name, files in before.items():
            assert set(files) <= set(now[name]), f"{what}: uploaded images were lost"
        assert app.trainer is trained and trained.state == "completed", what
        assert _predict(app) == prediction, f"{what}: the trained model changed"

    panel.dataset_name = UPLOADS
    assert panel.load(), visible_text(panel)
    assert set(GOOD) <= set(panel.dataset.class_names)


def _load_folder(panel: Any, typed: str) -> None:
    panel.dataset_name, panel.path = FOLDER, typed
    assert panel.load() is False


def test_dashboard_mode_locks_weight_downloads(lab):
    model = lab.model_panel
    assert model.offline_only and model.offline_check.disabled
    model.offline_only = False  # what a crafted message from the page would do
    assert model.offline_only
    assert all(model.availability(k) != "download" for k in model.visible_keys())


def test_dashboard_mode_offers_downloads_but_no_server_exports(lab):
    use_panel = lab.use_panel
    classes = {c for b in use_panel.take_home.buttons.values() for c in b._dom_classes}
    assert {"tl-download-onnx", "tl-download-state-dict", "tl-download-torchscript"} <= classes
    assert {"tl-download-metrics", "tl-download-confusion"} <= classes
    assert not any(b in _descendants(use_panel) for b in use_panel.export_buttons)


def _descendants(widget: Any) -> list[Any]:
    found = [widget]
    for child in getattr(widget, "children", ()):
        found += _descendants(child)
    return found


def test_take_home_files_of_a_run(lab):
    lab.start()
    wait_until(lambda: lab.train_panel.status.value == "completed", what="run completed")
    box = lab.use_panel.take_home
    name, mime, data = box.download("metrics") or ("", "", b"")
    lines = data.decode().splitlines()
    assert name.endswith("-metrics.csv") and mime == "text/csv"
    assert lines[0].startswith("epoch,global_step,train_loss") and len(lines) == 2  # 1 epoch
    confusion = (box.download("confusion") or ("", "", b""))[2].decode().splitlines()
    assert confusion[0] == "true \\ predicted,a,b,c,d" and len(confusion) == 5
    assert sum(int(v) for row in confusion[1:] for v in row.split(",")[1:]) == 32  # val items
    state = box.download("state-dict")
    assert state is not None and state[0].endswith("model_state.pt")
    import torch

    loaded = torch.load(io.BytesIO(state[2]), weights_only=True)
    assert loaded["class_names"] == ["a", "b", "c", "d"]
    # The tiny model has no preprocessing to size an example: said in the panel.
    assert box.download("onnx") is None and "example" in box.error.value
