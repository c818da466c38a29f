"""Run the benchmarks: ``python -m benchmarks.run`` (or ``make bench``).

Prints a table and writes ``benchmarks/results/latest.json``. Every figure is a ratio
(or a latency next to the step time it is bounded by) measured side by side in this
one run: P1-P3 on MobileNetV2 (offline ImageNet weights) and Animal Shapes, P5 (the
probe against real training) on every offline backbone and two data sets.
``--only p5`` runs one part; the figures of parts not run are kept from the file.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from benchmarks import (
    p1_feature_cache,
    p2_throughput,
    p6_staged,
    p7_feature_run,
    p8_preload,
    p9_compile,
    p9_precision,
    probe_check,
)
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
    "p5_tau_gap": (">= 0.7", lambda r: r["p5_tau_gap"] >= 0.7),
    "p5_tau_all": ("", None),
    "p5_time_ratio": ("<= 0.05", lambda r: r["p5_time_ratio"] <= 0.05),
    "p5_cpu_ratio": ("<= 0.05", lambda r: r["p5_cpu_ratio"] <= 0.05),
    "p5_tau_gap_linear": ("", None),
    "p5_tau_gap_knn": ("", None),
    "p5_tau_gap_logme": ("", None),
    "p6_acc_staged": (">= plain", lambda r: r["p6_acc_staged"] >= r["p6_acc_plain"]),
    "p6_acc_plain": ("", None),
    "p7_run_vs_forward": ("<= 1.2", lambda r: r["p7_run_vs_forward"] <= 1.2),
    "p7_run_vs_forward_worker": ("", None),
    "p7_run_vs_folded": ("", None),
    "p7_first_run_vs_forward": ("", None),
    "p8_vs_compute": (">= 0.90", lambda r: r["p8_vs_compute"] >= 0.9),
    "p9_channels_last_speedup": ("", None),
    "p9_bf16_speedup": ("", None),
    "p9_acc_bf16": (
        "= fp32 ± 0.01",
        lambda r: abs(r["p9_acc_bf16"] - r["p9_acc_fp32"]) <= 0.01,
    ),
    "p9_acc_fp32": ("", None),
    "p9_compile_speedup": ("", None),
    "p9_compile_first_step_s": ("", None),
}
PARTS = ("p1", "p2", "p5", "p6", "p7", "p8", "p9", "p9c")
#: part -> module with ``measure(settings)`` (P1, P2 and P5 have their own set-up below).
TIMED = {
    "p6": p6_staged,
    "p7": p7_feature_run,
    "p8": p8_preload,
    "p9": p9_precision,
    "p9c": p9_compile,
}


def table(results: dict[str, Any]) -> str:
    lines = [f"{'figure':<22}{'value':>12}  {'target':<16}{'met':>5}", "-" * 57]
    for key, (target, check) in TARGETS.items():
        if key not in results:
            continue
        met = "" if check is None else ("yes" if check(results) else "NO")
        lines.append(f"{key:<22}{results[key]:>12.3f}  {target:<16}{met:>5}")
    return "\n".join(lines)


def _measure(parts: list[str], settings: BenchSettings, began: float) -> dict[str, Any]:
    results: dict[str, Any] = {}
    details: dict[str, Any] = {}
    if "p1" in parts:
        p1 = p1_feature_cache.measure(settings)
        details["p1"] = p1.pop("details")
        results.update(p1)
        print(f"P1 done after {time.perf_counter() - began:.0f} s", flush=True)
    if "p2" in parts:
        p2 = p2_throughput.measure(settings)
        details["p2_p3"] = p2.pop("details")
        results.update(p2)
    if "p5" in parts:
        budget = replace(probe_check.TruthBudget(), device=settings.device)
        p5 = probe_check.measure(probe_check.ProbeCheckSettings(budget=budget))
        details["p5"] = p5.pop("details")
        results.update(p5)
        print(f"P5 done after {time.perf_counter() - began:.0f} s", flush=True)
    for part, module in TIMED.items():
        if part in parts:
            figures = module.measure(settings)
            details[part] = figures.pop("details")
            results.update(figures)
            print(f"{part.upper()} done after {time.perf_counter() - began:.0f} s", flush=True)
    return {**results, "details": details}


def merge(old: dict[str, Any], new: dict[str, Any], parts: list[str]) -> dict[str, Any]:
    """``old`` results with ``new`` ones laid over them: figures of parts not run stay."""
    merged = {**old, **{k: v for k, v in new.items() if k not in ("details", "met", "context")}}
    merged["details"] = {**old.get("details", {}), **new["details"]}
    merged["met"] = {k: bool(c(merged)) for k, (_, c) in TARGETS.items() if c and k in merged}
    contexts = {**old.get("contexts", {}), **{part: new["context"] for part in parts}}
    merged["contexts"] = contexts
    if "p1" in parts or "p2" in parts or "context" not in old:
        merged["context"] = new["context"]
    return merged


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image-size", type=int, default=BenchSettings.image_size)
    parser.add_argument("--device", default=BenchSettings.device)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--only", choices=PARTS, action="append", help="run only these parts")
    args = parser.parse_args(argv)
    parts = args.only or list(PARTS)
    settings = replace(BenchSettings(), image_size=args.image_size, device=args.device)
    began = time.perf_counter()
    new = _measure(parts, settings, began)
    new["context"] = context(settings)
    new["context"]["bench_seconds"] = time.perf_counter() - began
    old = json.loads(args.out.read_text()) if args.out.exists() else {}
    results = merge(old, new, parts)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(table(results))
    ran = new["context"]
    print(
        f"\n{', '.join(parts)}: {ran['bench_seconds']:.0f} s on {ran['device']}, "
        f"torch {ran['torch']}, {ran['torch_threads']} threads; written to {args.out}"
    )
    return results


if __name__ == "__main__":
    main()
