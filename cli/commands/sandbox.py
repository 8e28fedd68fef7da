"""``mathagent sandbox ...``: run the sandbox service, make tokens.

Example:
    >>> sorted(c.name or c.callback.__name__ for c in app.registered_commands)
    ['serve', 'token']
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Annotated

import typer

from ..console import fail
from ..options import SetOpt, apply_dotted, parse_sets

__all__ = ["app"]

app = typer.Typer(help="The sandbox service: jailed Python sessions over HTTP for remote agents.")


def _load_config(path: Path | None):
    from sandbox.service_config import ServiceConfig

    if path is None:
        return ServiceConfig()
    text = path.read_text()
    if path.suffix in (".yaml", ".yml"):
        import yaml

        data = yaml.safe_load(text) or {}
    else:
        data = json.loads(text)
    return ServiceConfig.model_validate(data)


@app.command("serve")
def serve(
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="ServiceConfig as JSON or YAML; flags override it.")
    ] = None,
    host: Annotated[str | None, typer.Option(help="Address to listen on (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="TCP port (default 8080).")] = None,
    token_file: Annotated[
        Path | None,
        typer.Option(help="Client tokens: 'NAME TOKEN [MAX_SESSIONS]' per line (and $MATHAGENT_SANDBOX_TOKEN)."),
    ] = None,
    isolation: Annotated[str | None, typer.Option(help="Kernel isolation: jail (default) | docker | none.")] = None,
    pool_size: Annotated[int | None, typer.Option(help="Warm kernels kept ready.")] = None,
    max_sessions: Annotated[int | None, typer.Option(help="Open sessions, all clients.")] = None,
    max_sessions_per_client: Annotated[int | None, typer.Option(help="Open sessions of one client.")] = None,
    idle_timeout: Annotated[
        float | None, typer.Option(help="Seconds without a request before a session closes.")
    ] = None,
    cell_timeout: Annotated[float | None, typer.Option(help="Most seconds a cell may run.")] = None,
    memory_mb: Annotated[int | None, typer.Option(help="Memory of one session.")] = None,
    sets: SetOpt = None,
) -> None:
    """Serve sandbox sessions over HTTP until Ctrl-C / SIGTERM (token required: $MATHAGENT_SANDBOX_TOKEN)."""
    from pydantic import ValidationError

    from sandbox import SandboxError
    from sandbox.service import run_service
    from sandbox.service_config import ServiceConfig, load_tokens

    try:
        cfg = _load_config(config)
        flags = {
            "host": host, "port": port, "isolation": isolation, "pool_size": pool_size, "max_sessions": max_sessions,
            "max_sessions_per_client": max_sessions_per_client, "idle_timeout_s": idle_timeout,
        }  # fmt: skip
        update = {k: v for k, v in flags.items() if v is not None}
        limits = {k: v for k, v in {"cell_timeout_s": cell_timeout, "memory_mb": memory_mb}.items() if v is not None}
        if limits:
            update["limits"] = cfg.limits.model_copy(update=limits).model_dump()
        data = {**cfg.model_dump(), **update}
        cfg = ServiceConfig.model_validate(apply_dotted(data, parse_sets(sets or [])))
        tokens = load_tokens(token_file)
        run_service(cfg, tokens)
    except (OSError, ValueError, ValidationError, SandboxError) as exc:
        fail(exc)


@app.command("token")
def token() -> None:
    """Print a new random client token (export it as MATHAGENT_SANDBOX_TOKEN on both sides)."""
    print(secrets.token_urlsafe(32))
