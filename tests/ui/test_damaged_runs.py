"""A corpus of damaged run folders: the compare tab lists every good run, names the rest.

One real tiny run is copied many times; in each copy one file is cut at several points,
replaced by a value of the wrong type, or removed.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from lab.core.runs.saved import load_run
from lab.ui.compare_panel import ComparePanel, SavedRunsLoaded
from lab.ui.pump import Sends
from tests.core.tiny_runs import tiny_trainer

FILES = ("config.json", "metrics.jsonl", "best.pt", "test.json")
WRONG = {
    "config.json": ["[]", "null", '{"epochs": "ten"}', '{"data": 5}', '"text"'],
    "test.json": ["[1, 2]", "3"],
    "best.pt": ['{"state_dict": {}}', "\x00" * 64],
    "metrics.jsonl": ["[1, 2]\n", '{"type": "nope"}\n', '"x"\n{"type": 3}\n'],
}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, set[str], set[str]]:
    """(runs dir, names of good runs, names of damaged runs)."""
    root = tmp_path_factory.mktemp("corpus")
    trainer = tiny_trainer(runs_dir=str(root / "source"))
    trainer.run()
    source = trainer.run_dir
    assert source is not None and all((source / f).exists() for f in FILES)
    runs = root / "runs"
    good = {f"good-{i}" for i in range(3)}
    for name in good:
        shutil.copytree(source, runs / name)
    damaged: set[str] = set()

    def variant(name: str, file: str, content: bytes | None) -> None:
        folder = runs / name
        shutil.copytree(source, folder)
        if content is None:
            (folder / file).unlink()
        else:
            (folder / file).write_bytes(content)
        damaged.add(name)

    for file in FILES:
        data = (source / file).read_bytes()
        for cut in sorted({0, 1, len(data) // 3, len(data) // 2, len(data) - 2}):
            variant(f"cut-{file}-{cut}", file, data[:cut])
        for i, text in enumerate(WRONG[file]):
            variant(f"wrong-{file}-{i}", file, text.encode())
    for file in ("config.json", "metrics.jsonl"):
        variant(f"missing-{file}", file, None)
    return runs, good, damaged


def test_every_damaged_folder_loads_and_says_what_is_wrong(
    corpus: tuple[Path, set[str], set[str]],
) -> None:
    runs, good, damaged = corpus
    for name in sorted(good):
        run = load_run(runs / name, model=tiny_trainer().model)
        assert run.problems == [] and run.history.state == "completed", name
    for name in sorted(damaged):
        run = load_run(runs / name, model=tiny_trainer().model)  # never raises
        # A metrics file cut mid-line is what a killed process leaves: "interrupted".
        assert run.problems or run.interrupted, f"{name}: damage not named"
        for problem in run.problems:
            assert problem.split(":")[0].split(" ")[0] in FILES, problem
            assert problem.split(":", 1)[1].strip(), f"{name}: an empty message"


def test_the_compare_tab_lists_good_runs_and_names_damaged_ones(
    corpus: tuple[Path, set[str], set[str]],
) -> None:
    runs, good, damaged = corpus
    posted: list[Any] = []
    panel = ComparePanel(post=posted.append, runs_dir=str(runs))
    panel.load_button.click()
    (loaded,) = [p for p in posted if isinstance(p, SavedRunsLoaded)]
    listed = {h.name for h in loaded.histories}
    named = {line.split(":")[0] for line in loaded.damaged}
    assert good <= listed and not good & named
    interrupted = {h.name for h in loaded.histories if h.state == "interrupted"}
    assert damaged <= named | interrupted, sorted(damaged - named - interrupted)
    panel.show_saved(loaded, Sends())
    assert good <= set(panel.select.options)
    for name in named:
        assert name in panel.info.value
    assert interrupted, "a metrics file cut mid-line reads as interrupted"
    for name in interrupted:
        assert name in panel.info.value
    assert "best checkpoint" in panel.info.value
    panel.select.value = tuple(sorted(interrupted))
    panel.show_saved(loaded, Sends())
    assert panel.table.value.count("interrupted") == len(interrupted)
