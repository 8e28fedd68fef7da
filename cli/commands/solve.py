"""``mathagent solve``: one problem, streamed: the reasoning, the code and its output, the answer."""

from __future__ import annotations

from typing import Annotated

import typer

from ..agents import check_rerank, critic_spec, open_agent
from ..console import USER_ERRORS, console, fail
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

__all__ = ["solve"]


@configurable
def solve(
    question: Annotated[str, typer.Argument(help="The math problem.")],
    model: ModelOpt = "qwen2.5-coder-1.5b",
    backend: BackendOpt = "auto",
    mode: ModeOpt = None,
    prompt: PromptOpt = None,
    samples: Annotated[int | None, typer.Option(min=1, help="Trajectories; >1 gives a vote (see --rerank).")] = None,
    rerank: RerankOpt = None,
    critic_model: CriticOpt = None,
    critic_max_tokens: CriticTokensOpt = None,
    top_clusters: TopClustersOpt = None,
    temperature: TemperatureOpt = None,
    seed: Annotated[int | None, typer.Option(help="Sampling seed (sample i uses seed + i).")] = None,
    max_tool_calls: MaxToolCallsOpt = None,
    max_tokens: MaxTokensOpt = None,
    cell_timeout: CellTimeoutOpt = None,
    sandbox: SandboxOpt = "jail",
    as_json: Annotated[bool, typer.Option("--json", help="Print the Solution as JSON (no streaming).")] = False,
    threads: ThreadsOpt = None,
    base_url: BaseUrlOpt = None,
) -> None:
    """Solve one problem: streams the reasoning, shows code and outputs, prints the final answer."""
    from ..render import LiveRenderer, print_solution_summary, print_trajectory

    try:
        config = agent_config(locals())
        critic = critic_spec(critic_model, critic_max_tokens)
        check_rerank(config, critic)
        with open_agent(
            model, backend, config, sandbox=sandbox, threads=threads, base_url=base_url, critic=critic
        ) as agent:
            if as_json:
                print(agent.solve(question).model_dump_json(indent=2))
                return
            console.print(f"[bold]Problem:[/] {question}\n")
            if config.samples == 1:
                r = LiveRenderer(console)
                sol = agent.solve(question, stream=r.text, on_event=r.event)
                r.flush()
            else:
                sol = agent.solve(question)
                if sol.trajectory is not None:
                    print_trajectory(console, sol.trajectory)
            print_solution_summary(console, sol)
    except USER_ERRORS as exc:
        fail(exc)
