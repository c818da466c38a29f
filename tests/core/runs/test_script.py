"""'Show the code': the generated script trains like the lab, without the lab."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

from lab.cli import main
from lab.core.data import DataSpec, FolderDataset, load_dataset, split_indices, write_image_folder
from lab.core.hardware.device import bf16_supported
from lab.core.runs import script
from lab.core.runs.saved import list_runs, load_run
from lab.core.training.config import ConfigError, RunConfig
from lab.core.training.engine import Trainer
from tests.core.shape_images import shapes_config, write_config, write_shapes

ALLOWED_IMPORTS = {"argparse", "math", "pathlib", "numpy", "torch", "torchvision", "PIL"}
# Runs a script in a process where importing lab fails, after checking that it does.
WITHOUT_LAB = (
    "import runpy, sys\n"
    "sys.modules['lab'] = None\n"
    "try:\n"
    "    import lab\n"
    "except ImportError:\n"
    "    pass\n"
    "else:\n"
    "    raise SystemExit('lab is importable')\n"
    "sys.argv = sys.argv[1:]\n"
    "runpy.run_path(sys.argv[0], run_name='__main__')\n"
)
APPROACHES = {
    "feature_extraction": {"approach": "feature_extraction"},
    "fine_tuning_last_3": {"approach": "fine_tuning", "trainable_groups": 3},
    "scratch": {"approach": "scratch", "lr": 3e-3},
    "staged_last_3": {"approach": "fine_tuning", "trainable_groups": 3, "freeze_epochs": 1},
}


@pytest.fixture(scope="module")
def shapes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_shapes(tmp_path_factory.mktemp("shapes"))


def _value(pattern: str, text: str) -> float:
    found = re.findall(pattern, text, re.M)
    assert found, f"{pattern!r} not in output:\n{text}"
    return float(found[-1])


@pytest.fixture
def deterministic() -> Iterator[None]:
    before = torch.are_deterministic_algorithms_enabled()
    yield
    torch.use_deterministic_algorithms(before)


@pytest.mark.parametrize("changes", APPROACHES.values(), ids=APPROACHES.keys())
def test_the_script_trains_like_the_lab_without_it(
    shapes, tmp_path, changes, capsys, deterministic
):
    # In float32 on both sides, so that the comparison is exact to rounding; bfloat16
    # is checked below.
    values = shapes_config(shapes, tmp_path / "runs", cpu_bf16=False, **changes)
    config = write_config(tmp_path / "config.json", values)
    assert main(["train", str(config), "--deterministic"]) == 0
    lab = capsys.readouterr()
    assert len(re.findall(r"^epoch \d+/2: ", lab.err, re.M)) == 2  # one line per epoch
    (run_dir,) = list_runs(tmp_path / "runs")
    history = load_run(run_dir).history
    assert _value(r"^val_acc=(\S+)$", lab.out) == pytest.approx(history.best_val_acc, abs=1e-4)

    (tmp_path / "train.py").write_text(RunConfig.from_dict(values).to_script())
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    command = [sys.executable, "-c", WITHOUT_LAB, "train.py", "--deterministic"]
    plain = subprocess.run(
        [*command, "--out", "plain"], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert plain.returncode == 0, plain.stderr
    assert _value(r"^step 1: loss=(\S+)$", plain.stdout) == pytest.approx(
        history.steps[0].loss, abs=1e-4
    )
    assert _value(r"^val_acc=(\S+)$", plain.stdout) == pytest.approx(history.best_val_acc, abs=0.02)
    # Not only the start: every epoch's validation loss follows the lab's run.
    val_losses = [
        float(v) for v in re.findall(r"^epoch \d+/2: .* val_loss=(\S+) ", plain.stdout, re.M)
    ]
    assert val_losses == pytest.approx([e.val_loss for e in history.evaluations], abs=2e-3)
    assert (tmp_path / "plain" / "best.pt").is_file()


@pytest.mark.skipif(
    not bf16_supported(torch.device("cpu")), reason="this CPU computes no bfloat16 natively"
)
@pytest.mark.parametrize("approach", ["feature_extraction", "fine_tuning"])
def test_the_script_computes_in_bfloat16_where_the_lab_does(shapes, tmp_path, approach):
    values = shapes_config(shapes, tmp_path / "runs", approach=approach, epochs=1)
    trainer = Trainer(RunConfig.from_dict(values))
    history = trainer.run()
    assert history.started is not None and "bfloat16" in history.started.device
    (tmp_path / "train.py").write_text(RunConfig.from_dict(values).to_script())
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    plain = subprocess.run(
        [sys.executable, "-c", WITHOUT_LAB, "train.py"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert plain.returncode == 0, plain.stderr
    assert "computing on cpu in torch.bfloat16" in plain.stdout
    # bfloat16 keeps 8 bits of mantissa, and the lab takes cached features through a
    # BatchNorm-folded copy: the losses agree to bfloat16's precision, not to float32's.
    first = _value(r"^step 1: loss=(\S+)$", plain.stdout)
    assert first == pytest.approx(history.steps[0].loss, rel=2e-2)
    val_loss = _value(r"^epoch 1/1: .* val_loss=(\S+) ", plain.stdout)
    assert val_loss == pytest.approx(history.evaluations[0].val_loss, rel=5e-2)


def test_the_script_imports_only_torch_torchvision_numpy_pillow(shapes, tmp_path):
    config = RunConfig(data=DataSpec(name="folder", path=str(shapes)), approach="fine_tuning")
    source = config.to_script()
    imported = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add((node.module or "").split(".")[0])
    assert imported == ALLOWED_IMPORTS
    assert len(re.findall(r"^# -- \d\. ", source, re.M)) == 7  # step 8 sits in the loop
    assert "# -- 8. Keep the best weights" in source
    assert "model.classifier[1] = nn.Linear(old_head.in_features, num_classes)" in source
    assert f'DATA_DIR = "{shapes}"' in source
    ruff = Path(sys.executable).with_name("ruff")
    if ruff.exists():  # formatted: ruff would change nothing
        (tmp_path / "train.py").write_text(source)
        check = [str(ruff), "format", "--isolated", "--line-length", "100", "--check"]
        assert subprocess.run([*check, str(tmp_path / "train.py")]).returncode == 0


def test_each_architecture_gets_its_own_head_code():
    resnet = RunConfig(model="resnet18.IMAGENET1K_V1").to_script()
    assert "model.fc = nn.Linear(old_head.in_features, num_classes)" in resnet
    squeeze = RunConfig(model="squeezenet1_0.IMAGENET1K_V1").to_script()
    assert "model.classifier[1] = nn.Conv2d(\n        old_head.in_channels," in squeeze
    googlenet = RunConfig(model="googlenet.IMAGENET1K_V1").to_script()
    assert "model.aux_logits = False" in googlenet and "model.aux1 = None" in googlenet


def test_a_builtin_data_set_is_named_and_written_out_with_the_same_split(tmp_path):
    source = RunConfig(data=DataSpec(name="digits")).to_script()
    assert "transfer-lab export-data digits data/digits" in source
    assert 'DATA_DIR = "data/digits"' in source
    digits = load_dataset("digits")
    folder = FolderDataset(write_image_folder(digits, tmp_path / "digits"))
    assert folder.class_names == digits.class_names
    ours = split_indices(digits.labels, 0.2, 0.2, 30, seed=3)
    theirs = split_indices(folder.labels, 0.2, 0.2, 30, seed=3)
    original = np.array([int(path.stem) for path in folder.files])  # files are named by index
    for name in ("train", "val", "test"):
        mine, other = getattr(ours, name), original[getattr(theirs, name)]
        assert sorted(mine) == sorted(other)
    for j in range(0, len(folder), 97):
        assert np.array_equal(np.asarray(folder.image(j)), np.asarray(digits.image(original[j])))


def test_models_outside_torchvision_are_refused_by_name():
    with pytest.raises(ConfigError, match="tf_efficientnet_lite0.in1k.*torchvision"):
        RunConfig(model="tf_efficientnet_lite0.in1k").to_script()


def test_formatting_is_skipped_softly_without_ruff(monkeypatch):
    monkeypatch.setattr(script.shutil, "which", lambda _name: None)
    monkeypatch.setattr(script.sys, "executable", "/nowhere/bin/python")
    assert script.format_python("x = [1,\n2]\n") == "x = [1,\n2]\n"
