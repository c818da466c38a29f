"""Reading a run folder that may be damaged: load what can be loaded, name the rest.

A process killed mid-run, a full disk or a hand-edited file can leave a folder with a
half-written ``config.json``, a truncated ``best.pt``, a ``metrics.jsonl`` line that is
not an event. Each file is read on its own; what fails is named in ``problems`` and
the other files still load. A run whose events do not end with a terminal one (its
process was killed) reads back as ``"interrupted"``, never ``"running"``. Temporary files
a writer killed mid-write left behind are removed on reading (``lab.core.runs.atomic``).
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lab.core.runs import atomic
from lab.core.training.config import RunConfig
from lab.core.training.history import RunHistory

#: The files a run writes whole (through a temporary file).
WHOLE_FILES = ("config.json", "best.pt", "test.json")

#: Errors a damaged file raises on reading (a truncated zip, a bad type, bad JSON...).
READ_ERRORS = (OSError, ValueError, TypeError, KeyError, AttributeError, EOFError, RuntimeError)


@dataclass
class RunFolder:
    """The readable parts of one run folder, and what was damaged in it."""

    path: Path
    config: RunConfig | None = None
    history: RunHistory = field(default_factory=RunHistory)
    checkpoint: dict[str, Any] | None = None  # with its state dict
    test: dict[str, Any] | None = None
    problems: list[str] = field(default_factory=list)
    cleaned: list[str] = field(default_factory=list)  # stale temporaries removed

    @property
    def damaged(self) -> bool:
        return bool(self.problems)


def _why(exc: BaseException) -> str:
    text = str(exc).strip()
    if isinstance(exc, EOFError) or not text:
        return f"{type(exc).__name__} (the file is empty or cut short)"
    return f"{type(exc).__name__}: {text.splitlines()[0][:200]}"


def read_json_object(path: Path) -> dict[str, Any]:
    """A JSON file that must hold an object (``ValueError`` otherwise)."""
    values = json.loads(path.read_text())
    if not isinstance(values, dict):
        raise ValueError(f"expected a JSON object, found {type(values).__name__}")
    return values


def read_events(path: Path, name: str) -> tuple[RunHistory, list[str]]:
    """Fold ``metrics.jsonl`` into a history; skipped lines are named in the list.

    A half-written last line (the process died mid-write) is skipped without comment.
    """
    from lab.core.runs.saved import payload_from_dict

    history, problems = RunHistory(name=name), list[str]()
    if not path.exists():
        return history, problems
    lines = path.read_text(errors="replace").splitlines()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            values = json.loads(line)
            if not isinstance(values, dict):
                raise ValueError(f"expected an event object, found {type(values).__name__}")
            history.apply(payload_from_dict(values))
        except json.JSONDecodeError:
            if number < len(lines):
                problems.append(f"metrics.jsonl line {number}: not JSON")
        except READ_ERRORS as exc:
            problems.append(f"metrics.jsonl line {number}: {_why(exc)}")
    if history.state in ("running", "paused"):
        history.state = "interrupted"
    return history, problems


def read_run_folder(path: str | Path, weights: bool = True) -> RunFolder:
    """Read every file of a run folder that can be read (see the module docstring).

    ``weights=False`` leaves ``best.pt`` unread (listing runs needs no weights).
    """
    from lab.core.runs.saved import load_checkpoint

    folder = RunFolder(Path(path))
    base = folder.path
    folder.cleaned = atomic.remove_stale(base, WHOLE_FILES)
    folder.history, folder.problems = read_events(base / "metrics.jsonl", base.name)
    folder.config = _read(folder, "config.json", lambda p: RunConfig.from_dict(read_json_object(p)))
    folder.test = _read(folder, "test.json", read_json_object)
    if weights:
        folder.checkpoint = _read(folder, "best.pt", load_checkpoint)
    else:
        _read(folder, "best.pt", check_archive)
    required = ("config.json", "metrics.jsonl")
    folder.problems.extend(f"{name}: missing" for name in required if not (base / name).exists())
    if folder.history.started is None and (base / "metrics.jsonl").exists():
        folder.problems.append("metrics.jsonl: no run_started event")
    return folder


def check_archive(path: Path) -> None:
    """Check a checkpoint's zip archive (names and CRCs) without unpickling it."""
    with zipfile.ZipFile(path) as archive:
        bad = archive.testzip()
    if bad is not None:
        raise ValueError(f"{bad} inside the archive is corrupt")


def scan_runs(runs_dir: str | Path) -> tuple[list[RunFolder], list[RunFolder]]:
    """Every run folder of ``runs_dir``, newest first: (readable runs, damaged ones).

    A readable run has a started history, even if some other file is damaged (then it
    is in both lists); weights are not loaded.
    """
    from lab.core.runs.saved import list_runs

    readable, damaged = [], []
    for path in list_runs(runs_dir):
        folder = read_run_folder(path, weights=False)
        if folder.history.started is not None:
            readable.append(folder)
        if folder.damaged:
            damaged.append(folder)
    return readable, damaged


def describe_damage(folder: RunFolder) -> str:
    """``name: problem; problem`` in one line."""
    return f"{folder.path.name}: {'; '.join(folder.problems)}"


def _read(folder: RunFolder, name: str, reader: Any) -> Any:
    target = folder.path / name
    if not target.exists():
        return None
    try:
        return reader(target)
    except Exception as exc:  # any reader's error (pickle's too) names the file, no more
        folder.problems.append(f"{name}: {_why(exc)}")
        return None
