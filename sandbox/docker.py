"""`docker` isolation: each kernel in its own container (the Docker SDK is imported lazily).

The container runs the image built from ``sandbox/Dockerfile`` (``$MATHAGENT_DOCKER_IMAGE``, default
``mathagent-sandbox:latest``) with ``--network none``, a read-only root, uid 1000, ``--cap-drop ALL``,
``no-new-privileges``, memory (swap included), pids and file-size limits, tmpfs scratch at
/home/sandbox and /tmp, and the session folder bind-mounted at /run/sandbox for the ipc sockets and
the parent-death lock. Containers carry the label ``mathagent.owner=<host pid>``; those of dead hosts
are removed when the next kernel starts.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

from .errors import IsolationUnavailableError
from .launcher import KernelProcess, Launcher, supervisor_script
from .limits import Limits

__all__ = ["DockerLauncher", "DockerProcess", "DEFAULT_IMAGE"]

logger = logging.getLogger(__name__)

DEFAULT_IMAGE = "mathagent-sandbox:latest"
INNER_DIR = "/run/sandbox"
SCRATCH = "/home/sandbox"
SANDBOX_UID = 1000
LABEL = "mathagent.owner"


def _docker_module():
    try:
        import docker
    except ImportError as exc:
        raise IsolationUnavailableError(
            "isolation 'docker' needs the Docker SDK: pip install 'mathagent[docker]'"
        ) from exc
    return docker


class DockerProcess(KernelProcess):
    """A kernel container; liveness is polled through the Docker API every `poll_interval` seconds."""

    poll_interval = 0.25

    def __init__(self, container) -> None:
        self.container = container
        self._killed = False
        self._status_at = 0.0
        self._alive = True

    def alive(self) -> bool:
        if self._killed:
            return False
        now = time.monotonic()
        if now - self._status_at >= self.poll_interval * 0.9:
            self._status_at = now
            try:
                self.container.reload()
                self._alive = self.container.status in ("created", "running")
            except Exception:  # noqa: BLE001 - a vanished container is a dead kernel
                self._alive = False
        return self._alive

    def oom_kills(self) -> int:
        try:
            self.container.reload()
            return int(bool(self.container.attrs.get("State", {}).get("OOMKilled")))
        except Exception:  # noqa: BLE001
            return 0

    def kill(self) -> None:
        if self._killed:
            return
        self._killed = True
        try:
            self.container.remove(force=True)
        except Exception as exc:  # noqa: BLE001 - already gone
            logger.debug("container remove: %s", exc)


class DockerLauncher(Launcher):
    """Starts kernels in containers of `image` through the local Docker engine."""

    name = "docker"

    def __init__(self, image: str | None = None) -> None:
        self.image = image or os.environ.get("MATHAGENT_DOCKER_IMAGE", DEFAULT_IMAGE)
        self._client = None

    @property
    def client(self):
        """The Docker SDK client (created on first use)."""
        if self._client is None:
            self._client = _docker_module().from_env(timeout=60)
        return self._client

    def check(self) -> None:
        docker = _docker_module()
        try:
            self.client.ping()
        except Exception as exc:
            raise IsolationUnavailableError(
                f"isolation 'docker' needs a running Docker engine ({exc}); start dockerd or use isolation='jail'"
            ) from exc
        try:
            self.client.images.get(self.image)
        except docker.errors.ImageNotFound as exc:
            raise IsolationUnavailableError(
                f"Docker image {self.image!r} not found; build it: docker build -t {self.image} "
                "--build-arg BASE_IMAGE=python:3.11-slim sandbox/"
            ) from exc
        self.sweep()

    def sweep(self) -> None:
        """Remove containers left by host processes that no longer exist."""
        for container in self.client.containers.list(all=True, filters={"label": LABEL}):
            try:
                owner = int(container.labels.get(LABEL, "0"))
                os.kill(owner, 0)
            except ProcessLookupError:
                container.remove(force=True)
            except (ValueError, PermissionError):
                continue

    def inner_dir(self, session_dir: Path) -> str:
        return INNER_DIR

    def sandbox_uid(self) -> int | None:
        return SANDBOX_UID

    def python(self) -> str:
        return "/opt/venv/bin/python"

    def launch(self, session_dir: Path, kernel_argv: list[str], env: dict[str, str], limits: Limits) -> KernelProcess:
        docker = _docker_module()
        env = {**env, "HOME": SCRATCH, "MATHAGENT_DIR": INNER_DIR, "TMPDIR": "/tmp"}
        env["PATH"] = "/opt/venv/bin:/usr/local/bin:/usr/bin:/bin"
        memory = f"{limits.memory_mb}m"
        # Docker keeps the image folder's mode on a tmpfs; uid/gid make the scratch the user's own.
        scratch = f"size={limits.scratch_mb}m,uid={SANDBOX_UID},gid={SANDBOX_UID},mode=0700"
        container = self.client.containers.run(
            self.image,
            command=["sh", "-c", supervisor_script("-1"), "sh", *kernel_argv],
            detach=True,
            network_mode="none",
            read_only=True,
            user=f"{SANDBOX_UID}:{SANDBOX_UID}",
            cap_drop=["ALL"],
            security_opt=["no-new-privileges"],
            mem_limit=memory,
            memswap_limit=memory,
            pids_limit=limits.max_pids,
            ulimits=[
                docker.types.Ulimit(name="core", soft=0, hard=0),
                docker.types.Ulimit(name="fsize", soft=limits.max_file_mb << 20, hard=limits.max_file_mb << 20),
                docker.types.Ulimit(name="nofile", soft=limits.max_open_files, hard=limits.max_open_files),
            ],
            tmpfs={SCRATCH: scratch, "/tmp": f"size={limits.scratch_mb}m,mode=1777", "/dev/shm": scratch},
            volumes={str(session_dir): {"bind": INNER_DIR, "mode": "rw"}},
            working_dir=SCRATCH,
            environment=env,
            hostname="sandbox",
            labels={LABEL: str(os.getpid())},
        )
        return DockerProcess(container)
