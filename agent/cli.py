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

from training.cli import app as train_app
from training.collect.cli import app as collect_app

from .errors import MathAgentError
from .sandbox_cli import sandbox_app

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
app.add_typer(sandbox_app, name="sandbox")
app.add_typer(collect_app, name="collect")
app.add_typer(train_app, name="train")

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
    if not verbose:  # one line per HTTP request (servers, the sandbox service) is noise at INFO
        logging.getLogger("httpx").setLevel(logging.WARNING)


def _user_errors() -> tuple[type[Exception], ...]:
    """Errors the CLI prints as one line: ours and the sandbox's (imported only when one is raised)."""
    from sandbox.base import SandboxError

    return (MathAgentError, SandboxError)


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


ModeOpt = Annotated[str, typer.Option("--mode", help="tir: text + interpreter | cot: text only | pal: one program.")]
PromptOpt = Annotated[
    str | None, typer.Option("--prompt", help="A prompt YAML file (or prompt name) in place of the mode's own.")
]
SandboxOpt = Annotated[str, typer.Option("--sandbox", help="Kernel isolation: jail | docker | none | a service URL.")]
RerankOpt = Annotated[
    str | None,
    typer.Option(
        "--rerank",
        help="Choose among samples: majority | weighted (critic-weighted vote) | cluster (Liu et al. 2023) | best. "
        "Default: cluster with --critic-model, else majority.",
    ),
]
CriticOpt = Annotated[
    str | None,
    typer.Option("--critic-model", help="Math-Critique judge that scores each sample (the --model itself shares it)."),
]
TopClustersOpt = Annotated[int, typer.Option("--top-clusters", min=1, help="Clusters kept by --rerank cluster.")]
CriticTokensOpt = Annotated[int, typer.Option("--critic-max-tokens", min=8, help="Most tokens of one critique.")]


def _agent(model, backend, mode, sandbox, threads, base_url, concurrency: int = 1, **config):
    from .solve import Agent

    options: dict = {}
    if backend == "openai":
        options["base_url"] = base_url
    elif threads:
        options["n_threads"] = threads
    return Agent(
        model, backend, sandbox=sandbox, backend_options=options, concurrency=concurrency, mode=mode, **config
    )


def _critic_config(max_tokens: int):
    from .critic import CriticConfig

    return CriticConfig(max_tokens=max_tokens)


def _check_rerank(rerank: str | None, critic_model: str | None) -> None:
    from .rerank import resolve_method

    try:
        resolve_method(rerank, critic_model is not None)
    except MathAgentError as exc:
        _fail(exc)


@app.command()
def solve(
    question: Annotated[str, typer.Argument(help="The math problem.")],
    model: ModelOpt = "qwen2.5-coder-1.5b",
    backend: BackendOpt = "auto",
    mode: ModeOpt = "tir",
    prompt: PromptOpt = None,
    samples: Annotated[int, typer.Option(min=1, help="Trajectories; >1 gives a vote (see --rerank).")] = 1,
    rerank: RerankOpt = None,
    critic_model: CriticOpt = None,
    critic_max_tokens: CriticTokensOpt = 384,
    top_clusters: TopClustersOpt = 2,
    temperature: Annotated[float | None, typer.Option(help="Default 0, or 0.7 with --samples > 1.")] = None,
    seed: Annotated[int | None, typer.Option(help="Sampling seed (sample i uses seed + i).")] = None,
    max_tool_calls: Annotated[int, typer.Option(help="Most code blocks run.")] = 6,
    max_tokens: Annotated[int, typer.Option(help="Most generated tokens per sample.")] = 2048,
    cell_timeout: Annotated[float, typer.Option(help="Seconds per code block.")] = 15.0,
    sandbox: SandboxOpt = "jail",
    as_json: Annotated[bool, typer.Option("--json", help="Print the Solution as JSON (no streaming).")] = False,
    threads: Annotated[int | None, typer.Option(help="CPU threads for the model.")] = None,
    base_url: Annotated[str | None, typer.Option(help="Server URL for --backend openai.")] = None,
) -> None:
    """Solve one problem: streams the reasoning, shows code and outputs, prints the final answer."""
    from .render import LiveRenderer, print_solution_summary, print_trajectory

    _check_rerank(rerank, critic_model)
    config = {"max_tool_calls": max_tool_calls, "cell_timeout": cell_timeout, "seed": seed, "max_tokens": max_tokens,
              "critic": critic_model, "rerank": rerank, "top_clusters": top_clusters,
              "critic_config": _critic_config(critic_max_tokens), "prompt": prompt}
    if temperature is not None:
        config["temperature"] = temperature
    try:
        with _agent(model, backend, mode, sandbox, threads, base_url, **config) as agent:
            if as_json:
                sol = agent.solve(question, samples=samples)
                print(sol.model_dump_json(indent=2))
                return
            console.print(f"[bold]Problem:[/] {question}\n")
            if samples == 1:
                r = LiveRenderer(console)
                sol = agent.solve(question, stream=r.text, on_event=r.event)
                r.flush()
            else:
                sol = agent.solve(question, samples=samples)
                if sol.trajectory is not None:
                    print_trajectory(console, sol.trajectory)
            print_solution_summary(console, sol)
    except _user_errors() as exc:
        _fail(exc)


@app.command()
def chat(
    model: ModelOpt = "qwen2.5-coder-1.5b",
    backend: BackendOpt = "auto",
    mode: ModeOpt = "tir",
    prompt: PromptOpt = None,
    sandbox: SandboxOpt = "jail",
    threads: Annotated[int | None, typer.Option(help="CPU threads for the model.")] = None,
    base_url: Annotated[str | None, typer.Option(help="Server URL for --backend openai.")] = None,
) -> None:
    """Chat with the agent; follow-up questions share the kernel's variables."""
    from .chat import run_chat

    try:
        with _agent(model, backend, mode, sandbox, threads, base_url, prompt=prompt) as agent:
            run_chat(agent, console)
    except _user_errors() as exc:
        _fail(exc)


@app.command("eval")
def eval_cmd(
    dataset: Annotated[str, typer.Argument(help="Dataset file (JSONL/JSON/Parquet) or hub name.")],
    out: Annotated[str, typer.Option("--out", "-o", help="Output folder (resumable).")] = "runs/eval",
    model: ModelOpt = "qwen2.5-coder-1.5b",
    backend: BackendOpt = "auto",
    mode: ModeOpt = "tir",
    prompt: PromptOpt = None,
    samples: Annotated[
        int, typer.Option(min=1, help="Samples per problem (maj@k, pass@k; rerank@k with a critic).")
    ] = 1,
    rerank: RerankOpt = None,
    critic_model: CriticOpt = None,
    critic_max_tokens: CriticTokensOpt = 384,
    top_clusters: TopClustersOpt = 2,
    limit: Annotated[int | None, typer.Option(help="First N problems only.")] = None,
    split: Annotated[str | None, typer.Option(help="Split, for hub datasets.")] = None,
    temperature: Annotated[float | None, typer.Option(help="Default 0, or 0.7 with --samples > 1.")] = None,
    seed: Annotated[int | None, typer.Option(help="Sampling seed.")] = 0,
    concurrency: Annotated[int, typer.Option(min=1, help="Problems in flight at once.")] = 4,
    max_tool_calls: Annotated[int, typer.Option(help="Most code blocks run per problem.")] = 6,
    max_tokens: Annotated[int, typer.Option(help="Most generated tokens per sample.")] = 2048,
    cell_timeout: Annotated[float, typer.Option(help="Seconds per code block.")] = 15.0,
    sandbox: SandboxOpt = "jail",
    threads: Annotated[int | None, typer.Option(help="CPU threads for the model.")] = None,
    base_url: Annotated[str | None, typer.Option(help="Server URL for --backend openai.")] = None,
) -> None:
    """Run the agent over a dataset (resumable) and write metrics.json, predictions.jsonl, report.md, plots."""
    from pathlib import Path

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from eval.run import RunSpec, run_eval

    _check_rerank(rerank, critic_model)
    agent_cfg = {
        "mode": mode, "max_tool_calls": max_tool_calls, "cell_timeout": cell_timeout, "seed": seed,
        "max_tokens": max_tokens,
    }
    if prompt is not None:
        agent_cfg["prompt"] = prompt
    if temperature is not None:
        agent_cfg["temperature"] = temperature
    elif samples > 1:
        agent_cfg["temperature"] = 0.7
    selection: dict = {}
    if critic_model is not None:
        selection = {"critic": {"model": critic_model, "max_tokens": critic_max_tokens}, "rerank": rerank or "cluster",
                     "top_clusters": top_clusters}
    elif rerank is not None:
        selection = {"rerank": rerank}
    spec = RunSpec(dataset=dataset, split=split, limit=limit, model=model, backend=backend, samples=samples,
                   agent=agent_cfg, **selection)
    progress = Progress(
        TextColumn("[bold]eval[/]"), BarColumn(), MofNCompleteColumn(), TextColumn("acc {task.fields[acc]}"),
        TimeRemainingColumn(), console=err_console,
    )
    task = progress.add_task("eval", total=None, acc="-")

    def on_progress(done: int, total: int, acc: float) -> None:
        progress.update(task, completed=done, total=total, acc=f"{acc:.1%}")

    def factory():
        return _agent(model, backend, mode, sandbox, threads, base_url, concurrency=concurrency,
                      critic=critic_model, critic_config=_critic_config(critic_max_tokens), rerank=spec.rerank,
                      top_clusters=spec.top_clusters or 2,
                      **{k: v for k, v in agent_cfg.items() if k != "mode"})

    try:
        with progress:
            metrics = run_eval(spec, Path(out), agent_factory=factory, on_progress=on_progress)
    except (*_user_errors(), ValueError) as exc:
        _fail(exc)
    console.print_json(data={k: v for k, v in metrics.items() if not isinstance(v, dict | list)})
    from .render import print_eval_summary

    print_eval_summary(console, metrics)
    console.print(f"report: {Path(out) / 'report.md'}")


def main() -> None:
    """Console entry point."""
    import signal

    from .interrupts import exit_code, last_signal, sigterm_as_interrupt

    def stopped() -> None:
        sigterm = last_signal() == signal.SIGTERM
        err_console.print("[yellow]terminated (SIGTERM)[/]" if sigterm else "[yellow]interrupted[/]")
        sys.exit(exit_code())

    try:
        with sigterm_as_interrupt():  # `kill PID` stops a job the clean way Ctrl-C does
            app()
    except KeyboardInterrupt:
        stopped()
    except SystemExit as exc:
        if exc.code == 130:  # Typer turns KeyboardInterrupt into exit 130, whichever signal raised it
            stopped()
        raise
