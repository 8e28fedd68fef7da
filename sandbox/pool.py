"""A pool of warm kernels: sessions start in milliseconds and never inherit another problem's state."""

from __future__ import annotations

import asyncio
import collections
import logging
import threading
import time

from .errors import KernelStartError, PoolTimeoutError, SandboxClosedError
from .kernel import DEFAULT_PRELOAD, Kernel
from .launcher import Launcher
from .limits import Limits
from .reaper import register
from .session import Isolation, Sandbox, default_isolation, make_launcher

__all__ = ["SandboxPool"]

logger = logging.getLogger(__name__)


class SandboxPool:
    """Keeps `size` kernels started and warm (`preload` modules imported) for new sessions.

    A session taken from the pool owns its kernel; when the session ends (or its kernel dies) the
    kernel is killed, never reused, and a background thread starts a replacement. The thread only
    waits with deadlines and stops at :meth:`close`, which also kills every kernel of the pool.

    Example:
        >>> with SandboxPool(size=2) as pool:  # doctest: +SKIP
        ...     with pool.acquire() as sb:
        ...         sb.run("1 + 1").value
        '2'
    """

    def __init__(
        self,
        size: int = 2,
        isolation: Isolation | None = None,
        limits: Limits | None = None,
        preload: tuple[str, ...] = DEFAULT_PRELOAD,
        *,
        max_starting: int = 2,
        docker_image: str | None = None,
    ) -> None:
        if size < 1:
            raise ValueError("size must be at least 1")
        self.size = size
        self.isolation: Isolation = isolation or default_isolation()
        self.limits = limits or Limits()
        self.preload = tuple(preload)
        self.max_starting = max(1, max_starting)
        self._docker_image = docker_image
        self._launcher: Launcher | None = None
        self._ready: collections.deque[Kernel] = collections.deque()
        self._to_close: list[Kernel] = []
        self._in_use: set[Kernel] = set()
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._closed = False
        self._failures = 0
        self._last_error: BaseException | None = None

    # ----------------------------------------------------------------------------- lifecycle

    def start(self) -> SandboxPool:
        """Check the isolation mode and start warming kernels in the background."""
        if self._closed:
            raise SandboxClosedError("this SandboxPool was closed; create a new one")
        if self._thread is None:
            with self._cond:
                if self._thread is None:
                    self._launcher = make_launcher(self.isolation, docker_image=self._docker_image)
                    register(self)
                    self._thread = threading.Thread(target=self._refill_loop, name="sandbox-pool", daemon=True)
                    self._thread.start()
        return self

    def close(self) -> None:
        """Stop the refill thread and kill every kernel of the pool. Idempotent."""
        if self._closed:
            return
        self._closed = True
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=self.limits.startup_timeout_s + 5)
        with self._cond:
            kernels = list(self._ready) + self._to_close + list(self._in_use)
            self._ready.clear()
            self._to_close = []
            self._in_use.clear()
        for kernel in kernels:
            kernel.close()

    def __enter__(self) -> SandboxPool:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.close()

    async def __aenter__(self) -> SandboxPool:
        return self.start()

    async def __aexit__(self, *exc_info) -> None:
        await asyncio.to_thread(self.close)

    @property
    def ready_count(self) -> int:
        """Warm kernels waiting for a session."""
        return len(self._ready)

    @property
    def failures(self) -> int:
        """Kernel start-ups that failed in a row (0 after a success)."""
        return self._failures

    @property
    def last_error(self) -> BaseException | None:
        """The last kernel start-up error, if any."""
        return self._last_error

    def wait_warm(self, count: int | None = None, timeout: float | None = None) -> bool:
        """Block until `count` (default: size) kernels are warm; False on timeout."""
        count = self.size if count is None else count
        deadline = time.monotonic() + (timeout or self.limits.startup_timeout_s)
        self.start()
        with self._cond:
            while len(self._ready) < count:
                left = deadline - time.monotonic()
                if left <= 0 or self._closed:
                    return False
                self._cond.wait(left)
        return True

    # ----------------------------------------------------------------------------- sessions

    def acquire(self, timeout: float | None = None) -> Sandbox:
        """A new session on a warm kernel (waits for one up to `timeout`, default startup timeout)."""
        return Sandbox(pool=self, preload=self.preload, kernel=self.take_kernel(timeout))

    async def aacquire(self, timeout: float | None = None) -> Sandbox:
        """Async twin of :meth:`acquire`."""
        return Sandbox(pool=self, preload=self.preload, kernel=await self.atake_kernel(timeout))

    def _pop_ready(self) -> Kernel | None:
        while self._ready:
            kernel = self._ready.popleft()
            if kernel.alive():
                self._in_use.add(kernel)
                self._cond.notify_all()
                return kernel
            self._to_close.append(kernel)
        return None

    def take_kernel(self, timeout: float | None = None) -> Kernel:
        """A ready kernel for a session (waits for a warm one up to `timeout`, default startup timeout)."""
        self.start()
        deadline = time.monotonic() + (timeout or self.limits.startup_timeout_s)
        with self._cond:
            while True:
                kernel = self._pop_ready()
                if kernel is not None:
                    return kernel
                if self._closed:
                    raise SandboxClosedError("this SandboxPool was closed; create a new one")
                left = deadline - time.monotonic()
                if left <= 0:
                    detail = f" (last start-up error: {self._last_error})" if self._last_error else ""
                    raise PoolTimeoutError(f"no warm sandbox kernel within the acquire timeout{detail}")
                self._cond.wait(min(left, 0.5))

    async def atake_kernel(self, timeout: float | None = None) -> Kernel:
        """Async twin of :meth:`take_kernel`."""
        self.start()
        with self._cond:
            kernel = self._pop_ready()
        if kernel is not None:
            return kernel
        return await asyncio.to_thread(self.take_kernel, timeout)

    def discard(self, kernel: Kernel) -> None:
        """A session is done with `kernel`: it is closed in the background and replaced.

        Kernels handed to sessions are tracked too, so close() kills the kernels of open sessions.
        """
        with self._cond:
            self._in_use.discard(kernel)
            if not self._closed:
                self._to_close.append(kernel)
                self._cond.notify_all()
                return
        kernel.close()

    # ----------------------------------------------------------------------------- background

    def _refill_loop(self) -> None:
        starting: list[Kernel] = []
        while not self._stop.is_set():
            with self._cond:
                to_close, self._to_close = self._to_close, []
                missing = self.size - len(self._ready) - len(starting)
            for kernel in to_close:
                kernel.close()
            while missing > 0 and len(starting) < self.max_starting and not self._stop.is_set():
                assert self._launcher is not None  # made by start() before the refill thread runs
                try:
                    starting.append(Kernel.start(self._launcher, self.limits, self.preload))
                except Exception as exc:  # noqa: BLE001 - reported to acquirers, retried with backoff
                    self._record_failure(exc)
                    break
                missing -= 1
            if starting:
                kernel = starting.pop(0)
                try:
                    kernel.wait_ready(stop=self._stop)
                except KernelStartError as exc:
                    kernel.close()
                    if not self._stop.is_set():
                        self._record_failure(exc)
                    continue
                with self._cond:
                    self._ready.append(kernel)
                    self._failures = 0
                    self._cond.notify_all()
                continue
            with self._cond:
                if not self._to_close and len(self._ready) >= self.size and not self._stop.is_set():
                    self._cond.wait(1.0)
        for kernel in starting:
            kernel.close()

    def _record_failure(self, exc: BaseException) -> None:
        self._failures += 1
        self._last_error = exc
        logger.warning("a sandbox kernel failed to start (%d in a row): %s", self._failures, exc)
        self._stop.wait(min(0.1 * 2**self._failures, 10.0))
