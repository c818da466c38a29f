"""Run the engine benchmarks: ``python -m benchmarks.run`` (or ``make bench``).

Prints a table and writes ``benchmarks/results/latest.json``. Every figure is a ratio
(or a latency next to the step time it is bounded by) measured side by side in this
one run, on MobileNetV2 (offline ImageNet weights) and Animal Shapes.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from benchmarks import p1_feature_cache, p2_throughput
from benchmarks.common import BenchSettings, context

RESULTS = Path(__file__).parent / "results" / "latest.json"

#: key -> (target text, check on the results)
TARGETS: dict[str, tuple[str, Any]] = {
    "p1_epoch_speedup": (">= 20", lambda r: r["p1_epoch_speedup"] >= 20),
    "p1_run_speedup": (">= 5", lambda r: r["p1_run_speedup"] >= 5),
    "p1_acc_cached": (
        "= naive ± 0.01",
        lambda r: abs(r["p1_acc_cached"] - r["p1_acc_naive"]) <= 0.01,
    ),
    "p1_acc_naive": ("", None),
    "p2_vs_bare": (">= 0.95", lambda r: r["p2_vs_bare"] >= 0.95),
    "p2_vs_compute": (">= 0.90", lambda r: r["p2_vs_compute"] >= 0.9),
    "p3_stop_latency_ms": (
        "<= step + 50",
        lambda r: r["p3_stop_latency_ms"] <= r["p3_step_ms"] + 50,
    ),
    "p3_step_ms": ("", None),
}


def table(results: dict[str, Any]) -> str:
    lines = [f"{'figure':<22}{'value':>12}  {'target':<16}{'met':>5}", "-" * 57]
    for key, (target, check) in TARGETS.items():
        met = "" if check is None else ("yes" if check(results) else "NO")
        lines.append(f"{key:<22}{results[key]:>12.3f}  {target:<16}{met:>5}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image-size", type=int, default=BenchSettings.image_size)
    parser.add_argument("--device", default=BenchSettings.device)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    settings = replace(BenchSettings(), image_size=args.image_size, device=args.device)
    began = time.perf_counter()
    p1 = p1_feature_cache.measure(settings)
    print(f"P1 done after {time.perf_counter() - began:.0f} s", flush=True)
    p2 = p2_throughput.measure(settings)
    results = {k: v for part in (p1, p2) for k, v in part.items() if k != "details"}
    results["met"] = {k: bool(c(results)) for k, (_, c) in TARGETS.items() if c is not None}
    results["context"] = context(settings)
    results["context"]["bench_seconds"] = time.perf_counter() - began
    results["details"] = {"p1": p1["details"], "p2_p3": p2["details"]}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(table(results))
    print(
        f"\n{results['context']['bench_seconds']:.0f} s on {results['context']['device']}, "
        f"torch {results['context']['torch']}, {results['context']['torch_threads']} threads; "
        f"written to {args.out}"
    )
    return results


if __name__ == "__main__":
    main()
