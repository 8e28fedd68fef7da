#!/usr/bin/env bash
# README command 2: install everything (scripts/setup.sh, idempotent) and run the whole test suite.
# Extra arguments go to pytest, e.g. `bash scripts/test.sh tests/eval -q`.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/scripts/setup.sh" || exit $?
cd "$ROOT"
.venv/bin/python -m pytest "$@"
rc=$?
if [ "$rc" -eq 5 ]; then
  echo "pytest collected no tests: the suite is misconfigured" >&2
  exit 1
fi
exit "$rc"
