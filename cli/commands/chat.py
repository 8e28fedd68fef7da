"""``mathagent chat``: a conversation whose follow-up questions share the kernel's variables."""

from __future__ import annotations

from ..agents import open_agent
from ..console import USER_ERRORS, console, fail
from ..options import (
    BackendOpt,
    BaseUrlOpt,
    ModelOpt,
    ModeOpt,
    PromptOpt,
    SandboxOpt,
    ThreadsOpt,
    agent_config,
    configurable,
)

__all__ = ["chat"]


@configurable
def chat(
    model: ModelOpt = "qwen2.5-coder-1.5b",
    backend: BackendOpt = "auto",
    mode: ModeOpt = None,
    prompt: PromptOpt = None,
    sandbox: SandboxOpt = "jail",
    threads: ThreadsOpt = None,
    base_url: BaseUrlOpt = None,
) -> None:
    """Chat with the agent; follow-up questions share the kernel's variables."""
    from ..chat_session import run_chat

    try:
        config = agent_config(locals())
        with open_agent(model, backend, config, sandbox=sandbox, threads=threads, base_url=base_url) as agent:
            run_chat(agent, console)
    except USER_ERRORS as exc:
        fail(exc)
