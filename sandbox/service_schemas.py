"""The wire format of the sandbox service, shared by the server (:mod:`sandbox.service`) and the client
(:mod:`sandbox.remote`). Plain pydantic models: the client needs no web framework.

Endpoints (all under ``/v1`` need ``Authorization: Bearer <token>``):

=======  ==============================  =====================================================
method   path                            body -> answer
=======  ==============================  =====================================================
GET      /health                         -> :class:`Health` (no token; 503 when failing)
POST     /v1/sessions                    :class:`CreateSession` -> 201 :class:`SessionInfo`
GET      /v1/sessions                    -> list of this client's :class:`SessionInfo`
POST     /v1/sessions/{id}/run           :class:`RunRequest` -> :class:`~sandbox.results.ExecResult`
POST     /v1/sessions/{id}/restart       -> 204 (the kernel is replaced; variables are lost)
DELETE   /v1/sessions/{id}               -> 204
POST     /v1/keepalive                   :class:`KeepAlive` -> :class:`KeepAliveResult`
=======  ==============================  =====================================================

Errors answer ``{"detail": "<one line>"}`` with 401 (no or wrong token), 404 (no such session of this
client: closed, expired, or someone else's), 413 (request too large), 422 (invalid body or limits
above the service's), 429 (this client's session limit), 503 (no kernel became available in time).

Example:
    >>> RunRequest(code="1 + 1").timeout is None
    True
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from .limits import Limits

__all__ = [
    "API_PREFIX",
    "MAX_CODE_CHARS",
    "CreateSession",
    "SessionInfo",
    "RunRequest",
    "KeepAlive",
    "KeepAliveResult",
    "Health",
]

API_PREFIX = "/v1"
MAX_CODE_CHARS = 1_000_000
"""Largest cell the protocol accepts; a service usually bounds whole requests lower (max_request_bytes)."""


class CreateSession(BaseModel):
    """Body of ``POST /v1/sessions``."""

    model_config = ConfigDict(extra="forbid")

    limits: Limits | None = Field(
        None,
        description="Limits for this session; None = the service's. Each field may only be tighter than the "
        "service's; a session with its own limits starts a fresh kernel (slower than a pooled one).",
    )
    wait_s: float | None = Field(
        None, gt=0, description="How long to wait for a kernel before 503 (at most the service's acquire_timeout_s)."
    )


class SessionInfo(BaseModel):
    """A session as the service reports it."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(description="Unguessable session id.")
    limits: Limits = Field(description="The limits the session's kernel runs with.")
    idle_timeout_s: float = Field(description="The session is closed after this long without a request.")
    idle_s: float = Field(0.0, description="Seconds since the session's last request.")
    busy: bool = Field(False, description="A cell is running.")


class RunRequest(BaseModel):
    """Body of ``POST /v1/sessions/{id}/run``."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(max_length=MAX_CODE_CHARS, description="The cell's Python source.")
    timeout: float | None = Field(
        None, gt=0, description="Wall time of the cell in seconds; capped at the session's cell_timeout_s."
    )


class KeepAlive(BaseModel):
    """Body of ``POST /v1/keepalive``: sessions whose idle clock restarts."""

    model_config = ConfigDict(extra="forbid")

    ids: list[str] = Field(default_factory=list, max_length=10_000, description="Session ids of this client.")


class KeepAliveResult(BaseModel):
    """Answer of ``POST /v1/keepalive``."""

    alive: list[str] = Field(default_factory=list, description="Sessions that are still open.")
    gone: list[str] = Field(default_factory=list, description="Sessions that are closed, expired or unknown.")


class Health(BaseModel):
    """Answer of ``GET /health``."""

    status: str = Field(description="'ok', or 'failing' when kernels keep failing to start and none is warm.")
    isolation: str = Field(description="Isolation of the kernels.")
    warm: int = Field(description="Warm kernels waiting for a session.")
    sessions: int = Field(description="Open sessions, all clients.")
    max_sessions: int = Field(description="Most open sessions the service allows.")
    last_error: str | None = Field(None, description="The last kernel start-up error, while failing.")
