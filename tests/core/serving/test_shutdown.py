"""A process that ends while it trains stops the run between steps and saves it.

Each test trains a tiny, deliberately slow model (its batches loaded on helper threads,
as images are) in a child process that writes its run folder, then ends that process
the way a kernel ends: leaving normally (what a shutdown request does) or by SIGTERM
(what jupyter_client sends next).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from lab.core.serving.shutdown import REASON

REPO_ROOT = Path(__file__).resolve().parents[3]
CHILD = textwrap.dedent(
    """
    import sys, time
    import torch
    from torch import nn
    sys.path.insert(0, {tests!r})
    from tests.core.tiny_runs import CLASSES, tiny_config, tiny_data

    from lab.core.training.engine import Trainer
    from lab.core.training.events import Event

    class Slow(nn.Module):
        def __init__(self):
            super().__init__()
            self.body, self.head = nn.Linear(4, 8), nn.Linear(8, 3)

        def forward(self, x):
            time.sleep(0.05)
            return self.head(torch.relu(self.body(x)))

    class Rows(torch.utils.data.Dataset):
        # Not tensors in memory: batches load on helper threads, as images do.
        def __init__(self, inputs, labels):
            self.inputs, self.labels = inputs, labels

        def __len__(self):
            return len(self.labels)

        def __getitem__(self, i):
            return self.inputs[i], int(self.labels[i])

    trainer = Trainer.from_parts(
        Slow(), Rows(*tiny_data(12, 1)), tiny_data(9, 2), CLASSES,
        config=tiny_config(epochs=1000, runs_dir={runs!r}),
    )
    trainer.on(Event.EVALUATION_COMPLETED, lambda e: print("evaluated", flush=True))
    trainer.start()
    print(sys.stdin.readline().strip() or "leaving", flush=True)
    """
)


def start_child(tmp_path: Path) -> subprocess.Popen[str]:
    script = CHILD.format(tests=str(REPO_ROOT / "tests"), runs=str(tmp_path / "runs"))
    child = subprocess.Popen(
        [sys.executable, "-c", script],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )
    assert child.stdout is not None
    line = child.stdout.readline()  # one evaluation done: a checkpoint exists
    assert line.strip() == "evaluated", f"the child did not train: {line!r}"
    return child


def last_event(tmp_path: Path) -> dict[str, object]:
    (run,) = (tmp_path / "runs").iterdir()
    assert (run / "best.pt").exists(), "the best checkpoint is missing"
    lines = (run / "metrics.jsonl").read_text().splitlines()
    return dict(json.loads(lines[-1]))


@pytest.mark.timeout(60)
def test_leaving_the_process_stops_and_saves_the_run(tmp_path: Path) -> None:
    child = start_child(tmp_path)
    began = time.monotonic()
    child.communicate("leave\n", timeout=30)
    assert child.returncode == 0
    assert time.monotonic() - began < 5, "the exit waited for more than one step"
    event = last_event(tmp_path)
    assert event["type"] == "run_stopped" and event["reason"] == REASON, event


@pytest.mark.timeout(60)
def test_sigterm_stops_and_saves_the_run_then_ends_the_process(tmp_path: Path) -> None:
    child = start_child(tmp_path)
    child.send_signal(signal.SIGTERM)
    child.wait(timeout=30)
    assert child.returncode == -signal.SIGTERM, "SIGTERM must still end the process"
    event = last_event(tmp_path)
    assert event["type"] == "run_stopped" and event["reason"] == REASON, event
    assert child.stdin is not None
    child.stdin.close()
    assert child.stdout is not None
    child.stdout.close()
