# Shared by scripts/ci_docker.sh and scripts/compose_cpu.sh (source it; needs root):
#
#   docker_lib_init             a temp folder $TMP, DOCKER_HOST on a private socket in it, an EXIT trap
#                               that stops dockerd (by its pid) and removes the folder
#   start_dockerd [ARGS...]     a private dockerd (data root, exec root, pidfile, socket under $TMP);
#                               extra ARGS go to dockerd
#   debian_base SUITE PKGS PIP  prints the tag of a Debian image made with debootstrap (PKGS, comma-separated
#                               Debian packages) plus PIP packages installed by the host's pip into
#                               /usr/local; the rootfs tarball is cached in $CACHE, then `docker import`ed
#
# No registry is needed: the base comes from a Debian mirror ($MATHAGENT_DEBIAN_MIRROR).
CACHE="${MATHAGENT_CACHE_DIR:-/var/cache/mathagent}"
MIRROR="${MATHAGENT_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
log() { printf '\033[1;34m[%s]\033[0m %s\n' "${LOG_TAG:-docker}" "$*" >&2; }

docker_lib_init() {
  t0=$(date +%s)
  if [ "$(id -u)" != 0 ]; then
    echo "$0 needs root (dockerd, debootstrap)" >&2
    exit 2
  fi
  if ! command -v dockerd >/dev/null 2>&1 || ! command -v debootstrap >/dev/null 2>&1; then
    log "installing docker.io and debootstrap (apt)"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io debootstrap) >/dev/null
  fi
  TMP="$(mktemp -d /tmp/mathagent-docker.XXXXXX)"
  PIDFILE="$TMP/dockerd.pid"
  export DOCKER_HOST="unix://$TMP/docker.sock"
  trap _docker_lib_cleanup EXIT INT TERM
}

_docker_lib_cleanup() {
  rc=$?
  if declare -F before_dockerd_stops >/dev/null; then before_dockerd_stops || true; fi
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

start_dockerd() {
  log "starting dockerd in $TMP"
  dockerd --data-root "$TMP/data" --exec-root "$TMP/exec" --pidfile "$PIDFILE" --host "$DOCKER_HOST" \
    "$@" >"$TMP/dockerd.log" 2>&1 &
  for i in $(seq 1 120); do
    docker version >/dev/null 2>&1 && return 0
    if [ "$i" = 120 ]; then tail -20 "$TMP/dockerd.log" >&2; echo "dockerd did not start" >&2; exit 1; fi
    sleep 0.5
  done
}

# The base: Debian minbase with PKGS (debootstrap), plus PIP packages installed by the host's pip into
# /usr/local (same Python minor version; e.g. Debian's own python3-ipykernel pulls gdb and boost and does
# not configure under debootstrap). Cached as a tarball keyed by its inputs.
debian_base() {
  local suite="$1" pkgs="$2" pip_pkgs="$3" key tarball pyver hostver
  key="$(printf '%s %s %s %s' "$suite" "$pkgs" "$pip_pkgs" "$MIRROR" | sha256sum | cut -c1-12)"
  tarball="$CACHE/debootstrap-$suite-$key.tar.gz"
  if [ ! -f "$tarball" ]; then
    log "debootstrap $suite with $pkgs${pip_pkgs:+, pip $pip_pkgs} (cached afterwards in $tarball)"
    mkdir -p "$CACHE"
    debootstrap --variant=minbase --include="$pkgs" "$suite" "$TMP/rootfs-$key" "$MIRROR" >"$TMP/debootstrap.log" 2>&1 \
      || { tail -30 "$TMP/debootstrap.log" >&2; exit 1; }
    if [ -n "$pip_pkgs" ]; then
      pyver="$(chroot "$TMP/rootfs-$key" python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
      hostver="$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
      [ "$pyver" = "$hostver" ] || { echo "base python $pyver != host python $hostver" >&2; exit 1; }
      # shellcheck disable=SC2086
      "$PY" -m pip install -q --disable-pip-version-check --no-warn-conflicts --no-compile --only-binary=:all: \
        --target "$TMP/rootfs-$key/usr/local/lib/python$pyver/dist-packages" $pip_pkgs >"$TMP/pip.log" 2>&1 \
        || { tail -30 "$TMP/pip.log" >&2; exit 1; }
      chroot "$TMP/rootfs-$key" python3 -m compileall -q /usr/local/lib >/dev/null 2>&1 || true
    fi
    rm -rf "$TMP/rootfs-$key/var/lib/apt/lists/"* "$TMP/rootfs-$key/var/cache/apt/"*.bin \
      "$TMP/rootfs-$key/var/cache/apt/archives/"*.deb
    tar -C "$TMP/rootfs-$key" -czf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball"
    rm -rf "$TMP/rootfs-$key"
  else
    log "using cached base $tarball"
  fi
  log "docker import -> mathagent-base:$key"
  docker import "$tarball" "mathagent-base:$key" >/dev/null
  echo "mathagent-base:$key"
}
