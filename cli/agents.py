"""The one place a command's options become an :class:`~agent.agent.Agent` (and its critic)."""

from __future__ import annotations

from typing import Any

from .options import backend_options

__all__ = ["critic_spec", "open_agent", "check_rerank"]


def critic_spec(critic_model: str | None, critic_max_tokens: int | None):
    """The :class:`~agent.critic.CriticSpec` of ``--critic-model`` / ``--critic-max-tokens`` (None: no critic)."""
    if critic_model is None:
        return None
    from agent.critic import CriticSpec

    extra = {} if critic_max_tokens is None else {"max_tokens": critic_max_tokens}
    return CriticSpec(model=critic_model, **extra)


def check_rerank(config: Any, critic: Any) -> None:
    """Refuse a re-ranking method that needs scores when no critic gives them (before loading a model)."""
    from agent.rerank import resolve_method

    resolve_method(config.rerank, critic is not None)


def open_agent(
    model: str,
    backend: str,
    config: Any,
    *,
    sandbox: str,
    threads: int | None,
    base_url: str | None,
    critic: Any = None,
    concurrency: int = 1,
):
    """Load the agent a command runs (the caller closes it: ``with open_agent(...) as agent``)."""
    from agent.agent import Agent

    return Agent(
        model,
        backend,
        config=config,
        critic=critic,
        sandbox=sandbox,
        concurrency=concurrency,
        backend_options=backend_options(backend, threads, base_url),
    )
