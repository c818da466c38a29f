"""The same run under torchrun: two CPU processes with gloo, DDP, rank 0 writing."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lab import cli
from lab.core.runs.saved import list_runs, load_run
from tests.core.shape_images import shapes_config, write_config, write_shapes

REPO = Path(__file__).resolve().parents[3]
TWO_PROCESSES = [sys.executable, "-m", "lab.cli", "train", "--nproc", "2"]


@pytest.fixture(scope="module")
def shapes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_shapes(tmp_path_factory.mktemp("shapes"))


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO)}


def rank_results(stderr: str) -> dict[int, float]:
    found = re.findall(r"^rank (\d+): best val_acc=(\S+)$", stderr, re.M)
    return {int(rank): float(acc) for rank, acc in found}


@pytest.mark.parametrize("approach", ["fine_tuning", "feature_extraction"])
def test_two_processes_train_like_one_and_only_rank_0_writes(shapes, tmp_path, approach, capsys):
    values = shapes_config(shapes, tmp_path / "runs", approach=approach, epochs=3)
    config = write_config(tmp_path / "config.json", values)
    done = subprocess.run(
        [*TWO_PROCESSES, str(config)], capture_output=True, text=True, env=_env(), timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    accs = rank_results(done.stderr)
    assert set(accs) == {0, 1}, done.stderr[-3000:]  # both processes finished
    assert accs[0] == accs[1]  # the all-reduced validation accuracy is the same everywhere
    (run_dir,) = list_runs(tmp_path / "runs")  # one run folder: rank 0's
    run = load_run(run_dir)
    assert run.history.state == "completed" and run.model is not None
    assert run.history.best_val_acc == pytest.approx(accs[0], abs=1e-12)
    assert re.search(rf"^val_acc={accs[0]:.4f}$", done.stdout, re.M)
    # Each process saw about half of the training images per epoch.
    steps = {s.epoch: s.step for s in run.history.steps}
    assert steps[1] == -(-((39 + 1) // 2) // values["batch_size"])

    assert cli.main(["train", str(config), "--runs-dir", str(tmp_path / "single")]) == 0
    single = float(re.findall(r"^val_acc=(\S+)$", capsys.readouterr().out, re.M)[-1])
    assert abs(single - accs[0]) <= 0.03 + 1e-9


def test_sigterm_stops_every_process_and_rank_0_saves_the_run(shapes, tmp_path):
    values = shapes_config(shapes, tmp_path / "runs", approach="fine_tuning", epochs=200)
    config = write_config(tmp_path / "config.json", values)
    process = subprocess.Popen(
        [*TWO_PROCESSES, str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            runs = list_runs(tmp_path / "runs")
            if runs and "evaluation_completed" in (runs[0] / "metrics.jsonl").read_text():
                break
            time.sleep(0.5)
        else:
            pytest.fail("no epoch was evaluated within two minutes")
        process.send_signal(signal.SIGTERM)  # what a scheduler sends at the time limit
        _out, err = process.communicate(timeout=90)
    finally:
        if process.poll() is None:
            process.kill()
    run = load_run(list_runs(tmp_path / "runs")[0])
    assert run.history.state == "stopped"
    assert run.checkpoint is not None and run.checkpoint["epoch"] >= 1
    assert set(rank_results(err)) == {0, 1}, err[-3000:]  # both processes ended their runs
