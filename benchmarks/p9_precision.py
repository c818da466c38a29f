"""P9: what the hardware offers for fine-tuning: channels_last and bfloat16 autocast.

Step times of the plain fine-tuning loop of P8 on preloaded batches, alternating:
float32 contiguous, float32 channels_last, bfloat16 autocast in channels_last (where the
device supports bfloat16). Accuracy: the default task (feature extraction, Animal
Shapes, 50 images per class, 96 px, 5 epochs) trained by the Trainer in float32 and
with its backbone features computed under bfloat16 autocast; the validation accuracies
of both are reported. ``torch.compile`` is not measured here (see the README).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import torch

from benchmarks import p8_preload
from benchmarks.common import BenchSettings, median, on_a_thread
from lab.core.hardware.device import DeviceSetup, bf16_supported, setup_device
from lab.core.training.engine import Trainer

ROUNDS = 2


def _default_task(settings: BenchSettings, bf16: bool) -> float:
    data = replace(settings.config().data, n_per_class=50, image_size=96)
    config = settings.config(
        approach="feature_extraction", epochs=5, data=data, amp=bf16, cpu_bf16=bf16
    )
    trainer = Trainer(config)
    trainer.run()
    if trainer.state != "completed":
        raise RuntimeError(f"P9 run ended {trainer.state}: {trainer.history.error}")
    return trainer.history.best_val_acc or 0.0


def measure(settings: BenchSettings) -> dict[str, Any]:
    """Step-time ratios against float32 contiguous, and both accuracies."""
    small = p8_preload._settings(settings)
    base = setup_device(settings.device, amp=False)
    bf16 = DeviceSetup(base.device, torch.bfloat16) if bf16_supported(base.device) else None
    times: dict[str, list[float]] = {"fp32_contiguous": [], "fp32_channels_last": []}
    if bf16 is not None:
        times["bf16_channels_last"] = []
    for _ in range(ROUNDS):
        for name in times:
            layout = name.split("_", 1)[1]
            setup = bf16 if name.startswith("bf16") else base
            times[name] += on_a_thread(p8_preload._compute_steps, small, layout, setup)
    fp32 = median(times["fp32_contiguous"])
    results: dict[str, Any] = {
        "p9_channels_last_speedup": fp32 / median(times["fp32_channels_last"]),
    }
    details: dict[str, Any] = {"step_s": times}
    if bf16 is not None:
        results["p9_bf16_speedup"] = median(times["fp32_channels_last"]) / median(
            times["bf16_channels_last"]
        )
        results["p9_acc_fp32"] = _default_task(settings, bf16=False)
        results["p9_acc_bf16"] = _default_task(settings, bf16=True)
    return {**results, "details": details}
