"""Configuration of the sandbox service and its clients' tokens.

Tokens are kept out of :class:`ServiceConfig` (which is logged): they come from
``$MATHAGENT_SANDBOX_TOKEN`` (one client, named ``default``) and/or a token file, one client per line::

    # name      token                                   [max sessions]
    collector   3q8V...long random string...            32
    chat        Zk1d...another one...

Example:
    >>> ServiceConfig().isolation
    'jail'
    >>> parse_tokens("a " + "x" * 32 + " 3")[0].max_sessions
    3
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from .kernel import DEFAULT_PRELOAD
from .limits import Limits
from .session import Isolation

__all__ = ["ServiceConfig", "ClientToken", "TokenTable", "parse_tokens", "load_tokens", "MIN_TOKEN_CHARS"]

MIN_TOKEN_CHARS = 16
TOKEN_ENV = "MATHAGENT_SANDBOX_TOKEN"


class ServiceConfig(BaseModel):
    """Everything `mathagent sandbox serve` can be told; every field has a default.

    Load one from JSON or YAML with ``--config``; command-line flags override it.
    """

    model_config = ConfigDict(extra="forbid")

    host: str = Field("127.0.0.1", description="Address to listen on (0.0.0.0 inside a container).")
    port: int = Field(8080, ge=0, le=65535, description="TCP port.")
    isolation: Isolation = Field("jail", description="Isolation of the kernels (jail needs root and bwrap).")
    limits: Limits = Field(default_factory=Limits, description="Limits of pooled sessions, and the most any may ask.")
    preload: tuple[str, ...] = Field(DEFAULT_PRELOAD, description="Modules imported in warm kernels.")
    pool_size: int = Field(4, ge=1, description="Warm kernels kept ready for new sessions.")
    max_starting: int = Field(2, ge=1, description="Kernels started at once by the pool.")
    max_sessions: int = Field(64, ge=1, description="Open sessions, all clients together.")
    max_sessions_per_client: int = Field(
        32, ge=1, description="Open sessions of one client (one token), unless its token line says otherwise."
    )
    idle_timeout_s: float = Field(
        300.0, gt=0, description="A session without a request (a cell, a keep-alive) for this long is closed."
    )
    reap_interval_s: float = Field(1.0, gt=0, description="How often idle sessions are looked for.")
    acquire_timeout_s: float = Field(
        60.0, gt=0, description="How long a new session waits for a kernel before the service answers 503."
    )
    max_request_bytes: int = Field(
        1 << 20, ge=1024, description="Largest request body; larger ones get 413 before they are read."
    )
    max_connections: int = Field(256, ge=1, description="Concurrent HTTP connections (more get 503).")
    log_level: str = Field("info", description="uvicorn log level.")


class ClientToken(BaseModel):
    """One client: a name (for logs and limits), its token, and its own session limit."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    token: str = Field(min_length=MIN_TOKEN_CHARS, repr=False)
    max_sessions: int | None = Field(None, ge=1, description="None = ServiceConfig.max_sessions_per_client.")


class TokenTable:
    """Finds the client of a presented token in constant time (no early exit, digests of equal length).

    Example:
        >>> table = TokenTable([ClientToken(name="a", token="t" * 16)])
        >>> table.client("t" * 16).name, table.client("wrong")
        ('a', None)
    """

    def __init__(self, clients: list[ClientToken]) -> None:
        if not clients:
            raise ValueError(f"no token configured: set ${TOKEN_ENV} or pass --token-file")
        names = [c.name for c in clients]
        if len(set(names)) != len(names):
            raise ValueError("two tokens have the same client name")
        self._entries = [(hashlib.sha256(c.token.encode()).digest(), c) for c in clients]

    def __len__(self) -> int:
        return len(self._entries)

    def client(self, presented: str | None) -> ClientToken | None:
        """The client whose token equals `presented`, or None."""
        digest = hashlib.sha256((presented or "").encode()).digest()
        found = None
        for expected, client in self._entries:
            if hmac.compare_digest(digest, expected) and presented:
                found = client
        return found


def parse_tokens(text: str, source: str = "<tokens>") -> list[ClientToken]:
    """Parse a token file: ``NAME TOKEN [MAX_SESSIONS]`` per line, ``#`` comments.

    Raises:
        ValueError: a malformed line, with ``source:line``.
    """
    clients = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        if len(parts) not in (2, 3):
            raise ValueError(f"{source}:{number}: expected 'NAME TOKEN [MAX_SESSIONS]'")
        if len(parts[1]) < MIN_TOKEN_CHARS:
            raise ValueError(f"{source}:{number}: the token is shorter than {MIN_TOKEN_CHARS} characters")
        try:
            limit = int(parts[2]) if len(parts) == 3 else None
        except ValueError:
            raise ValueError(f"{source}:{number}: MAX_SESSIONS must be an integer") from None
        clients.append(ClientToken(name=parts[0], token=parts[1], max_sessions=limit))
    return clients


def load_tokens(token_file: Path | None = None, env: Mapping[str, str] | None = None) -> TokenTable:
    """Tokens from ``$MATHAGENT_SANDBOX_TOKEN`` (client ``default``) and `token_file`.

    Raises:
        ValueError: no token at all, a token shorter than 16 characters, or a malformed file.
    """
    if env is None:
        env = os.environ
    clients: list[ClientToken] = []
    if value := env.get(TOKEN_ENV, "").strip():
        if len(value) < MIN_TOKEN_CHARS:
            raise ValueError(f"${TOKEN_ENV} is shorter than {MIN_TOKEN_CHARS} characters")
        clients.append(ClientToken(name="default", token=value))
    if token_file is not None:
        try:
            text = Path(token_file).read_text()
        except OSError as exc:
            raise ValueError(f"cannot read the token file {token_file}: {exc.strerror}") from None
        clients += parse_tokens(text, str(token_file))
    return TokenTable(clients)
