"""Latency on this machine at batch 1 and batch 32, cached per machine and torch version.

Timing a model takes seconds, and the answer only changes with the hardware or the
torch build, so measurements are kept in a small JSON file under the user's cache dir
(``LAB_CACHE_DIR`` overrides it), one section per machine and torch version.
"""

from __future__ import annotations

import json
import os
import platform
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path

import platformdirs
import torch

from lab.core.analysis.latency import measure_latency

#: Batch sizes measured for every model: one image at a time, and a batch as in training.
BATCHES = (1, 32)


@dataclass(frozen=True)
class LatencyPair:
    """Milliseconds per image at batch 1 and at batch 32 on this machine."""

    batch1_ms: float
    batch32_ms: float


def machine_key(device: str = "cpu") -> str:
    """Which machine and torch build a measurement belongs to."""
    cpu = platform.processor() or platform.machine()
    cores = f"{os.cpu_count()} cores"
    return f"{platform.node()} | {cpu} | {cores} | {device} | torch {torch.__version__}"


#: The cache's file name. "-2": measured only while other work leaves the CPUs alone
#: (``lab.ui.latency_view``); a first file could hold timings of a busy machine.
FILE_NAME = "latency-2.json"


def default_path() -> Path:
    """``$LAB_CACHE_DIR/latency-2.json``, else the user's cache dir for transfer-lab."""
    root = os.environ.get("LAB_CACHE_DIR") or platformdirs.user_cache_dir("transfer-lab")
    return Path(root) / FILE_NAME


class LatencyCache:
    """Measured latencies of catalog models, read from and written to ``path``."""

    def __init__(self, path: Path | None = None, device: str = "cpu") -> None:
        self.path = path or default_path()
        self.device = device
        self._lock = threading.Lock()

    def _read_all(self) -> dict[str, dict[str, dict[str, float]]]:
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError):  # none yet, or unreadable: measure again
            return {}
        return data if isinstance(data, dict) else {}

    def known(self) -> dict[str, LatencyPair]:
        """Every model measured on this machine with this torch version."""
        section = self._read_all().get(machine_key(self.device), {})
        pairs = {}
        for key, row in section.items() if isinstance(section, dict) else ():
            try:
                pairs[key] = LatencyPair(float(row["batch1_ms"]), float(row["batch32_ms"]))
            except (KeyError, TypeError, ValueError):
                continue  # a hand-edited or older entry: measured again on request
        return pairs

    def get(self, key: str) -> LatencyPair | None:
        """The cached latency of model ``key``, or None."""
        return self.known().get(key)

    def measure(
        self,
        key: str,
        repeats: int = 5,
        store: bool = True,
        should_stop: Callable[[], bool] | None = None,
    ) -> LatencyPair:
        """Time model ``key`` at both batch sizes (random weights: speed does not depend
        on their values) and, with ``store``, keep the result. ``should_stop``: see
        :func:`~lab.core.analysis.latency.measure_latency`."""
        timed = partial(measure_latency, key, warmup=1, device=self.device, should_stop=should_stop)
        single = timed(batch_size=1, repeats=repeats)
        batch = timed(batch_size=32, repeats=2)
        pair = LatencyPair(single.per_image_ms, batch.per_image_ms)
        if store:
            self.store(key, pair)
        return pair

    def store(self, key: str, pair: LatencyPair) -> None:
        """Keep ``pair`` as model ``key``'s latency on this machine."""
        with self._lock:
            data = self._read_all()
            data.setdefault(machine_key(self.device), {})[key] = asdict(pair)
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_name(self.path.name + ".tmp")
            try:
                with tmp.open("w") as handle:
                    json.dump(data, handle, indent=1)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(tmp, self.path)
            finally:
                tmp.unlink(missing_ok=True)
