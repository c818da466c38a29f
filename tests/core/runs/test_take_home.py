"""The downloadable model files agree with torch: ONNX in onnxruntime, TorchScript in a
fresh process, on the whole test split of a real (short) MobileNetV2 run."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch
from torch.utils.data import DataLoader

from lab.core.data import DataSpec
from lab.core.runs import take_home
from lab.core.training.config import RunConfig
from lab.core.training.engine import Trainer

pytestmark = pytest.mark.slow

CONFIG = RunConfig(
    data=DataSpec(n_per_class=10, image_size=64, val_fraction=0.02, test_fraction=0.05),
    epochs=1,
    batch_size=16,
    lr=0.003,
    runs_dir=None,
    embedding="none",
)
AGREEMENT = 0.99


@pytest.fixture(scope="module")
def trained() -> tuple[Trainer, torch.Tensor, np.ndarray]:
    trainer = Trainer(CONFIG)
    trainer.run()
    assert trainer.state == "completed", trainer.history.error
    test = trainer.parts.test
    assert test is not None
    batches = [images for images, _ in DataLoader(test, batch_size=100)]
    inputs = torch.cat(batches)
    model = trainer.model.eval()
    with torch.no_grad():
        top1 = model(inputs).argmax(1).numpy()
    return trainer, inputs, top1


def test_onnx_agrees_with_torch_on_the_test_split(trained):
    trainer, inputs, top1 = trained
    assert len(top1) >= 400  # 5 % of 10,000 images
    name, _, data = take_home.model_file(trainer, "onnx")
    assert name.endswith(".onnx")
    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    (logits,) = session.run(["logits"], {"image": inputs.numpy()})
    agreement = float(np.mean(logits.argmax(1) == top1))
    print(f"ONNX top-1 agreement with torch: {agreement:.4f} on {len(top1)} images")
    assert agreement >= AGREEMENT


def test_torchscript_loads_in_a_fresh_process_and_agrees(trained, tmp_path: Path):
    trainer, inputs, top1 = trained
    _, _, data = take_home.model_file(trainer, "torchscript")
    (tmp_path / "model.pt").write_bytes(data)
    torch.save(inputs, tmp_path / "inputs.pt")
    script = (
        "import json, sys, torch\n"
        "extra = {'class_names.json': ''}\n"
        "model = torch.jit.load(sys.argv[1], _extra_files=extra)\n"
        "with torch.no_grad():\n"
        "    top1 = model(torch.load(sys.argv[2])).argmax(1).tolist()\n"
        "print(json.dumps({'top1': top1, 'classes': json.loads(extra['class_names.json'])}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "model.pt"), str(tmp_path / "inputs.pt")],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    agreement = float(np.mean(np.asarray(answer["top1"]) == top1))
    print(f"TorchScript top-1 agreement with torch: {agreement:.4f} on {len(top1)} images")
    assert agreement >= AGREEMENT
    assert answer["classes"] == list(trainer.class_names)


def test_state_dict_and_metadata_rebuild_the_model(trained):
    trainer, inputs, top1 = trained
    from lab.core.models import catalog

    state = torch.load(io.BytesIO(take_home.model_file(trainer, "state_dict")[2]))
    meta = json.loads(take_home.model_metadata(trainer)[2])
    assert meta["class_names"] == state["class_names"] == list(trainer.class_names)
    assert meta["config"]["model"] == CONFIG.model and meta["test_accuracy"] is not None
    model = catalog.build_model(meta["config"]["model"], num_classes=10, pretrained=False)
    model.load_state_dict(state["state_dict"])
    with torch.no_grad():
        again = model.eval()(inputs[:50]).argmax(1).numpy()
    assert np.array_equal(again, top1[:50])
