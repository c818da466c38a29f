"""P9, ``torch.compile``: does compiling the fine-tuning step pay back within a run?

The plain fine-tuning loop of P8 (last 3 groups, preloaded batches, the layout the
machine prefers) runs eager, then the same model wrapped in ``torch.compile``. The
first compiled step includes the compilation, and the first step on the epoch's last,
smaller batch compiles again (a new input shape). Payback is the number of steps after
which compiling would have saved time: (both compiling steps - 2 compiled steps) ÷
(eager step - compiled step); none when the compiled step is not faster. The default
run of the dashboard has 5 epochs of 15 steps each, so a payback above that means
compiling would make the run slower.
"""

from __future__ import annotations

import time
from typing import Any

import torch
import torch.nn.functional as F

from benchmarks import p8_preload
from benchmarks.common import BenchSettings, median, on_a_thread
from lab.core.data.batches import index_batches, load_batches
from lab.core.hardware.device import setup_device
from lab.core.hardware.layout import choose_layout, to_layout
from lab.core.training.engine import Trainer

STEPS = 6


def _steps(settings: BenchSettings) -> dict[str, Any]:
    small = p8_preload._settings(settings)
    parts = Trainer(p8_preload._config(small)).prepare()
    setup = setup_device(settings.device)
    model = parts.model.to(setup.device).train()
    batches = index_batches(parts.n_train, small.batch_size, torch.Generator().manual_seed(0))
    preloaded = [(x, y.to(setup.device)) for _, x, y in load_batches(parts.train, batches)]
    layout = choose_layout(model, tuple(preloaded[0][0].shape[1:]), setup)
    preloaded = [(to_layout(x.to(setup.device), layout), y) for x, y in preloaded]
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=0.01)

    full = [b for b in preloaded if len(b[1]) == small.batch_size]
    last = preloaded[-1]

    def timed(module: torch.nn.Module, i: int, batch: Any = None) -> float:
        inputs, labels = batch or full[i % len(full)]
        began = time.perf_counter()
        loss = F.cross_entropy(module(inputs), labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        loss.item()
        return time.perf_counter() - began

    eager = [timed(model, i) for i in range(STEPS + 1)][1:]
    compiled = torch.compile(model)
    first = timed(compiled, 0)
    later = [timed(compiled, i) for i in range(1, STEPS + 1)]
    again = timed(compiled, 0, last) if len(last[1]) != small.batch_size else 0.0
    return {
        "eager_step_s": eager,
        "first_compiled_step_s": first,
        "compiled_step_s": later,
        "recompile_step_s": again,
    }


def measure(settings: BenchSettings) -> dict[str, Any]:
    """Eager vs compiled step time, the compile cost, and the steps it takes to pay back."""
    details = on_a_thread(_steps, settings)
    eager, compiled = median(details["eager_step_s"]), median(details["compiled_step_s"])
    saved = eager - compiled
    compiling = details["first_compiled_step_s"] + details["recompile_step_s"]
    payback = (compiling - 2 * compiled) / saved if saved > 0 else None
    details["payback_steps"] = payback
    return {
        "p9_compile_speedup": eager / compiled,
        "p9_compile_first_step_s": details["first_compiled_step_s"],
        "details": details,
    }
