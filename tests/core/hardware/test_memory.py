"""The C heap keeps freed blocks during a run and gives them back after it."""

from __future__ import annotations

import subprocess
import sys

import pytest

# A fresh process, so the heap is in glibc's default state when the loop first runs.
_LOOP = """
import resource, torch
from lab.core.hardware.memory import keep_freed_blocks, release_memory

images, conv = torch.randn(8, 16, 112, 112), torch.nn.Conv2d(16, 96, 1)

def faults():
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    with torch.no_grad():
        for _ in range(5):
            conv(images).relu()  # 37 MiB activations, above glibc's largest mmap threshold
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before

plain = faults()
assert keep_freed_blocks() and keep_freed_blocks()
faults()  # the heap grows to hold the blocks once
kept = faults()
release_memory()
print(plain, kept)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's allocator")
def test_freed_blocks_are_reused_instead_of_mapped_in_again() -> None:
    out = subprocess.run(
        [sys.executable, "-c", _LOOP], capture_output=True, text=True, check=True, timeout=120
    )
    plain, kept = map(int, out.stdout.split())
    assert plain > 5 * 37 * 2**20 // 4096  # every pass mapped its blocks in page by page
    assert kept < plain // 5  # now the blocks are reused
