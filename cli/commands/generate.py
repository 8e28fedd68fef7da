"""``mathagent generate``: one chat completion from a model, streamed (a backend smoke test)."""

from __future__ import annotations

from typing import Annotated

import typer

from common.errors import MathAgentError

from ..console import console, err_console, fail
from ..options import BackendOpt, BaseUrlOpt, ModelOpt, ThreadsOpt, backend_options, configurable

__all__ = ["generate"]


@configurable
def generate(
    prompt: Annotated[str, typer.Argument(help="The user message.")],
    model: ModelOpt = "smollm2-135m",
    backend: BackendOpt = "auto",
    max_tokens: Annotated[int, typer.Option(help="Most new tokens.")] = 256,
    temperature: Annotated[float, typer.Option(help="0 is greedy.")] = 0.0,
    seed: Annotated[int | None, typer.Option(help="Sampling seed.")] = None,
    system: Annotated[str | None, typer.Option(help="System message.")] = None,
    base_url: BaseUrlOpt = None,
    threads: ThreadsOpt = None,
) -> None:
    """Complete one chat message with a model, streaming the answer (a backend smoke test)."""
    from agent.backends import SamplingParams, load_backend

    messages = ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": prompt}]
    try:
        with load_backend(model, backend, **backend_options(backend, threads, base_url)) as llm:
            params = SamplingParams(max_tokens=max_tokens, temperature=temperature, seed=seed)
            [c] = llm.generate(messages, params=params, stream=lambda _i, d: console.print(d, end="", markup=False))
    except MathAgentError as exc:
        fail(exc)
    console.print()
    err_console.print(
        f"[dim]{llm.name} {llm.model_id}: {c.prompt_tokens} prompt + {c.completion_tokens} completion tokens, "
        f"{c.seconds:.1f} s, finish={c.finish_reason}[/]"
    )
