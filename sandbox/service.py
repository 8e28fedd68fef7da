"""The sandbox service: sessions on jailed kernels over HTTP, for agent workers on other machines.

``mathagent sandbox serve`` runs :func:`run_service`. The API is described in :mod:`sandbox.service_schemas`;
:class:`sandbox.remote.RemoteSandboxPool` is its client. What the service adds to the local sandbox:

- **Tokens.** Every ``/v1`` request needs ``Authorization: Bearer <token>``; tokens are compared in
  constant time; a missing or wrong token gets 401 and nothing else. Only ``/health`` is open.
- **Ownership and limits.** A session belongs to the client whose token created it (others get 404);
  each client has a session limit (429 beyond it), the service a total one (503 beyond it).
- **Idle expiry.** A session with no request for ``idle_timeout_s`` is closed: the sessions of a
  client that died are reclaimed. Live clients send keep-alives.
- **Bounded requests.** Bodies over ``max_request_bytes`` get 413 before they are read; a cell's wall
  time is capped at the session's ``cell_timeout_s``; answers are bounded by the sandbox's output caps;
  concurrent connections are capped (``max_connections``).

The kernels keep every guarantee of their isolation mode (see README "Sandbox"); the service itself
must run where ``jail`` works (root, bubblewrap), e.g. a privileged container (see README "Deployment").

Example:
    >>> from sandbox.service_config import ServiceConfig
    >>> ServiceConfig(port=9000).port
    9000
"""

import asyncio
import json
import logging
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Annotated, Any

from .errors import SandboxError
from .results import ExecResult
from .service_config import ClientToken, ServiceConfig, TokenTable
from .service_schemas import API_PREFIX, CreateSession, Health, KeepAlive, KeepAliveResult, RunRequest, SessionInfo
from .service_sessions import (
    LimitsTooLooseError,
    ServiceFullError,
    SessionLimitError,
    SessionManager,
    UnknownSessionError,
)

__all__ = ["create_app", "run_service", "BodySizeLimit"]

logger = logging.getLogger(__name__)


def _require_fastapi():
    try:
        import fastapi
    except ImportError:
        raise SandboxError("the sandbox service needs FastAPI and uvicorn: pip install 'mathagent[serve]'") from None
    return fastapi


class BodySizeLimit:
    """ASGI middleware: 413 for request bodies over `max_bytes` (by Content-Length, or while reading)."""

    def __init__(self, app, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def _reject(self, send) -> None:
        body = json.dumps({"detail": f"request body over {self.max_bytes} bytes"}).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    too_big = int(value) > self.max_bytes
                except ValueError:
                    too_big = True
                if too_big:
                    await self._reject(send)
                    return
        # Read the body here (it is small, by this very limit) so that a chunked body that grows too
        # large is refused with 413 too, before the application parses any of it.
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > self.max_bytes:
                await self._reject(send)
                return
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def create_app(config: ServiceConfig, tokens: TokenTable):
    """The FastAPI application of the service (kernels start when the app's lifespan starts).

    Args:
        config: The service's configuration.
        tokens: The clients' tokens (:func:`~sandbox.service_config.load_tokens`).
    """
    _require_fastapi()
    from fastapi import Depends, FastAPI, HTTPException, Request, Response
    from fastapi.responses import JSONResponse

    manager = SessionManager(config)

    @asynccontextmanager
    async def lifespan(app):
        # Blocking sandbox calls (kernel acquisition, kills) run in threads: enough for every session.
        loop = asyncio.get_running_loop()
        executor = ThreadPoolExecutor(max_workers=config.max_sessions + 8, thread_name_prefix="sandbox-service")
        loop.set_default_executor(executor)
        await manager.start()
        logger.info(
            "sandbox service: isolation=%s, pool %d, at most %d sessions (%d per client), %d client token(s)",
            config.isolation, config.pool_size, config.max_sessions, config.max_sessions_per_client, len(tokens),
        )  # fmt: skip
        try:
            yield
        finally:
            await manager.close()

    app = FastAPI(title="mathagent sandbox service", version="1", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.manager = manager
    app.add_middleware(BodySizeLimit, max_bytes=config.max_request_bytes)

    def client_of(request: Request) -> ClientToken:
        header = request.headers.get("authorization", "")
        scheme, _, presented = header.partition(" ")
        client = tokens.client(presented.strip()) if scheme.lower() == "bearer" else None
        if client is None:
            logger.warning(
                "refused a request without a valid token from %s", request.client.host if request.client else "?"
            )
            raise HTTPException(401, "missing or wrong token", headers={"WWW-Authenticate": "Bearer"})
        return client

    Client = Annotated[ClientToken, Depends(client_of)]

    def errors(exc: Exception) -> HTTPException:
        if isinstance(exc, UnknownSessionError):
            return HTTPException(404, "no such session (closed, expired, or not yours)")
        if isinstance(exc, SessionLimitError):
            return HTTPException(429, str(exc), headers={"Retry-After": "1"})
        if isinstance(exc, ServiceFullError):
            return HTTPException(503, str(exc), headers={"Retry-After": "1"})
        if isinstance(exc, LimitsTooLooseError):
            return HTTPException(422, str(exc))
        return HTTPException(500, f"{type(exc).__name__}: {exc}")

    @app.get("/health", response_model=Health)
    async def health() -> Any:
        pool = manager.pool
        failing = pool.failures >= 3 and pool.ready_count == 0
        body = Health(
            status="failing" if failing else "ok", isolation=config.isolation, warm=pool.ready_count,
            sessions=manager.count, max_sessions=config.max_sessions,
            last_error=str(pool.last_error)[:500] if failing and pool.last_error else None,
        )  # fmt: skip
        return JSONResponse(body.model_dump(), status_code=503 if failing else 200)

    @app.post(f"{API_PREFIX}/sessions", status_code=201, response_model=SessionInfo)
    async def create_session(body: CreateSession, client: Client) -> SessionInfo:
        try:
            return await manager.create(client, body.limits, body.wait_s)
        except (SessionLimitError, ServiceFullError, LimitsTooLooseError) as exc:
            raise errors(exc) from None

    @app.get(f"{API_PREFIX}/sessions", response_model=list[SessionInfo])
    async def list_sessions(client: Client) -> list[SessionInfo]:
        return manager.sessions_of(client)

    @app.post(f"{API_PREFIX}/sessions/{{session_id}}/run", response_model=ExecResult)
    async def run_cell(session_id: str, body: RunRequest, client: Client) -> ExecResult:
        try:
            return await manager.run(client, session_id, body.code, body.timeout)
        except UnknownSessionError as exc:
            raise errors(exc) from None

    @app.post(f"{API_PREFIX}/sessions/{{session_id}}/restart", status_code=204, response_class=Response)
    async def restart_session(session_id: str, client: Client) -> Response:
        try:
            await manager.restart(client, session_id)
        except UnknownSessionError as exc:
            raise errors(exc) from None
        return Response(status_code=204)

    @app.delete(f"{API_PREFIX}/sessions/{{session_id}}", status_code=204, response_class=Response)
    async def close_session(session_id: str, client: Client) -> Response:
        try:
            await manager.close_session(client, session_id)
        except UnknownSessionError as exc:
            raise errors(exc) from None
        return Response(status_code=204)

    @app.post(f"{API_PREFIX}/keepalive", response_model=KeepAliveResult)
    async def keepalive(body: KeepAlive, client: Client) -> KeepAliveResult:
        alive, gone = manager.keepalive(client, body.ids)
        return KeepAliveResult(alive=alive, gone=gone)

    return app


def run_service(config: ServiceConfig, tokens: TokenTable) -> None:
    """Serve until SIGINT/SIGTERM, then close every session and kernel.

    Raises:
        SandboxError: FastAPI/uvicorn missing (names the extra), or the isolation mode unavailable.
    """
    _require_fastapi()
    import uvicorn

    from .session import make_launcher

    make_launcher(config.isolation)  # fail here, with the install hint, rather than in the app's start-up
    app = create_app(config, tokens)
    uvicorn.run(
        app,
        host=config.host,
        port=config.port,
        log_level=config.log_level,
        limit_concurrency=config.max_connections,
        timeout_keep_alive=30,
        h11_max_incomplete_event_size=64 * 1024,
        access_log=config.log_level == "debug",
    )
