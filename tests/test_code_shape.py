"""Small units: no module in ``lab/`` over 400 lines, no function or method over 60.

A function's length runs from its ``def`` line to its last line (docstring and nested
functions included, decorators not). The failure lists every offender as
``path:line name (length)`` so the fix starts from the message.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

LAB = Path(__file__).resolve().parents[1] / "lab"
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60


def _modules() -> list[Path]:
    return sorted(LAB.rglob("*.py"))


def _name(path: Path) -> str:
    return path.relative_to(LAB.parent).as_posix()


def _functions(tree: ast.AST, prefix: str = "") -> Iterator[tuple[str, int, int]]:
    """``(qualified name, first line, length)`` of every function, nested ones included."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.ClassDef):
            yield from _functions(node, f"{prefix}{node.name}.")
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            end = node.end_lineno or node.lineno
            yield f"{prefix}{node.name}", node.lineno, end - node.lineno + 1
            yield from _functions(node, f"{prefix}{node.name}.")
        else:
            yield from _functions(node, prefix)


def _lengths() -> dict[str, tuple[str, int]]:
    """``path::name`` -> (``path:line``, length) for every function in ``lab/``."""
    out = {}
    for path in _modules():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for name, line, length in _functions(tree):
            out[f"{_name(path)}::{name}"] = (f"{_name(path)}:{line}", length)
    return out


def test_the_walk_sees_the_package() -> None:
    # Guards the two tests below against passing because they looked at nothing.
    lengths = _lengths()
    assert len(_modules()) > 50 and len(lengths) > 500
    assert any(key.endswith("::Trainer.start") for key in lengths)


def test_no_module_is_over_the_limit() -> None:
    long = [
        f"{_name(p)} ({n} lines)"
        for p in _modules()
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    ]
    assert not long, (
        f"modules over {MAX_MODULE_LINES} lines; split each by concept into a new module:\n  "
        + "\n  ".join(long)
    )


def test_no_function_is_over_the_limit() -> None:
    long = [
        f"{where} {key.split('::')[1]} ({length} lines)"
        for key, (where, length) in sorted(_lengths().items())
        if length > MAX_FUNCTION_LINES
    ]
    assert not long, (
        f"functions over {MAX_FUNCTION_LINES} lines; split each into small named functions:\n  "
        + "\n  ".join(long)
    )
