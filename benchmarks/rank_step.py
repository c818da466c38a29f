"""Step 1's "Rank on my data" at the dashboard's defaults: ``python -m benchmarks.rank_step``.

Builds the dashboard (``TransferLab``, pump off so the probe runs in the click, as the
widget tests drive it) with its default data set, then clicks the rank panel's button
with the panel's defaults: every backbone usable offline plus the first one's
random-init twin, 20 images per class at 64 px. The first click pays what a fresh
kernel pays (timm's import, reading each weights file); ``--clicks N`` clicks again.
Prints the wall and CPU seconds of each click and the panel's verdict. Target: the
first click under 30 s on a quiet 2-core machine.
"""

from __future__ import annotations

import argparse
import re
import time

from lab.ui.app import TransferLab


def click(lab: TransferLab) -> tuple[float, float]:
    """Wall and CPU seconds of one click on "Rank on my data"."""
    began, cpu = time.perf_counter(), time.process_time()
    lab.rank_panel.run_button.click()
    return time.perf_counter() - began, time.process_time() - cpu


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clicks", type=int, default=1)
    args = parser.parse_args(argv)
    lab = TransferLab(runs_dir=None, live=False)
    panel = lab.rank_panel
    models = [c.label for c in panel.chosen_candidates()]
    print(f"data set {lab.data_panel.dataset_name}, {panel.n_per_class.value} per class, "
          f"{panel.image_size.value} px, {len(models)} models: {', '.join(models)}")  # fmt: skip
    for i in range(1, args.clicks + 1):
        wall, cpu = click(lab)
        print(f"click {i}: {wall:.1f} s wall, {cpu:.1f} s CPU")
    if panel.error.value:
        print("error:", panel.error.value)
    print(re.sub(r"<[^>]+>", " ", panel.status.value))


if __name__ == "__main__":
    main()
