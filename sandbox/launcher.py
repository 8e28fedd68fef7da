"""How a kernel process is started and stopped: one Launcher per isolation mode.

A launcher gets a session folder (which it shares with the kernel, for the ipc sockets, the
connection file and the parent-death lock) and a kernel command, and returns a KernelProcess.

Every launcher wraps the kernel in the same tiny POSIX-shell supervisor (:data:`SUPERVISOR`): it
starts the kernel, then waits for a shared flock on ``<session>/lock``. The host holds that lock
exclusively for as long as it lives, so when the host dies, even by SIGKILL, the supervisor gets the
lock and kills every process of the session. The supervisor exits when the kernel exits, so a dead
kernel is seen as a dead process on the host.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import warnings
from abc import ABC, abstractmethod
from pathlib import Path

from .limits import Limits

__all__ = ["Launcher", "KernelProcess", "PopenProcess", "LocalLauncher", "supervisor_script", "AS_SLACK_MB"]

logger = logging.getLogger(__name__)

# RLIMIT_AS counts address space, not memory: threads, arenas and mapped libraries reserve far more
# than they use, so the fallback limit is the memory limit plus this much.
AS_SLACK_MB = 1024


def supervisor_script(kill_target: str) -> str:
    """The shell supervisor; `kill_target` is `-1` (a private pid namespace) or `0` (own process group).

    Example:
        >>> "flock -s" in supervisor_script("-1")
        True
    """
    return (
        'trap "" INT; d="$MATHAGENT_DIR"; "$@" & k=$!; '
        f"flock -s \"$d/lock\" sh -c 'kill -KILL {kill_target}' & f=$!; "
        'wait "$k"; rc=$?; kill -KILL "$f" 2>/dev/null; exit "$rc"'
    )


class KernelProcess(ABC):
    """A started kernel, seen from the host."""

    @abstractmethod
    def alive(self) -> bool:
        """True while the kernel runs."""

    @abstractmethod
    def kill(self) -> None:
        """Kill the kernel and every process it started, and wait for them; idempotent."""

    def oom_kills(self) -> int:
        """How many processes of the session the OOM killer killed so far (0 when unknown)."""
        return 0


class Launcher(ABC):
    """Starts kernels for one isolation mode."""

    name: str = ""

    @abstractmethod
    def check(self) -> None:
        """Raise IsolationUnavailableError when this mode cannot work on this machine."""

    @abstractmethod
    def inner_dir(self, session_dir: Path) -> str:
        """Where the kernel sees the session folder."""

    @abstractmethod
    def sandbox_uid(self) -> int | None:
        """The uid the kernel runs as, to own the session folder (None: leave it as is)."""

    @abstractmethod
    def launch(self, session_dir: Path, kernel_argv: list[str], env: dict[str, str], limits: Limits) -> KernelProcess:
        """Start `kernel_argv` (paths as seen inside) with environment `env` and return at once."""

    def python(self) -> str:
        """The interpreter the kernel runs with, as seen inside."""
        import sys

        return sys.executable


class PopenProcess(KernelProcess):
    """A kernel under a host subprocess; `group` kills by process group, else by pid-namespace init."""

    def __init__(self, proc: subprocess.Popen, *, group: bool, cgroups=None) -> None:
        self.proc = proc
        self.group = group
        self.cgroups = cgroups
        self._killed = False

    def alive(self) -> bool:
        return self.proc.poll() is None

    def oom_kills(self) -> int:
        return self.cgroups.oom_kills() if self.cgroups is not None else 0

    def _children(self) -> list[int]:
        pid = self.proc.pid
        try:
            return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
        except (OSError, ValueError):
            return []

    def kill(self) -> None:
        if self._killed:
            return
        self._killed = True
        if self.group:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        else:
            # The child of bwrap is the init of the pid namespace: killing it kills the namespace,
            # and bwrap, which reaps it, then exits by itself (killing bwrap first would leave the
            # init a zombie of the host's pid 1).
            for child in self._children():
                try:
                    os.kill(child, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            try:
                self.proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                pass
        if self.proc.poll() is None:
            try:
                self.proc.kill()
            except ProcessLookupError:
                pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            logger.warning("kernel process %d did not exit after SIGKILL", self.proc.pid)
        if self.cgroups is not None:
            self.cgroups.remove()


class LocalLauncher(Launcher):
    """`none`: the kernel runs as this user on this host, in a temp folder. For development only."""

    name = "none"

    def check(self) -> None:
        warnings.warn(
            "sandbox isolation 'none' runs untrusted code as this user with full access to the host; "
            "use it for development only",
            stacklevel=4,
        )

    def inner_dir(self, session_dir: Path) -> str:
        return str(session_dir)

    def sandbox_uid(self) -> int | None:
        return None

    def launch(self, session_dir: Path, kernel_argv: list[str], env: dict[str, str], limits: Limits) -> KernelProcess:
        scratch = session_dir / "scratch"
        scratch.mkdir(exist_ok=True)
        env = {**env, "HOME": str(scratch), "MATHAGENT_DIR": str(session_dir), "TMPDIR": str(scratch)}
        cmd = [
            "prlimit", "--core=0", f"--fsize={limits.max_file_mb << 20}", f"--nofile={limits.max_open_files}",
            f"--as={(limits.memory_mb + AS_SLACK_MB) << 20}", "--",
            "sh", "-c", supervisor_script("0"), "sh", *kernel_argv,
        ]  # fmt: skip
        with open(session_dir / "kernel.log", "wb") as log:
            proc = subprocess.Popen(
                cmd, cwd=scratch, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
            )  # fmt: skip
        return PopenProcess(proc, group=True)
