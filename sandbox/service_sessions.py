"""The sessions of the sandbox service: who owns which, limits per client, idle expiry.

One :class:`SessionManager` lives on the service's event loop. Sessions come from a warm
:class:`~sandbox.pool.SandboxPool` (or, when a client asks for tighter limits, a fresh
:class:`~sandbox.session.Sandbox`); a session belongs to the client whose token created it and is
invisible to others. A session with no request for ``idle_timeout_s`` is closed by a background task:
that is how the sessions of a client that died (or lost its network) are reclaimed. Live clients keep
idle sessions open with keep-alive requests.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from dataclasses import dataclass, field

from .errors import SandboxClosedError
from .limits import Limits
from .pool import SandboxPool
from .results import ExecResult
from .service_config import ClientToken, ServiceConfig
from .service_schemas import SessionInfo
from .session import Sandbox

__all__ = ["SessionManager", "SessionLimitError", "ServiceFullError", "LimitsTooLooseError", "UnknownSessionError"]

logger = logging.getLogger(__name__)


class SessionLimitError(Exception):
    """The client has as many open sessions as it may (HTTP 429)."""


class ServiceFullError(Exception):
    """The service has max_sessions open, or no kernel became available in time (HTTP 503)."""


class LimitsTooLooseError(ValueError):
    """Requested limits above the service's (HTTP 422)."""


class UnknownSessionError(KeyError):
    """No open session with this id belongs to this client (HTTP 404)."""


@dataclass(eq=False)
class _Session:
    id: str
    client: str
    sandbox: Sandbox
    limits: Limits
    last_used: float = field(default_factory=time.monotonic)
    busy: int = 0
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


def check_limits(requested: Limits, maximum: Limits) -> None:
    """Raise LimitsTooLooseError when a field of `requested` is above `maximum`'s.

    Example:
        >>> check_limits(Limits(memory_mb=256), Limits())
        >>> check_limits(Limits(memory_mb=4096), Limits())
        Traceback (most recent call last):
        ...
        sandbox.service_sessions.LimitsTooLooseError: memory_mb=4096 is above the service's 2048
    """
    for name, value in requested.model_dump().items():
        top = getattr(maximum, name)
        if value > top:
            raise LimitsTooLooseError(f"{name}={value:g} is above the service's {top:g}")


class SessionManager:
    """Creates, runs, expires and closes the sessions of all clients. Use on one event loop."""

    def __init__(self, config: ServiceConfig) -> None:
        self.config = config
        self.pool = SandboxPool(
            size=config.pool_size,
            isolation=config.isolation,
            limits=config.limits,
            preload=config.preload,
            max_starting=config.max_starting,
        )
        self._sessions: dict[str, _Session] = {}
        self._per_client: dict[str, int] = {}
        self._reserved = 0
        self._reaper: asyncio.Task | None = None
        self._closing = False

    # ----------------------------------------------------------------------------- lifecycle

    async def start(self) -> None:
        """Start the pool (checks the isolation mode: raises IsolationUnavailableError) and the reaper."""
        await asyncio.to_thread(self.pool.start)
        self._reaper = asyncio.create_task(self._reap_loop(), name="sandbox-service-reaper")

    async def close(self) -> None:
        """Close every session and the pool."""
        self._closing = True
        if self._reaper is not None:
            self._reaper.cancel()
            try:
                await self._reaper
            except asyncio.CancelledError:
                pass
        sessions = list(self._sessions.values())
        self._sessions.clear()
        self._per_client.clear()
        await asyncio.gather(*(asyncio.to_thread(s.sandbox.close) for s in sessions))
        await asyncio.to_thread(self.pool.close)

    @property
    def count(self) -> int:
        """Open sessions, all clients."""
        return len(self._sessions)

    def info(self, session: _Session) -> SessionInfo:
        return SessionInfo(
            id=session.id,
            limits=session.limits,
            idle_timeout_s=self.config.idle_timeout_s,
            idle_s=round(time.monotonic() - session.last_used, 3),
            busy=session.busy > 0,
        )

    # ----------------------------------------------------------------------------- sessions

    async def create(
        self, client: ClientToken, limits: Limits | None = None, wait_s: float | None = None
    ) -> SessionInfo:
        """A new session for `client`: a pooled kernel, or a fresh one when `limits` differ from the pool's.

        Args:
            client: The client asking.
            limits: Its own limits (None = the pool's).
            wait_s: Longest wait for a kernel (capped at acquire_timeout_s).

        Raises:
            SessionLimitError: the client's limit is reached.
            ServiceFullError: the service's limit is reached, or no kernel came in time.
            LimitsTooLooseError: `limits` above the service's.
        """
        if self._closing:
            raise ServiceFullError("the service is shutting down")
        own = limits is not None and limits != self.config.limits
        if limits is not None and own:
            check_limits(limits, self.config.limits)
        cap = client.max_sessions or self.config.max_sessions_per_client
        if self._per_client.get(client.name, 0) >= cap:
            raise SessionLimitError(f"client {client.name!r} has {cap} open sessions, its limit; close some")
        if len(self._sessions) + self._reserved >= self.config.max_sessions:
            raise ServiceFullError(f"the service has {self.config.max_sessions} open sessions, its limit")
        # Reserve the slots before awaiting, so that concurrent requests cannot overshoot the limits.
        self._reserved += 1
        self._per_client[client.name] = self._per_client.get(client.name, 0) + 1
        try:
            if own:
                sandbox = Sandbox(isolation=self.config.isolation, limits=limits, preload=self.config.preload)
                await sandbox.__aenter__()
            else:
                sandbox = await self.pool.aacquire(timeout=min(wait_s or 1e9, self.config.acquire_timeout_s))
        except TimeoutError as exc:  # PoolTimeoutError included
            self._release_client(client.name)
            raise ServiceFullError(f"no sandbox kernel became available in time: {exc}") from None
        except BaseException:
            self._release_client(client.name)
            raise
        finally:
            self._reserved -= 1
        session = _Session(id=secrets.token_urlsafe(18), client=client.name, sandbox=sandbox, limits=sandbox.limits)
        self._sessions[session.id] = session
        logger.info("session %s opened for %s (%d open)", session.id[:8], client.name, len(self._sessions))
        return self.info(session)

    def _release_client(self, name: str) -> None:
        left = self._per_client.get(name, 0) - 1
        if left > 0:
            self._per_client[name] = left
        else:
            self._per_client.pop(name, None)

    def get(self, client: ClientToken, session_id: str) -> _Session:
        """The open session `session_id` of `client` (others' sessions do not exist for it)."""
        session = self._sessions.get(session_id)
        if session is None or session.client != client.name:
            raise UnknownSessionError(session_id)
        return session

    def sessions_of(self, client: ClientToken) -> list[SessionInfo]:
        """The open sessions of `client`."""
        return [self.info(s) for s in self._sessions.values() if s.client == client.name]

    async def run(self, client: ClientToken, session_id: str, code: str, timeout: float | None) -> ExecResult:
        """Run one cell; cells of one session run one after the other."""
        session = self.get(client, session_id)
        timeout = min(timeout or session.limits.cell_timeout_s, session.limits.cell_timeout_s)
        session.busy += 1
        try:
            async with session.lock:
                if session.id not in self._sessions:
                    raise UnknownSessionError(session_id)
                try:
                    return await session.sandbox.arun(code, timeout)
                except SandboxClosedError:
                    raise UnknownSessionError(session_id) from None
        finally:
            session.busy -= 1
            session.last_used = time.monotonic()

    async def restart(self, client: ClientToken, session_id: str) -> None:
        """Replace the session's kernel (all variables are lost)."""
        session = self.get(client, session_id)
        async with session.lock:
            await asyncio.to_thread(session.sandbox.restart)
            session.last_used = time.monotonic()

    async def close_session(self, client: ClientToken, session_id: str) -> None:
        """Close a session of `client` (a running cell is killed with it)."""
        await self._close(self.get(client, session_id), "closed")

    async def _close(self, session: _Session, why: str) -> None:
        if self._sessions.pop(session.id, None) is None:
            return
        self._release_client(session.client)
        logger.info("session %s of %s %s (%d open)", session.id[:8], session.client, why, len(self._sessions))
        await asyncio.to_thread(session.sandbox.close)

    def keepalive(self, client: ClientToken, ids: list[str]) -> tuple[list[str], list[str]]:
        """Restart the idle clock of `client`'s sessions in `ids`; returns (alive, gone)."""
        alive, gone = [], []
        now = time.monotonic()
        for session_id in ids:
            session = self._sessions.get(session_id)
            if session is None or session.client != client.name:
                gone.append(session_id)
            else:
                session.last_used = now
                alive.append(session_id)
        return alive, gone

    # ----------------------------------------------------------------------------- expiry

    async def reap_idle(self) -> int:
        """Close sessions idle for longer than idle_timeout_s (never one running a cell); returns how many."""
        now = time.monotonic()
        idle = [s for s in self._sessions.values() if not s.busy and now - s.last_used > self.config.idle_timeout_s]
        for session in idle:
            await self._close(session, f"expired after {now - session.last_used:.0f} s idle")
        return len(idle)

    async def _reap_loop(self) -> None:
        while True:
            await asyncio.sleep(self.config.reap_interval_s)
            try:
                await self.reap_idle()
            except Exception:  # noqa: BLE001 - the reaper must keep running
                logger.exception("reaping idle sessions failed")
