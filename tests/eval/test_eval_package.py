"""Package hygiene of eval/: no imports of agent, training or sandbox; __all__ everywhere; small modules."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

EVAL = Path(__file__).resolve().parents[2] / "eval"
MINE = [
    "errors",
    "extract",
    "normalize",
    "structures",
    "equivalence",
    "symbolic",
    "policy",
    "grade",
    "grade_pool",
    "records",
    "datasets",
    "metrics",
    "report",
    "summary",
    "trajectory",
]


@pytest.mark.parametrize("name", MINE)
def test_module_hygiene(name: str) -> None:
    path = EVAL / f"{name}.py"
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots = [a.name.split(".")[0] for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots = [node.module.split(".")[0]]
        else:
            continue
        assert not set(roots) & {"agent", "training", "sandbox"}, f"{name} imports {roots}"
        assert "signal" not in roots, f"{name} uses signal"
    mod = importlib.import_module(f"eval.{name}")
    assert mod.__all__ and all(hasattr(mod, n) for n in mod.__all__)
    assert len(path.read_text().splitlines()) < 800


def test_public_api() -> None:
    import eval

    for n in ("extract_answer", "grade", "compare", "grader_version", "EvalError"):
        assert n in eval.__all__ and hasattr(eval, n)
