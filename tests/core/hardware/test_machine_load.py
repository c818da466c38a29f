"""Other processes' share of our CPUs: a busy neighbour counts, our own work does not."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

from lab.core.hardware.device import available_cpus
from lab.core.hardware.machine_load import OthersLoad, others_share

BURN = "import time\nt = time.monotonic()\nwhile time.monotonic() - t < {s}: pass\n"


def test_a_busy_process_beside_us_takes_its_share() -> None:
    neighbour = subprocess.Popen([sys.executable, "-c", BURN.format(s=4)])
    try:
        time.sleep(0.5)  # past the interpreter's start
        share = others_share(1.0)
    finally:
        neighbour.wait()
    # One process busy on one of our CPUs: 1 / CPUs of the share, less scheduling noise.
    assert share >= 0.7 / available_cpus()


def test_our_own_work_is_not_counted() -> None:
    with OthersLoad() as load:
        began = time.monotonic()
        while time.monotonic() - began < 1.0:
            pass
    # Counted, this loop alone would be 1 / CPUs of the share.
    assert load.share < 0.6 / available_cpus()


def test_our_other_python_threads_count() -> None:
    done = threading.Event()

    def spin() -> None:  # a notebook cell or the dashboard's pump, busy beside us
        while not done.is_set():
            pass

    thread = threading.Thread(target=spin)
    thread.start()
    try:
        share = others_share(1.0)
    finally:
        done.set()
        thread.join()
    assert share >= 0.7 / available_cpus()
