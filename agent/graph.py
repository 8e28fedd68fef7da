"""The tool loop as a LangGraph ``StateGraph``: generate -> execute -> generate ... -> finish.

Tool-integrated reasoning as ToRA, Qwen2.5-Math and NuminaMath use it: the model writes a
```` ```python ```` block; generation stops at the closing fence (or at ```` ```output ````); the
problem's own kernel runs the block; the output is appended as an ```` ```output ```` block and
generation continues the same assistant message. Anything the model wrote after an unexecuted block
(an invented output) is dropped. With no answer at the end, one nudge asks for it, then the run stops.

The nodes are the functions of :mod:`agent.nodes`; this module only wires them. The agent's
:class:`~agent.config.AgentConfig` is called ``settings`` throughout; LangGraph's per-call ``config``
carries this run's objects in ``config["configurable"]`` (``sandbox``: an object with
``async arun(code) -> ExecResult``; optional ``stream``, ``on_event`` and ``seed``), which each node
receives as one :class:`~agent.nodes.Run`.

Example:
    >>> from agent.config import AgentConfig
    >>> sorted(build_graph(None, AgentConfig()).get_graph().nodes)
    ['__end__', '__start__', 'execute', 'finish', 'generate', 'nudge']
"""

from __future__ import annotations

from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, StateGraph

from . import nodes
from .config import AgentConfig
from .nodes import Run
from .prompting import load_prompt
from .state import AgentState

__all__ = ["build_graph", "recursion_limit"]


def recursion_limit(settings: AgentConfig) -> int:
    """LangGraph steps a run may take: two per tool call, plus generations without code, nudge, finish."""
    return 4 * settings.max_tool_calls + 24


def _run(config: RunnableConfig) -> Run:
    return Run.from_configurable(dict(config.get("configurable") or {}))


def build_graph(scheduler, settings: AgentConfig):
    """Compile the tool loop for one model (through ``scheduler``) and one configuration.

    Args:
        scheduler: A :class:`~agent.scheduler.GenerationScheduler` (shared by all problems in flight).
        settings: Mode, limits and sampling.

    Returns:
        A compiled graph; run it with ``await graph.ainvoke(initial_state(...), {"configurable": {...}})``.
    """
    prompt = load_prompt(settings.prompt_name())

    async def generate(state: AgentState, config: RunnableConfig) -> dict[str, Any]:
        return await nodes.generate(state, _run(config), settings, scheduler)

    async def execute(state: AgentState, config: RunnableConfig) -> dict[str, Any]:
        return await nodes.execute(state, _run(config), settings)

    async def nudge(state: AgentState, config: RunnableConfig) -> dict[str, Any]:
        return await nodes.nudge(state, _run(config), settings, scheduler, prompt.nudge)

    async def finish(state: AgentState) -> dict[str, Any]:
        return nodes.finish(state, settings)

    graph = StateGraph(AgentState)
    graph.add_node("generate", generate)
    graph.add_node("execute", execute)
    graph.add_node("nudge", nudge)
    graph.add_node("finish", finish)
    graph.add_edge(START, "generate")
    graph.add_conditional_edges(
        "generate",
        lambda state: nodes.route_after_generate(state, settings, bool(prompt.nudge)),
        ["execute", "finish", "nudge", "generate"],
    )
    graph.add_conditional_edges(
        "execute", lambda state: nodes.route_after_execute(state, settings), ["generate", "finish"]
    )
    graph.add_edge("nudge", "finish")
    graph.add_edge("finish", END)
    return graph.compile()
