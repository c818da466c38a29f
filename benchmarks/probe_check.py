"""P5: the transferability probe against the truth it predicts, and what it costs.

On each offline data set, every offline backbone and the random-init twins of two of
them are probed at the workshop panel's settings (all three scores from one pass of
features), then trained for real (feature extraction on a fixed budget, validation
images the probe never sees); see :mod:`lab.core.analysis.probe_truth`. Per score: Kendall's tau
over all pairs and over the pairs more than 2 points apart, the tie groups the probe
reports, and the probe's time against the real runs' time.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from benchmarks.common import BenchSettings, context
from lab.core.analysis.probe import Candidate, random_twin
from lab.core.analysis.probe_scores import SCORES
from lab.core.analysis.probe_truth import ProbeCheck, TruthBudget, check_probe
from lab.core.models import catalog


@dataclass(frozen=True)
class ProbeCheckSettings:
    """The probe at the workshop panel's defaults; real runs of 100 images per class,
    500 validation images, 112 px, 3 epochs."""

    datasets: tuple[str, ...] = ("animal_shapes", "mnist5k")
    twins_of: tuple[str, ...] = ("mobilenet_v2.IMAGENET1K_V1", "tf_efficientnet_lite0.in1k")
    probe_per_class: int = 20
    probe_image_size: int = 64
    budget: TruthBudget = field(default_factory=TruthBudget)

    def candidates(self) -> list[Candidate]:
        """Every backbone whose weights are on this machine, then the random twins."""
        keys = [e.key for e in catalog.list_models() if e.availability != "download"]
        return [Candidate(k) for k in keys] + [random_twin(k) for k in self.twins_of]


def _figures(check: ProbeCheck) -> dict[str, Any]:
    scores = {
        name: {
            **{k: v for k, v in asdict(c).items() if k != "score"},
            "scores": {
                r.label: [r.scores.value(name), *r.scores.interval(name)]
                for r in check.report.ranking
                if r.scores is not None
            },
        }
        for name, c in check.checks.items()
    }
    return {
        "probe_s": check.probe_s,
        "real_s": check.real_s,
        "time_ratio": check.time_ratio,
        "probe_cpu_s": check.probe_cpu_s,
        "cpu_ratio": check.cpu_ratio,
        "real": {
            r.label: {"acc": r.acc, "seconds": r.seconds, "cpu_s": r.cpu_s} for r in check.real
        },
        "scores": scores,
        "verdict": check.report.verdict(),
    }


def measure_dataset(settings: ProbeCheckSettings, data: str) -> dict[str, Any]:
    """The probe against real runs on one data set (models built once before timing, so
    imports and weight files read once are charged to nobody)."""
    for c in settings.candidates():
        catalog.build_model(c.key, 10, pretrained=c.pretrained)
    check = check_probe(
        settings.candidates(),
        data,
        settings.probe_per_class,
        settings.probe_image_size,
        settings.budget,
        on_run=lambda r: print(f"  {r.label:<42}{r.acc:7.1%}{r.seconds:7.1f} s", flush=True),
    )
    print(f"{data}:\n{check.report.table()}\n\n{check.table()}\n", flush=True)
    return _figures(check)


def summarize(settings: ProbeCheckSettings, per_dataset: dict[str, Any]) -> dict[str, Any]:
    """The P5 figures over the data sets: the best score is the one with the best
    worst-case tau on the pairs more than 2 points apart (the worst-case tau over all
    pairs breaks a tie); time ratios are the worse data set's."""

    def merit(score: str) -> tuple[float, float]:
        rows = [d["scores"][score] for d in per_dataset.values()]
        return min(r["tau_gap"] for r in rows), min(r["tau_all"] for r in rows)

    best = max(SCORES, key=merit)
    results: dict[str, Any] = {
        "p5_best_score": best,
        "p5_tau_gap": merit(best)[0],
        "p5_tau_all": merit(best)[1],
        "p5_time_ratio": max(d["time_ratio"] for d in per_dataset.values()),
        "p5_cpu_ratio": max(d["cpu_ratio"] for d in per_dataset.values()),
    }
    for name in SCORES:
        results[f"p5_tau_gap_{name}"], results[f"p5_tau_all_{name}"] = merit(name)
    results["details"] = {"settings": asdict(settings), "datasets": per_dataset}
    return results


def measure(settings: ProbeCheckSettings | None = None) -> dict[str, Any]:
    """Every data set of ``settings``, one after the other, summarized."""
    settings = settings or ProbeCheckSettings()
    per_dataset = {data: measure_dataset(settings, data) for data in settings.datasets}
    return summarize(settings, per_dataset)


def main(argv: list[str] | None = None) -> None:
    """``python -m benchmarks.probe_check --data NAME --part PATH`` measures one data set
    into PATH (each fits in a short quiet window); ``--merge PATH...`` summarizes such
    parts into the P5 figures of ``benchmarks/results/latest.json``, other keys kept."""
    from benchmarks import run  # run imports this module

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--data", choices=ProbeCheckSettings().datasets)
    parser.add_argument("--part", type=Path, help="where --data writes its figures")
    parser.add_argument("--merge", type=Path, nargs="+", help="parts to summarize")
    parser.add_argument("--out", type=Path, default=run.RESULTS)
    args = parser.parse_args(argv)
    budget = replace(TruthBudget(), device=BenchSettings().device)
    settings = ProbeCheckSettings(budget=budget)
    if args.data and args.part:
        began = time.perf_counter()
        figures = measure_dataset(settings, args.data)
        part = {"data": args.data, "figures": figures, "context": context(BenchSettings())}
        part["context"]["bench_seconds"] = time.perf_counter() - began
        args.part.write_text(json.dumps(part, indent=2) + "\n")
        return
    if not args.merge:
        parser.error("pass --data NAME --part PATH, or --merge PATH...")
    parts = [json.loads(p.read_text()) for p in args.merge]
    new = summarize(settings, {p["data"]: p["figures"] for p in parts})
    new["details"] = {"p5": new.pop("details")}
    new["context"] = {
        **parts[0]["context"],
        "bench_seconds": sum(p["context"]["bench_seconds"] for p in parts),
    }
    old = json.loads(args.out.read_text()) if args.out.exists() else {}
    args.out.write_text(json.dumps(run.merge(old, new, ["p5"]), indent=2) + "\n")
    print(run.table({k: v for k, v in new.items() if k.startswith("p5")}))


if __name__ == "__main__":
    main()
