"""Last-resort cleanup: close live kernels at interpreter exit and sweep leftovers of dead hosts.

This module holds the only module-global mutable state of the sandbox: a WeakSet of live kernels,
closed by an atexit hook. Processes never depend on it (the parent-death lock of
:mod:`sandbox.launcher` kills them even on SIGKILL of the host); it only removes the session folders
and cgroups, which a SIGKILLed host cannot remove itself: :func:`sweep_stale` removes those of dead
hosts the next time a kernel starts.
"""

from __future__ import annotations

import atexit
import logging
import os
import shutil
import weakref
from pathlib import Path
from typing import Protocol

from .cgroups import CGROUP_FS, cgroup_root_for

__all__ = ["register", "sweep_stale", "SESSION_PREFIX"]

logger = logging.getLogger(__name__)

SESSION_PREFIX = "mathagent-sbx-"


class _Closable(Protocol):
    def close(self) -> None: ...


_LIVE: weakref.WeakSet = weakref.WeakSet()


def register(obj: _Closable) -> None:
    """Close `obj` at interpreter exit if it is still alive then."""
    _LIVE.add(obj)


@atexit.register
def _close_all() -> None:
    for obj in list(_LIVE):
        try:
            obj.close()
        except Exception as exc:  # noqa: BLE001 - best effort at exit
            logger.debug("close at exit failed: %s", exc)


def _owner_alive(name: str) -> bool:
    try:
        pid = int(name[len(SESSION_PREFIX) :].split("-", 1)[0])
    except ValueError:
        return True
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep_stale(base: Path) -> None:
    """Remove session folders under `base` and cgroups whose host process is gone."""
    try:
        entries = [p for p in base.iterdir() if p.name.startswith(SESSION_PREFIX)]
    except OSError:
        return
    for path in entries:
        if not _owner_alive(path.name):
            logger.info("removing a stale sandbox folder %s", path)
            shutil.rmtree(path, ignore_errors=True)
    for controller in ("memory", "pids"):
        root = cgroup_root_for(controller)
        if root is None or not str(root).startswith(str(CGROUP_FS)):
            continue
        for group in root.glob(SESSION_PREFIX + "*"):
            if not _owner_alive(group.name):
                try:
                    group.rmdir()
                except OSError:
                    pass
