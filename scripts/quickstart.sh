#!/usr/bin/env bash
# README command 1: install everything (scripts/setup.sh, idempotent), then solve a sample problem
# end to end with the default offline model: it reasons, writes Python, the jailed kernel runs it, and
# it answers in \boxed{}. Extra arguments replace the sample question.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MATHAGENT_MODELS="${MATHAGENT_MODELS:-smollm2-135m qwen2.5-coder-0.5b qwen2.5-coder-1.5b}" bash "$ROOT/scripts/setup.sh"
QUESTION="${*:-Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May. How many clips did Natalia sell altogether in April and May?}"
exec "$ROOT/.venv/bin/mathagent" solve --model qwen2.5-coder-1.5b "$QUESTION"
