"""Temporary files a killed writer leaves go when the run folder is read; live ones stay.

A child process writes ``best.pt`` through ``lab.core.runs.atomic`` with a write that stops
half way, as a large checkpoint on a slow disk does; the test reads the folder while the
child still writes, then kills it and reads the folder again.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch

from lab.core.runs import atomic
from lab.core.runs.run_folder import read_run_folder, scan_runs
from lab.core.runs.saved import load_checkpoint, load_run
from tests.core.tiny_runs import tiny_trainer

REPO_ROOT = Path(__file__).resolve().parents[3]
WRITER = textwrap.dedent(
    """
    import os, sys, time
    from lab.core.runs import atomic

    real = os.write
    def stuck(fd, data):
        written = real(fd, bytes(data[: len(data) // 2]))
        print("writing", flush=True)
        time.sleep(600)  # killed here
        return written

    atomic._write = stuck
    atomic.write_bytes(sys.argv[1], b"new checkpoint " * 4096)
    """
)


@pytest.fixture
def run_folder(tmp_path: Path) -> Path:
    """A finished tiny run's folder (every file whole)."""
    trainer = tiny_trainer(runs_dir=str(tmp_path / "runs"))
    trainer.run()
    assert trainer.run_dir is not None
    return trainer.run_dir


@pytest.fixture
def writer(run_folder: Path) -> Iterator[subprocess.Popen[str]]:
    """A child process stuck half way through writing the folder's ``best.pt``."""
    child = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(run_folder / "best.pt")],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "writing", "the child did not start writing"
    yield child
    if child.poll() is None:
        child.kill()
    child.communicate(timeout=30)


@pytest.mark.timeout(120)
def test_a_temporary_left_by_a_killed_writer_is_removed_when_the_folder_is_read(
    run_folder: Path, writer: subprocess.Popen[str]
) -> None:
    before = (run_folder / "best.pt").read_bytes()
    tmp = run_folder / "best.pt.tmp"
    assert tmp.exists() and tmp.stat().st_size > 0
    assert read_run_folder(run_folder).cleaned == [], "removed while its writer was alive"
    assert tmp.exists()
    writer.send_signal(signal.SIGKILL)
    writer.communicate(timeout=30)
    assert tmp.exists(), "a killed writer leaves its temporary"
    run = load_run(run_folder, model=tiny_trainer().model)
    assert not tmp.exists() and run.problems == [] and run.model is not None
    assert (run_folder / "best.pt").read_bytes() == before, "the last good checkpoint changed"


@pytest.mark.timeout(120)
def test_listing_the_runs_removes_what_killed_writers_left(
    run_folder: Path, writer: subprocess.Popen[str]
) -> None:
    writer.send_signal(signal.SIGKILL)
    writer.communicate(timeout=30)
    readable, damaged = scan_runs(run_folder.parent)
    (folder,) = readable
    assert folder.cleaned == ["best.pt.tmp"] and not damaged
    assert not (run_folder / "best.pt.tmp").exists()


def test_a_temporary_this_process_is_writing_stays(
    run_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    writing, go_on = threading.Event(), threading.Event()
    real = os.write

    def slow(fd: int, data: Any) -> int:
        writing.set()
        go_on.wait(30)
        return real(fd, data)

    monkeypatch.setattr(atomic, "_write", slow)
    checkpoint = {"state_dict": {"w": torch.ones(2)}, "class_names": ["a", "b"]}
    thread = threading.Thread(target=atomic.write_torch, args=(run_folder / "best.pt", checkpoint))
    thread.start()
    assert writing.wait(30)
    assert read_run_folder(run_folder, weights=False).cleaned == []
    go_on.set()
    thread.join(30)
    assert not (run_folder / "best.pt.tmp").exists()
    assert load_checkpoint(run_folder / "best.pt")["class_names"] == ["a", "b"]


def test_earlier_versions_temporaries_go_once_older_than_this_process(run_folder: Path) -> None:
    old, new = run_folder / "best.pt.partial", run_folder / "test.json.partial"
    for path in (old, new):
        path.write_bytes(b"half a file")
    past = time.time() - 3600
    os.utime(old, (past, past))
    (run_folder / "notes.tmp").write_text("not a file the lab writes")
    assert read_run_folder(run_folder, weights=False).cleaned == ["best.pt.partial"]
    assert new.exists() and (run_folder / "notes.tmp").exists()
