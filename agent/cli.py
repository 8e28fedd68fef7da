"""The ``mathagent`` command line (typer + rich). Library code logs; only this module renders."""

from __future__ import annotations

import json
import logging
import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.table import Table

from .errors import MathAgentError

__all__ = ["app", "main"]

app = typer.Typer(
    name="mathagent",
    help="A tool-augmented math agent: reasons, runs Python in a sandbox, answers in \\boxed{}.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
models_app = typer.Typer(help="List, install and convert models.", invoke_without_command=True)
app.add_typer(models_app, name="models")

console = Console()
err_console = Console(stderr=True)

ModelOpt = Annotated[str, typer.Option("--model", "-m", help="Alias, .gguf file, checkpoint folder, or hub id.")]
BackendOpt = Annotated[
    str, typer.Option("--backend", "-b", help="llamacpp | transformers | openai | vllm | auto.")
]


@app.callback()
def _root(verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log debug details.")] = False) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(message)s",
        handlers=[RichHandler(console=err_console, show_path=False, show_time=False)],
    )


def _fail(exc: Exception) -> None:
    err_console.print(f"[bold red]error:[/] {exc}")
    raise typer.Exit(2)


@models_app.callback()
def models_list(
    ctx: typer.Context, as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False
) -> None:
    """List the packaged model aliases: installed or not, size, path."""
    if ctx.invoked_subcommand is not None:
        return
    from .models import DEFAULT_MODEL, PACKAGED_MODELS, model_status

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
    missing = [r for r in rows if not r["installed"]]
    for r in missing:
        console.print(f"install {r['alias']}: [cyan]mathagent models install {r['alias']}[/]")


@models_app.command("install")
def models_install(
    aliases: Annotated[list[str], typer.Argument(help="Aliases to install.")],
    quiet: Annotated[bool, typer.Option("--quiet", "-q")] = False,
) -> None:
    """pip-install packaged models, then assemble and verify them in the cache."""
    from .models import install_model

    for alias in aliases:
        try:
            path = install_model(alias, quiet=quiet)
        except MathAgentError as exc:
            _fail(exc)
        if not quiet:
            console.print(f"[green]ok[/] {alias}: {path}")


@models_app.command("convert")
def models_convert(
    model: Annotated[str, typer.Argument(help="Alias or .gguf file.")],
    out: Annotated[str | None, typer.Option("--out", help="Output folder (default: in the cache).")] = None,
) -> None:
    """Convert a GGUF model to a Hugging Face checkpoint (for vLLM and training)."""
    from pathlib import Path

    from .backends.convert import gguf_to_hf
    from .models import resolve_model

    try:
        path = gguf_to_hf(resolve_model(model), Path(out) if out else None)
    except MathAgentError as exc:
        _fail(exc)
    console.print(f"[green]ok[/] {path}")


@app.command()
def generate(
    prompt: Annotated[str, typer.Argument(help="The user message.")],
    model: ModelOpt = "smollm2-135m",
    backend: BackendOpt = "auto",
    max_tokens: Annotated[int, typer.Option(help="Most new tokens.")] = 256,
    temperature: Annotated[float, typer.Option(help="0 is greedy.")] = 0.0,
    seed: Annotated[int | None, typer.Option(help="Sampling seed.")] = None,
    system: Annotated[str | None, typer.Option(help="System message.")] = None,
    base_url: Annotated[str | None, typer.Option(help="Server URL for --backend openai.")] = None,
    threads: Annotated[int | None, typer.Option(help="CPU threads.")] = None,
) -> None:
    """Complete one chat message with a model, streaming the answer (a backend smoke test)."""
    from .backends import SamplingParams, load_backend

    options = {"base_url": base_url} if backend == "openai" else {}
    if threads and backend != "openai":
        options["n_threads"] = threads
    messages = ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": prompt}]
    try:
        with load_backend(model, backend, **options) as llm:
            params = SamplingParams(max_tokens=max_tokens, temperature=temperature, seed=seed)
            [c] = llm.generate(messages, params=params, stream=lambda _i, d: console.print(d, end="", markup=False))
    except MathAgentError as exc:
        _fail(exc)
    console.print()
    err_console.print(
        f"[dim]{llm.name} {llm.model_id}: {c.prompt_tokens} prompt + {c.completion_tokens} completion tokens, "
        f"{c.seconds:.1f} s, finish={c.finish_reason}[/]"
    )


def main() -> None:
    """Console entry point."""
    try:
        app()
    except KeyboardInterrupt:
        err_console.print("[yellow]interrupted[/]")
        sys.exit(130)
