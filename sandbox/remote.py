"""A client of the sandbox service with the local sandbox's API: :class:`RemoteSandbox` behaves like
:class:`~sandbox.session.Sandbox`, :class:`RemoteSandboxPool` like :class:`~sandbox.pool.SandboxPool`.

``Agent(sandbox="http://host:8080")`` and ``--sandbox http://host:8080`` use it. The token comes from
``$MATHAGENT_SANDBOX_TOKEN`` unless given.

Behaviour, as with local sandboxes: a cell never raises; its errors, timeouts and crashes come back in
the :class:`~sandbox.results.ExecResult`. A session the service closed behind our back (idle expiry, a
restart of the service) is reported like a crashed kernel (``restarted=True``, all variables lost)
and the next cell runs in a new session. Errors are raised only when the sandbox cannot work:
:class:`~sandbox.errors.SandboxAuthError` (token refused), :class:`~sandbox.errors.SandboxServiceError`
(service unreachable after retries, unexpected answer), :class:`~sandbox.errors.PoolTimeoutError` (no
session within the acquire timeout), :class:`~sandbox.errors.SandboxClosedError` (use after close).

While a session is open, a background thread sends keep-alives every third of the service's idle
timeout: a live client's idle sessions stay open, a dead client's are reclaimed by the service.
The async methods run the blocking HTTP calls in a thread pool of this client (they work from any
event loop, including a new one per ``asyncio.run``).

Example:
    >>> is_service_url("http://127.0.0.1:8080"), is_service_url("jail")
    (True, False)
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from .errors import PoolTimeoutError, SandboxAuthError, SandboxClosedError, SandboxServiceError
from .limits import Limits
from .reaper import register
from .results import ExecResult
from .service_schemas import API_PREFIX, SessionInfo

__all__ = ["RemoteSandbox", "RemoteSandboxPool", "is_service_url", "TOKEN_ENV"]

logger = logging.getLogger(__name__)

TOKEN_ENV = "MATHAGENT_SANDBOX_TOKEN"
_CONNECT_RETRIES = 4
_HTTP_SLACK_S = 30.0  # on top of a cell's timeout: the service's interrupt grace, kill and queueing


def is_service_url(value: str | None) -> bool:
    """True when `value` names a sandbox service (``http://`` or ``https://``) rather than an isolation mode."""
    return isinstance(value, str) and value.startswith(("http://", "https://"))


def _detail(response: httpx.Response) -> str:
    try:
        return str(response.json().get("detail", ""))[:300]
    except (ValueError, AttributeError):
        return response.text[:300]


class _Connection:
    """HTTP to one service: a thread-safe client, a thread pool for the async API, keep-alives of open sessions."""

    def __init__(self, url: str, token: str | None, *, timeout: float = 30.0, max_concurrency: int = 64) -> None:
        if not is_service_url(url):
            raise ValueError(f"not a sandbox service URL: {url!r} (expected http://host:port)")
        self.url = url.rstrip("/")
        token = token if token is not None else os.environ.get(TOKEN_ENV, "")
        if not token:
            raise SandboxAuthError(f"no token for the sandbox service at {self.url}: set ${TOKEN_ENV}")
        self.max_concurrency = max_concurrency
        self._http = httpx.Client(
            base_url=self.url,
            headers={"Authorization": f"Bearer {token}"},
            timeout=httpx.Timeout(timeout),
            limits=httpx.Limits(max_connections=max_concurrency + 4, max_keepalive_connections=max_concurrency),
        )
        self._executor: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        self._open: dict[str, float] = {}  # session id -> the service's idle timeout
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.closed = False

    # ----------------------------------------------------------------------------- requests

    def request(self, method: str, path: str, *, json: Any = None, timeout: float | None = None) -> httpx.Response:
        """One request; connection failures (nothing was sent) are retried with backoff.

        Raises:
            SandboxAuthError: 401.
            SandboxServiceError: the service cannot be reached, or the request timed out.
        """
        if self.closed:
            raise SandboxClosedError("this sandbox service client was closed")
        delay = 0.2
        for attempt in range(_CONNECT_RETRIES):
            try:
                response = self._http.request(method, path, json=json, timeout=timeout)
                break
            except httpx.ConnectError as exc:
                if attempt + 1 == _CONNECT_RETRIES:
                    raise SandboxServiceError(f"cannot reach the sandbox service at {self.url}: {exc}") from None
                time.sleep(delay)
                delay *= 2
            except httpx.TimeoutException:
                raise SandboxServiceError(f"the sandbox service at {self.url} did not answer in time") from None
            except httpx.TransportError as exc:
                raise SandboxServiceError(
                    f"the connection to the sandbox service at {self.url} failed: {exc}"
                ) from None
        if response.status_code == 401:
            raise SandboxAuthError(f"the sandbox service at {self.url} refused the token (set ${TOKEN_ENV})")
        if response.status_code == 413:
            raise SandboxServiceError(f"the sandbox service at {self.url} refused a request as too large")
        return response

    def executor(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(self.max_concurrency, thread_name_prefix="sandbox-remote")
            return self._executor

    async def in_thread(self, fn, *args):
        """Run blocking `fn(*args)` in this client's thread pool from any event loop."""
        return await asyncio.get_running_loop().run_in_executor(self.executor(), functools.partial(fn, *args))

    # ----------------------------------------------------------------------------- sessions

    def create(self, limits: Limits | None, timeout: float) -> SessionInfo:
        """A new session; waits (retrying 429 and 503 answers) up to `timeout` seconds."""
        deadline = time.monotonic() + timeout
        delay = 0.1
        while True:
            left = deadline - time.monotonic()
            body = {"limits": limits.model_dump() if limits is not None else None, "wait_s": max(left, 0.5)}
            response = self.request(
                "POST", f"{API_PREFIX}/sessions", json=body, timeout=max(left, 1.0) + _HTTP_SLACK_S
            )
            if response.status_code == 201:
                info = SessionInfo.model_validate(response.json())
                self.track(info.id, info.idle_timeout_s)
                return info
            if response.status_code not in (429, 503):
                raise SandboxServiceError(
                    f"the sandbox service at {self.url} refused a session: {response.status_code} {_detail(response)}"
                )
            if time.monotonic() + delay > deadline:
                raise PoolTimeoutError(
                    f"no session from the sandbox service at {self.url} within {timeout:g} s: {_detail(response)}"
                )
            time.sleep(delay)
            delay = min(delay * 2, 2.0)

    def delete(self, session_id: str) -> None:
        """Close a session on the service (an unknown one is fine); never raises for service errors."""
        self.untrack(session_id)
        try:
            self.request("DELETE", f"{API_PREFIX}/sessions/{session_id}", timeout=30)
        except (SandboxServiceError, SandboxClosedError) as exc:
            logger.warning("could not close sandbox session %s: %s (the service expires it)", session_id[:8], exc)

    # ----------------------------------------------------------------------------- keep-alive

    def track(self, session_id: str, idle_timeout_s: float) -> None:
        with self._lock:
            self._open[session_id] = idle_timeout_s
            if self._thread is None and not self.closed:
                self._thread = threading.Thread(target=self._keepalive_loop, name="sandbox-keepalive", daemon=True)
                self._thread.start()

    def untrack(self, session_id: str) -> None:
        with self._lock:
            self._open.pop(session_id, None)

    def open_ids(self) -> list[str]:
        with self._lock:
            return list(self._open)

    def _keepalive_loop(self) -> None:
        while True:
            with self._lock:
                interval = min(self._open.values(), default=30.0) / 3
                ids = list(self._open)
            if self._stop.wait(max(interval, 0.1)):
                return
            if not ids:
                continue
            try:
                response = self._http.post(f"{API_PREFIX}/keepalive", json={"ids": ids}, timeout=10)
                if response.status_code == 200:
                    for gone in response.json().get("gone", []):
                        logger.debug("sandbox session %s is gone on the service", gone[:8])
                        self.untrack(gone)
            except httpx.HTTPError as exc:
                logger.debug("keep-alive failed: %s", exc)

    def close(self) -> None:
        """Close every session still open, stop the keep-alives and the thread pool. Idempotent."""
        if self.closed:
            return
        for session_id in self.open_ids():
            self.delete(session_id)
        self.closed = True
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
        self._http.close()


class RemoteSandbox:
    """One session on a sandbox service, with :class:`~sandbox.session.Sandbox`'s API.

    Args:
        url: The service, e.g. ``http://127.0.0.1:8080`` (not needed when made by a pool).
        token: The client token (default ``$MATHAGENT_SANDBOX_TOKEN``).
        limits: Limits for this session (each field at most the service's); None = the service's
            pooled sessions, which start in milliseconds.
        cell_timeout: Default wall time of a cell (capped by the session's ``cell_timeout_s``).
        acquire_timeout: How long to wait for a session when the service is busy.

    Example:
        >>> with RemoteSandbox("http://127.0.0.1:8080") as sb:  # doctest: +SKIP
        ...     sb.run("x = 6 * 7")
        ...     sb.run("x").value
        '42'
    """

    isolation = "service"

    def __init__(
        self,
        url: str | None = None,
        token: str | None = None,
        limits: Limits | None = None,
        *,
        cell_timeout: float | None = None,
        acquire_timeout: float = 120.0,
        connection: _Connection | None = None,
    ) -> None:
        if connection is None:
            if url is None:
                raise ValueError("RemoteSandbox needs the service's url")
            self._conn = _Connection(url, token)
        else:
            self._conn = connection
        self._owns_conn = connection is None
        self.url = self._conn.url
        self.requested_limits = limits
        self.cell_timeout = cell_timeout
        self.acquire_timeout = acquire_timeout
        self.id: str | None = None
        self.limits: Limits | None = None
        self._closed = False

    # ----------------------------------------------------------------------------- lifecycle

    def start(self) -> RemoteSandbox:
        """Open the session on the service now rather than at the first run."""
        if self._closed:
            raise SandboxClosedError("this Sandbox was closed; open a new one")
        if self.id is None:
            info = self._conn.create(self.requested_limits, self.acquire_timeout)
            self.id, self.limits = info.id, info.limits
        return self

    def restart(self) -> None:
        """Throw the kernel away (all state is lost); the next run uses a fresh one."""
        if self.id is None or self._closed:
            return
        response = self._conn.request("POST", f"{API_PREFIX}/sessions/{self.id}/restart", timeout=120)
        if response.status_code == 404:
            self._conn.untrack(self.id)
            self.id = None

    def close(self) -> None:
        """Close the session on the service (its kernel is killed there). Idempotent."""
        if self._closed:
            return
        self._closed = True
        if self.id is not None and not self._conn.closed:
            self._conn.delete(self.id)
        self.id = None
        if self._owns_conn:
            self._conn.close()

    @property
    def closed(self) -> bool:
        """True after close()."""
        return self._closed

    def __enter__(self) -> RemoteSandbox:
        try:
            return self.start()
        except BaseException:
            self.close()
            raise

    def __exit__(self, *exc_info) -> None:
        self.close()

    async def __aenter__(self) -> RemoteSandbox:
        try:
            await self._conn.in_thread(self.start)
            return self
        except BaseException:
            self.close()
            raise

    async def __aexit__(self, *exc_info) -> None:
        await self._conn.in_thread(self.close)

    def __del__(self) -> None:
        # No I/O here: stop the keep-alives and let the service expire the session.
        session_id = getattr(self, "id", None)
        if not getattr(self, "_closed", True) and session_id is not None:
            self._conn.untrack(session_id)

    # ----------------------------------------------------------------------------- execution

    def run(self, code: str, timeout: float | None = None) -> ExecResult:
        """Run one cell in this session's kernel on the service.

        Args:
            code: Python source (IPython syntax); the value of its last expression is returned.
            timeout: wall-time limit in seconds (default: ``cell_timeout``, else the session's limit).

        Returns:
            The cell's ExecResult; errors in the code, timeouts and crashes are reported in it.
        """
        self.start()
        assert self.id is not None and self.limits is not None  # start() opened the session
        timeout = timeout or self.cell_timeout
        http_timeout = (timeout or self.limits.cell_timeout_s) + self.limits.interrupt_grace_s + _HTTP_SLACK_S
        response = self._conn.request(
            "POST",
            f"{API_PREFIX}/sessions/{self.id}/run",
            json={"code": code, "timeout": timeout},
            timeout=http_timeout,
        )
        if response.status_code == 200:
            return ExecResult.model_validate(response.json())
        if response.status_code == 404:
            logger.warning("sandbox session %s was closed by the service; the next cell gets a new one", self.id[:8])
            self._conn.untrack(self.id)
            self.id = None
            return ExecResult(
                error_name="KernelDied",
                error_value="the sandbox session was closed by the service (idle expiry or restart); "
                "all variables were lost",
                restarted=True,
            )
        raise SandboxServiceError(
            f"the sandbox service at {self.url} failed to run a cell: {response.status_code} {_detail(response)}"
        )

    async def arun(self, code: str, timeout: float | None = None) -> ExecResult:
        """Async twin of :meth:`run`: many sessions can run at once on one event loop."""
        if self._closed:
            raise SandboxClosedError("this Sandbox was closed; open a new one")
        return await self._conn.in_thread(self.run, code, timeout)


class RemoteSandboxPool:
    """Sessions on a sandbox service, with :class:`~sandbox.pool.SandboxPool`'s ``acquire`` API.

    The service keeps the warm kernels; this object holds the connection and closes, at
    :meth:`close`, every session it handed out that is still open.

    Args:
        url: The service, e.g. ``http://sandbox:8080``.
        token: The client token (default ``$MATHAGENT_SANDBOX_TOKEN``).
        limits: Limits asked for each session (None = the service's pooled sessions; see RemoteSandbox).
        cell_timeout: Default wall time of a cell.
        acquire_timeout: Default wait for a session when the service is busy.
        max_concurrency: HTTP requests in flight at once (threads of the async API).

    Example:
        >>> with RemoteSandboxPool("http://127.0.0.1:8080") as pool:  # doctest: +SKIP
        ...     with pool.acquire() as sb:
        ...         sb.run("1 + 1").value
        '2'
    """

    isolation = "service"

    def __init__(
        self,
        url: str,
        token: str | None = None,
        *,
        limits: Limits | None = None,
        cell_timeout: float | None = None,
        acquire_timeout: float = 120.0,
        max_concurrency: int = 64,
    ) -> None:
        self.url = url.rstrip("/")
        self.limits = limits
        self.cell_timeout = cell_timeout
        self.acquire_timeout = acquire_timeout
        self._conn = _Connection(url, token, max_concurrency=max_concurrency)
        self._checked = False
        register(self)

    def start(self) -> RemoteSandboxPool:
        """Check that the service answers and accepts the token (raises SandboxAuthError / SandboxServiceError)."""
        if self._conn.closed:
            raise SandboxClosedError("this RemoteSandboxPool was closed; create a new one")
        if not self._checked:
            response = self._conn.request("GET", f"{API_PREFIX}/sessions")
            if response.status_code != 200:
                raise SandboxServiceError(
                    f"{self.url} does not look like a sandbox service: {response.status_code} {_detail(response)}"
                )
            self._checked = True
        return self

    def health(self) -> dict:
        """The service's ``/health`` answer."""
        return self._conn.request("GET", "/health").json()

    def acquire(self, timeout: float | None = None) -> RemoteSandbox:
        """A new session on the service (waits up to `timeout` when the service is busy)."""
        sandbox = RemoteSandbox(
            limits=self.limits,
            cell_timeout=self.cell_timeout,
            acquire_timeout=timeout or self.acquire_timeout,
            connection=self._conn,
        )
        return sandbox.start()

    async def aacquire(self, timeout: float | None = None) -> RemoteSandbox:
        """Async twin of :meth:`acquire`."""
        return await self._conn.in_thread(self.acquire, timeout)

    @property
    def open_sessions(self) -> int:
        """Sessions handed out by this pool and not closed yet."""
        return len(self._conn.open_ids())

    def close(self) -> None:
        """Close every session still open and the connection. Idempotent."""
        self._conn.close()

    def __enter__(self) -> RemoteSandboxPool:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.close()

    async def __aenter__(self) -> RemoteSandboxPool:
        return await self._conn.in_thread(self.start)

    async def __aexit__(self, *exc_info) -> None:
        await asyncio.to_thread(self.close)
