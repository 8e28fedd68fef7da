#!/usr/bin/env bash
# The fast gates, without reinstalling: lint, format, types (mypy, basic level: pyproject [tool.mypy]),
# import layering, the packages' doctests (their Example: blocks), the docs site built strictly, then a
# fast test subset.
#   bash scripts/dev_check.sh            # gates + the tests that need no model, Docker or service
#   bash scripts/dev_check.sh --no-tests # gates only (what CI runs after the suite)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PY=.venv/bin/python
[ -x "$PY" ] || PY=python3
BIN="$(dirname "$PY")"
PACKAGES=(common sandbox eval agent training cli)
step() { printf '\033[1;34m[dev_check]\033[0m %s\n' "$*" >&2; }
step "ruff check"
"$BIN/ruff" check .
step "ruff format --check (packages)"
"$BIN/ruff" format --check "${PACKAGES[@]}"
step "types (mypy, the packages)"
"$BIN/mypy"
step "import layering (lint-imports)"
"$BIN/lint-imports" --no-cache
step "doctests of the packages' Example: blocks"
"$PY" -m pytest -q -p no:cacheprovider --doctest-modules -o testpaths= "${PACKAGES[@]}"
step "docs site (mkdocs build --strict)"
site="$(mktemp -d)"
"$PY" -m mkdocs build --strict -q -d "$site"
rm -rf "$site"
if [ "${1:-}" != "--no-tests" ]; then
  step "fast tests"
  "$PY" -m pytest -q -p no:cacheprovider -m "not model and not slow and not vllm and not docker and not service" "$@"
fi
