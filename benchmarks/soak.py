"""Soak: many real small runs in one process; memory, threads and open files must not grow.

``python -m benchmarks.soak [--runs 50] [--n-per-class 10] [--image-size 64]`` trains
MobileNetV2 (offline ImageNet weights, feature extraction) on Animal Shapes again and
again, each run saving its folder, as a workshop kernel does, and records after each
run the resident memory, the threads and the open file descriptors. Targets: RSS after
the last run within 100 MB of RSS after the first, no thread or descriptor growth.
Writes ``benchmarks/results/soak.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from benchmarks.common import BenchSettings, context
from lab.core.training import engine
from lab.core.training.engine import Trainer

RESULTS = Path(__file__).parent / "results" / "soak.json"
RSS_BUDGET_MB = 100.0


def rss_mb() -> float:
    """Resident memory of this process (Linux ``/proc``)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("VmRSS missing from /proc/self/status")


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def one_run(settings: BenchSettings, runs_dir: str) -> str:
    trainer = Trainer(settings.config(epochs=1, runs_dir=runs_dir, embedding="none"))
    trainer.run()
    if trainer.state != "completed":
        raise RuntimeError(f"a soak run ended {trainer.state}: {trainer.history.error}")
    return trainer.state


def soak(runs: int, settings: BenchSettings) -> dict[str, Any]:
    """Train ``runs`` runs back to back; figures after each one."""
    samples: list[dict[str, float]] = []
    began = time.perf_counter()
    with tempfile.TemporaryDirectory() as runs_dir:
        for i in range(runs):
            one_run(settings, runs_dir)
            samples.append(
                {
                    "run": i + 1,
                    "rss_mb": round(rss_mb(), 1),
                    "threads": threading.active_count(),
                    "fds": open_fds(),
                    "s": round(time.perf_counter() - began, 1),
                }
            )
            print(samples[-1], flush=True)
    first, last = samples[0], samples[-1]
    growth = last["rss_mb"] - first["rss_mb"]
    return {
        "runs": runs,
        "rss_first_mb": first["rss_mb"],
        "rss_last_mb": last["rss_mb"],
        "rss_max_mb": max(s["rss_mb"] for s in samples),
        "rss_growth_mb": round(growth, 1),
        "rss_within_budget": growth <= RSS_BUDGET_MB,
        "thread_growth": last["threads"] - first["threads"],
        "fd_growth": last["fds"] - first["fds"],
        "seconds": round(time.perf_counter() - began, 1),
        "samples": samples,
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--n-per-class", type=int, default=10)
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument(
        "--keep-heap", action="store_true", help="skip the release after each run (to compare)"
    )
    args = parser.parse_args(argv)
    if args.keep_heap:
        engine.release_memory = lambda: False
    settings = BenchSettings(
        n_per_class=args.n_per_class, image_size=args.image_size, eval_fraction=0.005
    )
    results = {**soak(args.runs, settings), "released": not args.keep_heap}
    results["context"] = context(settings)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    keys = ("rss_first_mb", "rss_last_mb", "rss_growth_mb", "thread_growth", "fd_growth")
    print({k: results[k] for k in keys})
    return results


if __name__ == "__main__":
    main()
