"""The public API: ``lab.core`` loads no UI library, and every exported name resolves."""

from __future__ import annotations

import ast
import importlib
import inspect
import json
import subprocess
import sys

import pytest

PACKAGES = [
    "lab.core",
    "lab.core.analysis",
    "lab.core.hardware",
    "lab.core.models",
    "lab.core.runs",
    "lab.core.serving",
    "lab.core.training",
]
UI_LIBRARIES = ["IPython", "ipywidgets", "plotly"]


def _run(code: str) -> object:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def test_importing_lab_core_loads_no_ui_library_and_no_torch() -> None:
    loaded = _run(
        "import json, sys, lab.core; "
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    assert isinstance(loaded, list)
    assert not set(loaded) & {*UI_LIBRARIES, "torch"}


def test_every_exported_name_resolves_without_a_ui_library() -> None:
    found = _run(
        "import importlib, json, sys\n"
        f"packages = {PACKAGES!r}\n"
        "missing = [f'{p}.{n}' for p in packages for n in importlib.import_module(p).__all__\n"
        "           if not hasattr(importlib.import_module(p), n)]\n"
        "ui = sorted({m.split('.')[0] for m in sys.modules} & set(" + repr(UI_LIBRARIES) + "))\n"
        "print(json.dumps([missing, ui]))"
    )
    assert found == [[], []]


@pytest.mark.parametrize("name", PACKAGES)
def test_all_is_sorted_listed_by_dir_and_typed(name: str) -> None:
    package = importlib.import_module(name)
    exported = list(package.__all__)
    assert exported == sorted(set(exported))
    assert set(exported) <= set(dir(package))
    # The names a type checker sees (imports under TYPE_CHECKING) are the exported ones.
    tree = ast.parse(inspect.getsource(package))
    typed = {
        alias.asname or alias.name
        for node in tree.body
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING"
        for statement in node.body
        if isinstance(statement, ast.ImportFrom)
        for alias in statement.names
    }
    assert typed == set(exported)


def test_the_top_level_api_is_the_union_of_the_packages() -> None:
    core = importlib.import_module("lab.core")
    for name in PACKAGES[1:]:
        missing = set(importlib.import_module(name).__all__) - set(core.__all__)
        assert not missing, f"{name} exports {sorted(missing)} that lab.core does not"
