#!/usr/bin/env bash
# The sandbox's security tests against isolation 'docker' (issue 3, point 7).
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
CACHE="${MATHAGENT_CACHE_DIR:-/var/cache/mathagent}"
SUITE="${MATHAGENT_DEBIAN_SUITE:-bookworm}"
MIRROR="${MATHAGENT_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
PKGS="python3,python3-venv"
PIP_PKGS="ipykernel sympy numpy matplotlib"
IMAGE="${MATHAGENT_DOCKER_IMAGE:-mathagent-sandbox:latest}"
PY="$ROOT/.venv/bin/python"
log() { printf '\033[1;34m[ci-docker]\033[0m %s\n' "$*" >&2; }
t0=$(date +%s)

if [ "$(id -u)" != 0 ]; then
  echo "scripts/ci_docker.sh needs root (dockerd, debootstrap)" >&2
  exit 2
fi
if ! command -v dockerd >/dev/null 2>&1 || ! command -v debootstrap >/dev/null 2>&1; then
  log "installing docker.io and debootstrap (apt)"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io debootstrap) >/dev/null
fi

TMP="$(mktemp -d /tmp/mathagent-docker.XXXXXX)"
PIDFILE="$TMP/dockerd.pid"
export DOCKER_HOST="unix://$TMP/docker.sock"
cleanup() {
  rc=$?
  if [ -f "$PIDFILE" ]; then
    pid="$(cat "$PIDFILE")"
    log "stopping dockerd (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  grep " $TMP/" /proc/mounts | awk '{print $2}' | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
  rm -rf "$TMP" 2>/dev/null || true
  log "done in $(( $(date +%s) - t0 )) s (exit $rc)"
  exit "$rc"
}
trap cleanup EXIT INT TERM

log "starting dockerd in $TMP"
dockerd --data-root "$TMP/data" --exec-root "$TMP/exec" --pidfile "$PIDFILE" --host "$DOCKER_HOST" \
  --iptables=false --ip-masq=false --bridge=none >"$TMP/dockerd.log" 2>&1 &
for i in $(seq 1 120); do
  docker version >/dev/null 2>&1 && break
  if [ "$i" = 120 ]; then tail -20 "$TMP/dockerd.log" >&2; echo "dockerd did not start" >&2; exit 1; fi
  sleep 0.5
done

# The base: Debian minbase with python3 (debootstrap), plus ipykernel, sympy, numpy and matplotlib
# installed by the host's pip into /usr/local (same Python minor version; Debian's own python3-ipykernel
# pulls gdb and boost and does not configure under debootstrap). Cached as a tarball.
key="$(printf '%s %s %s %s' "$SUITE" "$PKGS" "$PIP_PKGS" "$MIRROR" | sha256sum | cut -c1-12)"
tarball="$CACHE/debootstrap-$SUITE-$key.tar.gz"
if [ ! -f "$tarball" ]; then
  log "debootstrap $SUITE with $PKGS, pip $PIP_PKGS (cached afterwards in $tarball)"
  mkdir -p "$CACHE"
  debootstrap --variant=minbase --include="$PKGS" "$SUITE" "$TMP/rootfs" "$MIRROR" >"$TMP/debootstrap.log" 2>&1 \
    || { tail -30 "$TMP/debootstrap.log" >&2; exit 1; }
  pyver="$(chroot "$TMP/rootfs" python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
  hostver="$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
  [ "$pyver" = "$hostver" ] || { echo "base python $pyver != host python $hostver" >&2; exit 1; }
  # shellcheck disable=SC2086
  "$PY" -m pip install -q --disable-pip-version-check --no-warn-conflicts --no-compile --only-binary=:all: \
    --target "$TMP/rootfs/usr/local/lib/python$pyver/dist-packages" $PIP_PKGS >"$TMP/pip.log" 2>&1 \
    || { tail -30 "$TMP/pip.log" >&2; exit 1; }
  chroot "$TMP/rootfs" python3 -m compileall -q /usr/local/lib >/dev/null 2>&1 || true
  rm -rf "$TMP/rootfs/var/lib/apt/lists/"* "$TMP/rootfs/var/cache/apt/"*.bin "$TMP/rootfs/var/cache/apt/archives/"*.deb
  tar -C "$TMP/rootfs" -czf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball"
  rm -rf "$TMP/rootfs"
else
  log "using cached base $tarball"
fi
log "docker import -> mathagent-base:$key"
docker import "$tarball" "mathagent-base:$key" >/dev/null
log "docker build $IMAGE"
docker build -q --network host -t "$IMAGE" --build-arg "BASE_IMAGE=mathagent-base:$key" sandbox/ >"$TMP/build.log" 2>&1 \
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
