"""``mathagent eval``: the agent over a dataset (resumable), then metrics, predictions, a report and plots."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..agents import check_rerank, critic_spec, open_agent
from ..console import USER_ERRORS, console, fail, progress
from ..options import (
    BackendOpt,
    BaseUrlOpt,
    CellTimeoutOpt,
    CriticOpt,
    CriticTokensOpt,
    MaxTokensOpt,
    MaxToolCallsOpt,
    ModelOpt,
    ModeOpt,
    PromptOpt,
    RerankOpt,
    SandboxOpt,
    TemperatureOpt,
    ThreadsOpt,
    TopClustersOpt,
    agent_config,
    configurable,
)

__all__ = ["eval_cmd"]


@configurable
def eval_cmd(
    dataset: Annotated[str, typer.Argument(help="Dataset file (JSONL/JSON/Parquet) or hub name.")],
    out: Annotated[str, typer.Option("--out", "-o", help="Output folder (resumable).")] = "runs/eval",
    model: ModelOpt = "qwen2.5-coder-1.5b",
    backend: BackendOpt = "auto",
    mode: ModeOpt = None,
    prompt: PromptOpt = None,
    samples: Annotated[
        int | None,
        typer.Option(min=1, help="Samples per problem (maj@k, pass@k; rerank@k with a critic).", show_default="1"),
    ] = None,
    rerank: RerankOpt = None,
    critic_model: CriticOpt = None,
    critic_max_tokens: CriticTokensOpt = None,
    top_clusters: TopClustersOpt = None,
    limit: Annotated[int | None, typer.Option(help="First N problems only.")] = None,
    split: Annotated[str | None, typer.Option(help="Split, for hub datasets.")] = None,
    temperature: TemperatureOpt = None,
    seed: Annotated[int | None, typer.Option(help="Sampling seed.", show_default="0")] = None,
    concurrency: Annotated[int, typer.Option(min=1, help="Problems in flight at once.")] = 4,
    max_tool_calls: MaxToolCallsOpt = None,
    max_tokens: MaxTokensOpt = None,
    cell_timeout: CellTimeoutOpt = None,
    sandbox: SandboxOpt = "jail",
    threads: ThreadsOpt = None,
    base_url: BaseUrlOpt = None,
) -> None:
    """Run the agent over a dataset (resumable) and write metrics.json, predictions.jsonl, report.md, plots."""
    from agent.eval_run import RunSpec, run_eval

    from ..render import print_eval_summary

    try:
        config = agent_config(locals(), base={"seed": 0})
        critic = critic_spec(critic_model, critic_max_tokens)
        check_rerank(config, critic)
        if critic is not None and config.rerank is None:  # recorded as run: the default with a critic
            config = config.model_copy(update={"rerank": "cluster"})
        spec = RunSpec(
            dataset=dataset, split=split, limit=limit, model=model, backend=backend, agent=config, critic=critic
        )
    except USER_ERRORS as exc:
        fail(exc)
    bar = progress("eval", "acc")
    task = bar.add_task("eval", total=None, acc="-")

    def on_progress(done: int, total: int, acc: float) -> None:
        bar.update(task, completed=done, total=total, acc=f"{acc:.1%}")

    def factory():
        return open_agent(
            model,
            backend,
            spec.agent,
            sandbox=sandbox,
            threads=threads,
            base_url=base_url,
            critic=spec.critic,
            concurrency=concurrency,
        )

    try:
        with bar:
            metrics = run_eval(spec, Path(out), agent_factory=factory, on_progress=on_progress)
    except USER_ERRORS as exc:
        fail(exc)
    console.print_json(data={k: v for k, v in metrics.items() if not isinstance(v, dict | list)})
    print_eval_summary(console, metrics)
    console.print(f"report: {Path(out) / 'report.md'}")
