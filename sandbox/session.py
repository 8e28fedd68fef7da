"""The public session API: a :class:`Sandbox` is one problem's stateful, isolated Python kernel.

What isolation `jail` guarantees (docs/sandbox.md has the full list): no network (own network
namespace, loopback only), no host files but read-only system folders and the interpreter, writes
only to a private tmpfs scratch, no environment of the parent, uid 65534 with no capabilities,
memory/process/file/output limits, and every process killed when the session ends or its host
process dies. It does not protect against kernel exploits or CPU side channels.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from typing import Literal, Protocol

from .errors import SandboxClosedError
from .kernel import DEFAULT_PRELOAD, Kernel
from .launcher import Launcher, LocalLauncher
from .limits import Limits
from .results import ExecResult

__all__ = ["Sandbox", "Isolation", "KernelSource", "default_isolation", "make_launcher"]

logger = logging.getLogger(__name__)

Isolation = Literal["jail", "docker", "none"]


class KernelSource(Protocol):
    """Where a session gets its kernels from and gives broken ones back (a :class:`~sandbox.pool.SandboxPool`)."""

    isolation: Isolation
    limits: Limits

    def take_kernel(self, timeout: float | None = None) -> Kernel:
        """A ready kernel (a warm one if there is one)."""
        ...

    async def atake_kernel(self, timeout: float | None = None) -> Kernel:
        """Async twin of :meth:`take_kernel`."""
        ...

    def discard(self, kernel: Kernel) -> None:
        """Give back a kernel that must not be reused (it is closed, and the pool starts another)."""
        ...


def default_isolation() -> Isolation:
    """`$MATHAGENT_SANDBOX` when set, else `jail` on Linux and `docker` elsewhere.

    Example:
        >>> default_isolation() in ("jail", "docker", "none")
        True
    """
    value = os.environ.get("MATHAGENT_SANDBOX", "")
    if value in ("jail", "docker", "none"):
        return value  # type: ignore[return-value]
    return "jail" if sys.platform == "linux" else "docker"


def make_launcher(isolation: Isolation, *, docker_image: str | None = None) -> Launcher:
    """The launcher of an isolation mode, checked (raises IsolationUnavailableError, warns for `none`)."""
    if isolation == "jail":
        from .jail import JailLauncher

        launcher: Launcher = JailLauncher()
    elif isolation == "docker":
        from .docker import DockerLauncher

        launcher = DockerLauncher(image=docker_image)
    elif isolation == "none":
        launcher = LocalLauncher()
    else:
        raise ValueError(f"unknown isolation {isolation!r}: use 'jail', 'docker' or 'none'")
    launcher.check()
    return launcher


class Sandbox:
    """One problem's Python session: a kernel whose variables persist across :meth:`run` calls.

    The kernel starts on ``__enter__`` (or the first :meth:`run`); ``close()`` kills it and removes
    every trace. When a cell kills the kernel (timeout that an interrupt cannot stop, crash, memory),
    the result says ``restarted=True`` and the next cell runs in a fresh kernel. A Sandbox serves one
    caller at a time; run many Sandboxes for many problems.

    Example:
        >>> with Sandbox(isolation="jail") as sb:  # doctest: +SKIP
        ...     sb.run("x = 6 * 7")
        ...     sb.run("x").value
        '42'
    """

    def __init__(
        self,
        isolation: Isolation | None = None,
        limits: Limits | None = None,
        preload: tuple[str, ...] = DEFAULT_PRELOAD,
        *,
        docker_image: str | None = None,
        pool: KernelSource | None = None,
        kernel: Kernel | None = None,
    ) -> None:
        self.isolation: Isolation = pool.isolation if pool is not None else (isolation or default_isolation())
        self.limits = pool.limits if pool is not None else (limits or Limits())
        self.preload = tuple(preload)
        self._docker_image = docker_image
        self._pool = pool
        self._launcher: Launcher | None = None
        self._kernel = kernel
        self._closed = False

    # ----------------------------------------------------------------------------- lifecycle

    def _new_kernel(self) -> Kernel:
        if self._pool is not None:
            return self._pool.take_kernel()
        if self._launcher is None:
            self._launcher = make_launcher(self.isolation, docker_image=self._docker_image)
        kernel = Kernel.start(self._launcher, self.limits, self.preload)
        kernel.wait_ready()
        return kernel

    def _discard(self, kernel: Kernel) -> None:
        if self._pool is not None:
            self._pool.discard(kernel)
        else:
            kernel.close()

    def _kernel_for_run(self) -> Kernel:
        if self._closed:
            raise SandboxClosedError("this Sandbox was closed; open a new one")
        if self._kernel is not None and not self._kernel.alive():
            self._discard(self._kernel)
            self._kernel = None
        if self._kernel is None:
            self._kernel = self._new_kernel()
        return self._kernel

    def start(self) -> Sandbox:
        """Start (or take from the pool) the kernel now rather than at the first run."""
        self._kernel_for_run()
        return self

    def restart(self) -> None:
        """Throw the kernel away (all state is lost); the next run uses a fresh one."""
        if self._kernel is not None:
            self._discard(self._kernel)
            self._kernel = None

    def close(self) -> None:
        """Kill the kernel and every process it started; remove its sockets and folders. Idempotent."""
        if self._closed:
            return
        self._closed = True
        if self._kernel is not None:
            self._discard(self._kernel)
            self._kernel = None

    @property
    def closed(self) -> bool:
        """True after close()."""
        return self._closed

    def __enter__(self) -> Sandbox:
        try:
            return self.start()
        except BaseException:
            self.close()
            raise

    def __exit__(self, *exc_info) -> None:
        self.close()

    async def __aenter__(self) -> Sandbox:
        try:
            if self._kernel is None:
                self._kernel = await asyncio.to_thread(self._new_kernel)
            return self
        except BaseException:
            self.close()
            raise

    async def __aexit__(self, *exc_info) -> None:
        self.close()

    def __del__(self) -> None:
        if not getattr(self, "_closed", True) and getattr(self, "_kernel", None) is not None:
            logger.debug("a Sandbox was garbage-collected without close(); closing it")
            self.close()

    # ----------------------------------------------------------------------------- execution

    def run(self, code: str, timeout: float | None = None) -> ExecResult:
        """Run one cell in this session's kernel.

        Args:
            code: Python source (IPython syntax); the value of its last expression is returned.
            timeout: wall-time limit in seconds (default Limits.cell_timeout_s).

        Returns:
            The cell's ExecResult; errors in the code, timeouts and crashes are reported in it.
        """
        kernel = self._kernel_for_run()
        result = kernel.execute(code, timeout)
        if not kernel.alive():
            self._discard(kernel)
            self._kernel = None
        return result

    async def arun(self, code: str, timeout: float | None = None) -> ExecResult:
        """Async twin of :meth:`run`: many sessions can run at once on one event loop."""
        if self._closed:
            raise SandboxClosedError("this Sandbox was closed; open a new one")
        if self._kernel is None or not self._kernel.alive():
            if self._kernel is not None:
                self._discard(self._kernel)
                self._kernel = None
            if self._pool is not None:
                self._kernel = await self._pool.atake_kernel()
            else:
                self._kernel = await asyncio.to_thread(self._new_kernel)
        kernel = self._kernel
        result = await kernel.aexecute(code, timeout)
        if not kernel.alive():
            self._discard(kernel)
            self._kernel = None
        return result
