#!/usr/bin/env bash
# The sandbox's security tests against isolation 'docker' (issue 3, point 7); first, compose.yaml is
# validated with docker-compose (v1, apt).
#
# Installs docker.io and debootstrap (apt), starts a private dockerd (data root, exec root, pidfile and
# socket under a temp folder; --iptables=false --bridge=none suffice for --network none containers),
# imports a Debian base image made with debootstrap (the rootfs tarball is cached under
# $MATHAGENT_CACHE_DIR, default /var/cache/mathagent, so later runs skip debootstrap), builds the
# sandbox image from sandbox/Dockerfile on it, runs `pytest tests/sandbox -m docker` with
# MATHAGENT_DOCKER=1, and stops dockerd by its pid. Needs root. Extra arguments go to pytest;
# `--run CMD...` runs CMD instead of pytest (same engine and image), e.g. the docker benchmark.
#
#   bash scripts/ci_docker.sh
#   bash scripts/ci_docker.sh --run .venv/bin/python benchmarks/sandbox_bench.py --modes docker
#
# Timing on 2 cores: warm (cached base) ~8.5 min, of which ~6.5 min is the 500-sessions test (about one
# container start per 0.8 s; MATHAGENT_SANDBOX_SESSIONS=100 cuts the run to ~3 min); cold adds ~2 min
# (debootstrap + pip into the base) plus the apt install of docker.io and debootstrap.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
SUITE="${MATHAGENT_DEBIAN_SUITE:-bookworm}"
PKGS="python3,python3-venv"
PIP_PKGS="ipykernel sympy numpy matplotlib"
IMAGE="${MATHAGENT_DOCKER_IMAGE:-mathagent-sandbox:latest}"
PY="${MATHAGENT_PYTHON:-$ROOT/.venv/bin/python}"
LOG_TAG=ci-docker
# shellcheck source=scripts/docker_lib.sh
. "$ROOT/scripts/docker_lib.sh"

docker_lib_init
command -v docker-compose >/dev/null 2>&1 \
  || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-compose) >/dev/null
for profile in cpu gpu; do
  log "docker-compose config: compose.yaml, profile $profile"
  MATHAGENT_SANDBOX_TOKEN=ci-validation-token docker-compose -f compose.yaml --profile "$profile" config -q
done
start_dockerd --iptables=false --ip-masq=false --bridge=none
base="$(debian_base "$SUITE" "$PKGS" "$PIP_PKGS")"
log "docker build $IMAGE"
docker build -q --network host -t "$IMAGE" --build-arg "BASE_IMAGE=$base" sandbox/ >"$TMP/build.log" 2>&1 \
  || { tail -30 "$TMP/build.log" >&2; exit 1; }

set +e
if [ "${1:-}" = "--run" ]; then
  shift
  log "running: $*"
  MATHAGENT_DOCKER=1 MATHAGENT_DOCKER_IMAGE="$IMAGE" "$@"
else
  log "pytest tests/sandbox -m docker"
  MATHAGENT_DOCKER=1 MATHAGENT_DOCKER_IMAGE="$IMAGE" "$PY" -m pytest tests/sandbox -m docker -q "$@"
fi
rc=$?
set -e
exit "$rc"
