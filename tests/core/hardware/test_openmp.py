"""OpenMP workers: given back by a thread that hands over its compute, none for helpers."""

from __future__ import annotations

import subprocess
import sys

import pytest

from lab.core.hardware.openmp import _libgomps

pytestmark = pytest.mark.skipif(not _libgomps(), reason="torch here does not run on libgomp")

# A fresh process with two torch threads, so the thread counts are its own.
_TEAMS = """
import os, threading, torch
from lab.core.hardware.openmp import release_team, single_threaded

torch.set_num_threads(2)
def threads():
    return len(os.listdir("/proc/self/task"))

def parallel_op():
    torch.ones(64, 64, 64).mul_(2)  # large enough for torch to split it across threads

parallel_op()
with_team = threads()
released = release_team()
without_team = threads()

seen = {}
def helper():
    single_threaded()
    before = threads()
    parallel_op()
    seen.update(count=torch.get_num_threads(), new=threads() - before)

thread = threading.Thread(target=helper)
thread.start()
thread.join()
print(with_team, without_team, released, seen["count"], seen["new"], torch.get_num_threads())
"""


def test_a_thread_gives_back_its_workers_and_a_helper_starts_none() -> None:
    out = subprocess.run(
        [sys.executable, "-c", _TEAMS], capture_output=True, text=True, check=True, timeout=120
    )
    with_team, without_team, released, count, new, main_count = out.stdout.split()
    assert released == "True"
    assert int(without_team) == int(with_team) - 1  # the main thread's one worker went
    assert (int(count), int(new)) == (1, 0)  # the helper computed alone
    assert int(main_count) == 2  # and the main thread kept its setting
