"""cgroup v1 memory and pids groups for one session, created under the host process's own groups."""

from __future__ import annotations

import logging
import os
import signal
import time
from pathlib import Path

__all__ = ["CgroupPair", "cgroup_root_for"]

logger = logging.getLogger(__name__)

CGROUP_FS = Path("/sys/fs/cgroup")


def cgroup_root_for(controller: str) -> Path | None:
    """The writable cgroup v1 folder of this process for `controller`, or None.

    Example:
        >>> cgroup_root_for("no-such-controller") is None
        True
    """
    base = CGROUP_FS / controller
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if controller in controllers.split(","):
            folder = base / path.lstrip("/")
            if (folder / "cgroup.procs").exists() and os.access(folder, os.W_OK):
                return folder
    return None


class CgroupPair:
    """A memory and a pids cgroup (v1) for one session; `available` is False when either is missing."""

    def __init__(self, name: str, memory_bytes: int, max_pids: int) -> None:
        self.memory: Path | None = None
        self.pids: Path | None = None
        mem_root, pids_root = cgroup_root_for("memory"), cgroup_root_for("pids")
        if mem_root is None or pids_root is None:
            return
        memory, pids = mem_root / name, pids_root / name
        try:
            memory.mkdir()
            self.memory = memory
            (memory / "memory.limit_in_bytes").write_text(str(memory_bytes))
            swap = memory / "memory.memsw.limit_in_bytes"
            if swap.exists():
                swap.write_text(str(memory_bytes))
            pids.mkdir()
            self.pids = pids
            (pids / "pids.max").write_text(str(max_pids))
        except OSError as exc:
            logger.debug("cgroup setup failed for %s: %s", name, exc)
            self.remove()
            self.memory = self.pids = None

    @property
    def available(self) -> bool:
        """Both groups exist and carry their limits."""
        return self.memory is not None and self.pids is not None

    @property
    def procs_files(self) -> list[str]:
        """The cgroup.procs files a launcher writes its own pid into before exec."""
        return [str(g / "cgroup.procs") for g in (self.memory, self.pids) if g is not None]

    def oom_kills(self) -> int:
        """How many processes the OOM killer killed in this group so far (0 when unknown)."""
        if self.memory is None:
            return 0
        try:
            for line in (self.memory / "memory.oom_control").read_text().splitlines():
                key, _, value = line.partition(" ")
                if key == "oom_kill":
                    return int(value)
            return int((self.memory / "memory.failcnt").read_text())
        except (OSError, ValueError):
            return 0

    def pids_in(self) -> list[int]:
        """Pids still in the group."""
        for group in (self.pids, self.memory):
            if group is not None:
                try:
                    return [int(p) for p in (group / "cgroup.procs").read_text().split()]
                except OSError:
                    continue
        return []

    def kill_all(self) -> None:
        """SIGKILL every process in the group."""
        for pid in self.pids_in():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def remove(self, timeout: float = 2.0) -> bool:
        """Kill what is left and remove both folders; False when a folder could not be removed."""
        deadline = time.monotonic() + timeout
        ok = True
        for group in (self.pids, self.memory):
            if group is None:
                continue
            while True:
                try:
                    group.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        logger.warning("could not remove cgroup %s", group)
                        ok = False
                        break
                    self.kill_all()
                    time.sleep(0.005)
        return ok
