"""P5: the transferability probe against the truth it predicts, and what it costs.

On each offline data set, every offline backbone and the random-init twins of two of
them are probed at the workshop panel's settings (all three scores from one pass of
features), then trained for real (feature extraction on a fixed budget, validation
images the probe never sees); see :mod:`lab.core.analysis.probe_truth`. Per score: Kendall's tau
over all pairs and over the pairs more than 2 points apart, the tie groups the probe
reports, and the probe's time against the real runs' time.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

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


def measure(settings: ProbeCheckSettings | None = None) -> dict[str, Any]:
    """Every data set; the best score is the one with the best worst-case tau on the
    pairs more than 2 points apart (the worst-case tau over all pairs breaks a tie)."""
    settings = settings or ProbeCheckSettings()
    for c in settings.candidates():  # imports and weight files read once, outside any timing
        catalog.build_model(c.key, 10, pretrained=c.pretrained)
    per_dataset = {}
    for data in settings.datasets:
        check = check_probe(
            settings.candidates(),
            data,
            settings.probe_per_class,
            settings.probe_image_size,
            settings.budget,
            on_run=lambda r: print(f"  {r.label:<42}{r.acc:7.1%}{r.seconds:7.1f} s", flush=True),
        )
        print(f"{data}:\n{check.report.table()}\n\n{check.table()}\n", flush=True)
        per_dataset[data] = _figures(check)

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
