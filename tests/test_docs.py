"""The README and docs/: size, no issue numbers, every named repository file exists, mkdocs --strict builds."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))
PAGES = [README, *DOCS]
TOP_DIRS = (
    "common",
    "agent",
    "sandbox",
    "eval",
    "training",
    "cli",
    "benchmarks",
    "configs",
    "docker",
    "scripts",
    "tests",
    "docs",
)
SUFFIXES = (".py", ".md", ".yaml", ".sh", ".toml", ".jsonl")
PATH_RE = re.compile(r"(?<![\w./-])((?:" + "|".join(TOP_DIRS) + r")/[\w./-]*[\w])")


FENCE_RE = re.compile(r"^ *(`{3,}|~{3,})[^\n]*\n(.*?)^ *\1 *$", re.M | re.S)


def _code_spans(text: str) -> list[str]:
    """Inline code spans, and each line of the fenced code blocks."""
    spans = []
    for block in FENCE_RE.finditer(text):
        spans.extend(block.group(2).splitlines())
    prose = FENCE_RE.sub("", text)
    spans.extend(m.group(2) for m in re.finditer(r"(`+)(.+?)\1", prose, flags=re.S))
    return spans


def _named_paths(text: str) -> set[str]:
    found = set()
    for span in _code_spans(text):
        if any(mark in span for mark in ("*", "<", "{", "...")):
            continue
        for path in PATH_RE.findall(span):
            if path.endswith(SUFFIXES):
                found.add(path)
    return found


def test_readme_is_short():
    assert README.stat().st_size <= 12000


def test_docs_pages_exist():
    names = {p.name for p in DOCS}
    assert {
        "index.md",
        "agent.md",
        "sandbox.md",
        "grading.md",
        "collection.md",
        "training.md",
        "deployment.md",
        "testing.md",
        "architecture.md",
        "benchmarks.md",
    } <= names


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_no_issue_numbers(page):
    hits = re.findall(r"\bissues? \d+", page.read_text(), flags=re.IGNORECASE)
    assert not hits, f"{page.name}: {hits}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_named_paths_exist(page):
    missing = sorted(p for p in _named_paths(page.read_text()) if not (ROOT / p).exists())
    assert not missing, f"{page.name} names missing files: {missing}"


def test_path_finder_sees_paths():
    assert _named_paths("see `agent/agent.py` and `cli/commands/{a,b}.py`, `docs/x.md#y`") == {
        "agent/agent.py",
        "docs/x.md",
    }
    fenced = '```bash\nrun configs/a.yaml\nmathagent solve "..." configs/b.yaml\n```\n'
    assert _named_paths(fenced) == {"configs/a.yaml"}


def test_mkdocs_builds_strict(tmp_path):
    try:
        import mkdocs  # noqa: F401
    except ImportError:
        pytest.skip("mkdocs is not installed")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-d", str(tmp_path / "site")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
