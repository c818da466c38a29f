"""Your own images in the served dashboard, in headless Chromium, and the model taken home.

(a) Upload a zip of three class folders, train one epoch, download the ONNX file and the
state dict through the page; both load and predict in a fresh Python process.
(b) Add two classes by name, upload images into each, train.

To run with the network cut off (as the lab must work offline), run pytest in a network
namespace of its own, where only the loopback device exists:
``unshare -n sh -c 'ip link set lo up && python -m pytest tests/e2e/test_own_data.py'``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

REPO_ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = REPO_ROOT / "notebooks" / "dashboard.ipynb"
CLASSES = {"reds": 8, "greens": 8, "blues": 8}
RUN_TIMEOUT_MS = 240_000
PREDICT = r"""
import json, sys
import numpy as np, onnxruntime, torch
from PIL import Image
from lab.core.models import catalog

onnx_path, state_path, *images = sys.argv[1:]
state = torch.load(state_path, weights_only=True)
pre, names = state["preprocessing"], state["class_names"]
size = pre["image_size"] or pre["crop_size"]
mean, std = np.asarray(pre["mean"]), np.asarray(pre["std"])

def tensor(path):
    image = Image.open(path).convert("RGB").resize((size, size), Image.BILINEAR)
    pixels = (np.asarray(image, dtype=np.float32) / 255 - mean) / std
    return pixels.transpose(2, 0, 1).astype(np.float32)

batch = np.stack([tensor(p) for p in images])
session = onnxruntime.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
onnx_top1 = session.run(None, {"image": batch})[0].argmax(1).tolist()
model = catalog.build_model(state["config"]["model"], num_classes=len(names), pretrained=False)
model.load_state_dict(state["state_dict"])
with torch.no_grad():
    torch_top1 = model.eval()(torch.from_numpy(batch)).argmax(1).tolist()
print(json.dumps({"names": names, "onnx": onnx_top1, "torch": torch_top1}))
"""


@pytest.fixture(scope="module")
def lab_server(
    voila_server_factory: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Any]:
    folder = tmp_path_factory.mktemp("own-data")
    uploads = folder / "uploads"
    saved = os.environ.get("LAB_UPLOAD_ROOT")
    os.environ["LAB_UPLOAD_ROOT"] = str(uploads)  # the server's kernels inherit it
    try:
        server = voila_server_factory(Path(shutil.copy(DASHBOARD, folder / DASHBOARD.name)))
    finally:
        if saved is None:
            os.environ.pop("LAB_UPLOAD_ROOT")
        else:
            os.environ["LAB_UPLOAD_ROOT"] = saved
    yield server
    server.stop()


@pytest.fixture
def images(tmp_path: Path, uploads: Any) -> dict[str, list[Path]]:
    """Tiny PNGs on disk, one folder per class."""
    found: dict[str, list[Path]] = {}
    for c, (name, count) in enumerate(CLASSES.items()):
        (tmp_path / "images" / name).mkdir(parents=True)
        found[name] = []
        for i in range(count):
            path = tmp_path / "images" / name / f"{i}.png"
            path.write_bytes(uploads.png(seed=100 * c + i, colour=c))
            found[name].append(path)
    return found


def open_lab(page: Any, server: Any) -> None:
    page.goto(server.url, timeout=180_000)  # Voilà runs the notebook before answering
    page.locator(".tl-app").wait_for(timeout=180_000)  # the kernel runs the notebook first
    page.locator(".jupyter-widget-Collapse-header", has_text="2 · Data").click()
    select = page.locator(".tl-dataset-select select")
    select.wait_for(state="visible")
    select.select_option(label="Your images (upload)…")
    page.locator(".tl-data-upload").wait_for(state="visible")
    assert "10.0 MB" in page.locator(".tl-data-upload .tl-upload-note").inner_text()


def load_and_train(page: Any, n_classes: int) -> None:
    page.locator(".tl-image-size select").select_option(label="64 px")
    page.locator(".tl-load-button").click()
    page.locator(".tl-data-status", has_text=f"{n_classes} classes").wait_for(timeout=60_000)
    for css, value in (("tl-epochs", "1"), ("tl-batch-size", "8")):
        box = page.locator(f".{css} input")
        box.fill(value)
        box.press("Enter")
    page.get_by_role("button", name="Start", exact=True).click()
    ended = page.locator(".tl-status", has_text=re.compile("completed|failed"))
    ended.wait_for(timeout=RUN_TIMEOUT_MS)
    detail = page.locator(".tl-status-detail").inner_text()
    assert ended.inner_text().strip() == "completed", detail
    assert page.get_by_text("Traceback").count() == 0, "a traceback is on the page"


def download(page: Any, css: str, folder: Path) -> Path:
    with page.expect_download(timeout=120_000) as info:
        page.locator(f".{css} button").click()
    target = folder / info.value.suggested_filename
    info.value.save_as(target)
    return target


def test_upload_a_zip_train_and_take_the_model_home(
    page: Any, lab_server: Any, uploads: Any, images: dict[str, list[Path]], tmp_path: Path
) -> None:
    archive = tmp_path / "my-images.zip"
    archive.write_bytes(uploads.class_zip(CLASSES, top="my-images"))
    open_lab(page, lab_server)
    page.locator(".tl-data-upload input[type=file]").set_input_files(str(archive))
    message = page.locator(".tl-upload-message", has_text="added 24 image(s)")
    message.wait_for(timeout=60_000)
    assert page.locator(".tl-class-count").count() == 3
    load_and_train(page, 3)

    page.locator(".tl-outputs .lm-TabBar-tab", has_text="7 · Test and use").click()
    onnx = download(page, "tl-download-onnx", tmp_path)
    state = download(page, "tl-download-state-dict", tmp_path)
    assert onnx.suffix == ".onnx" and state.name.endswith("model_state.pt")
    print(f"downloaded {onnx.stat().st_size:,} B ONNX, {state.stat().st_size:,} B state dict")

    paths = [str(p) for files in images.values() for p in files]
    result = subprocess.run(
        [sys.executable, "-c", PREDICT, str(onnx), str(state), *paths],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    assert answer["names"] == sorted(CLASSES)
    assert len(answer["onnx"]) == len(paths) and set(answer["onnx"]) <= {0, 1, 2}
    agree = sum(a == b for a, b in zip(answer["onnx"], answer["torch"], strict=True))
    assert agree / len(paths) >= 0.99, answer


def test_add_classes_by_name_upload_images_and_train(
    page: Any, lab_server: Any, images: dict[str, list[Path]]
) -> None:
    open_lab(page, lab_server)
    chosen = list(CLASSES)[:2]
    for name in chosen:
        page.locator(".tl-new-class input").fill(name)
        page.locator(".tl-add-class").click()
        page.locator(".tl-class-count", has_text=name).wait_for()
    for name in chosen:
        count = page.locator(".tl-class-count", has_text=f"{name} ·")
        row = page.locator(".tl-class-row", has=count)
        drop = row.locator(".tl-class-upload input[type=file]")
        drop.set_input_files([str(p) for p in images[name]])
        count = page.locator(".tl-class-count", has_text=f"{name} · {CLASSES[name]} image(s)")
        count.wait_for(timeout=60_000)
    assert page.locator("img.tl-class-thumbs:visible").count() == 2
    load_and_train(page, 2)
