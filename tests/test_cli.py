"""``transfer-lab``: bad input, the subcommands, the entry point."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

from lab import cli
from tests.core.shape_images import shapes_config, write_config, write_shapes

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def shapes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_shapes(tmp_path_factory.mktemp("shapes"), n_per_class=8)


def one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert err.startswith("transfer-lab: error: "), err
    return err


BAD = {
    "missing file": (None, "does not exist"),
    "not json": ("{epochs: 3", "not a JSON file"),
    "not an object": ("[1, 2]", "JSON object"),
    "unknown key": ('{"epoch": 3}', r"unknown run setting\(s\) \['epoch'\]"),
    "bad value": ('{"epochs": 0}', "epochs=0: choose at least 1 epoch"),
    "bad data key": ('{"data": {"nme": "digits"}}', "data: .*nme"),
    "bad fraction": ('{"data": {"val_fraction": 1.5}}', "val_fraction=1.5"),
    "unknown model": ('{"model": "resnet19.IMAGENET1K_V1"}', "model='resnet19.IMAGENET1K_V1'"),
    "unknown data set": ('{"data": {"name": "mnist6k"}}', "name='mnist6k' is not a data set"),
    "missing folder": ('{"data": {"name": "folder", "path": "/no/such"}}', "does not exist"),
}


@pytest.mark.parametrize(("text", "message"), BAD.values(), ids=BAD.keys())
def test_bad_configs_exit_non_zero_with_one_readable_line(tmp_path, capsys, text, message):
    path = tmp_path / "config.json"
    if text is not None:
        path.write_text(text)
    assert cli.main(["train", str(path), "--runs-dir", str(tmp_path / "runs")]) == 2
    assert re.search(message, one_error_line(capsys))
    assert not (tmp_path / "runs").exists()  # nothing written for a run that never began


def test_a_config_too_big_for_its_data_is_refused_before_training(shapes, tmp_path, capsys):
    config = write_config(
        tmp_path / "c.json", shapes_config(shapes, tmp_path / "runs", batch_size=500)
    )
    assert cli.main(["train", str(config)]) == 2
    assert "batch_size=500" in one_error_line(capsys)


def test_a_line_every_process_prints_is_written_whole(monkeypatch):
    from tests.core.training.test_headless import Writes

    stderr = Writes()
    monkeypatch.setattr(sys, "stderr", stderr)
    cli._line("rank 1: best val_acc=0.5")
    assert stderr.calls == ["rank 1: best val_acc=0.5\n"]  # print would write "\n" apart


def test_the_console_script_is_declared_and_python_m_works():
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert project["scripts"]["transfer-lab"] == "lab.cli:main"
    installed = [
        ep for ep in metadata.entry_points(group="console_scripts") if ep.name == "transfer-lab"
    ]
    for entry_point in installed:  # only where the package is installed with it
        assert entry_point.value == "lab.cli:main"
    done = subprocess.run(
        [sys.executable, "-m", "lab.cli", "--help"],
        cwd=REPO,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stderr
    for command in ("train", "script", "probe", "serve", "export-data"):
        assert command in done.stdout


def test_script_writes_the_code_of_a_saved_config(shapes, tmp_path, capsys):
    config = write_config(tmp_path / "c.json", shapes_config(shapes, tmp_path / "runs"))
    assert cli.main(["script", str(config), "-o", str(tmp_path / "train.py")]) == 0
    source = (tmp_path / "train.py").read_text()
    assert "python train.py" in source and f'DATA_DIR = "{shapes}"' in source
    assert cli.main(["script", str(config)]) == 0
    assert capsys.readouterr().out == source


def test_export_data_writes_a_folder_and_refuses_a_full_one(tmp_path, capsys):
    assert cli.main(["export-data", "digits", str(tmp_path / "digits")]) == 0
    assert "wrote 1797 images of 10 classes" in capsys.readouterr().out
    assert len(list((tmp_path / "digits" / "3").iterdir())) == 183
    assert cli.main(["export-data", "digits", str(tmp_path / "digits")]) == 2
    assert "not empty" in one_error_line(capsys)


def test_probe_prints_a_ranking_table(shapes, capsys):
    key = "mobilenet_v2.IMAGENET1K_V1"
    args = ["probe", "--data", str(shapes), "--models", key, "--n-per-class", "4"]
    assert cli.main([*args, "--image-size", "32"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].startswith("ranked by ") and "intervals" in table[0]
    assert table[1].split() == ["#", "model", "linear", "k-NN", "LogME", "group"]
    assert table[2].split()[:2] == ["1", key]
    assert "[" in table[2] and table[2].split()[-1] == "1"  # an interval, and its group


def test_serve_runs_what_make_lab_runs():
    command = cli.dashboard_command(8866)
    assert command[1:3] == ["-m", "voila"] and Path(command[3]).is_file()
    recipe = (REPO / "Makefile").read_text().split("\nlab:", 1)[1].split("\n\n", 1)[0]
    recipe = recipe.replace("$(PORT)", "8866").replace("$(POOL_SIZE)", str(cli.POOL_SIZE))
    flags = set(re.findall(r"--[\w.-]+(?:=\S+)?", recipe))
    assert flags == set(command[4:])
    from lab.core.hardware.memory import SERVER_ENV

    assert all(f"{k}={v} " in recipe for k, v in SERVER_ENV.items())  # the same environment
    assert json.loads(Path(command[3]).read_text())["cells"]  # a real notebook
