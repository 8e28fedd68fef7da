"""The tool loop as a LangGraph ``StateGraph``: generate -> execute -> generate ... -> finish.

Tool-integrated reasoning as ToRA, Qwen2.5-Math and NuminaMath use it: the model writes a
```` ```python ```` block; generation stops at the closing fence (or at ```` ```output ````); the
problem's own kernel runs the block; the output is appended as an ```` ```output ```` block and
generation continues the same assistant message. Anything the model wrote after an unexecuted block
(an invented output) is dropped. With no answer at the end, one nudge asks for it, then the run stops.

Per-run objects come through LangGraph's config: ``config["configurable"]["sandbox"]`` (an object
with ``async arun(code) -> ExecResult``), and optional ``"stream"`` (``callback(text_delta)``) and
``"on_event"`` (``callback(kind, payload)`` with kinds ``code`` and ``output``), and ``"seed"`` (this
sample's seed, default ``config.seed``).

Example:
    >>> from agent.config import AgentConfig
    >>> sorted(build_graph(None, AgentConfig()).get_graph().nodes)
    ['__end__', '__start__', 'execute', 'finish', 'generate', 'nudge']
"""

from __future__ import annotations

import logging
import time
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, StateGraph

from eval.trajectory import Step

from .backends.base import SamplingParams
from .config import AgentConfig
from .parsing import FENCE_CLOSE, find_code
from .prompting import load_prompt
from .state import AgentState

__all__ = ["build_graph", "recursion_limit"]

logger = logging.getLogger(__name__)

NUDGE_TOKENS = 48


def recursion_limit(config: AgentConfig) -> int:
    """LangGraph steps a run may take: two per tool call, plus generations without code, nudge, finish."""
    return 4 * config.max_tool_calls + 24


def _extract(text: str, fallbacks: bool) -> tuple[str | None, str]:
    from eval.extract import extract_answer

    found = extract_answer(text, fallbacks=fallbacks)
    return found.answer, found.method


def build_graph(scheduler, config: AgentConfig):
    """Compile the tool loop for one model (through ``scheduler``) and one configuration.

    Args:
        scheduler: A :class:`~agent.scheduler.GenerationScheduler` (shared by all problems in flight).
        config: Mode, limits and sampling.

    Returns:
        A compiled graph; run it with ``await graph.ainvoke(initial_state(...), {"configurable": {...}})``.
    """
    settings = config
    prompt = load_prompt(settings.prompt_name())
    stops = settings.stop_sequences()

    def _limit(state: AgentState) -> str | None:
        if state["completion_tokens"] >= settings.max_tokens:
            return "max_tokens"
        if time.monotonic() - state["started"] > settings.wall_time:
            return "wall_time"
        return None

    def _params(config: RunnableConfig, max_tokens: int, stop: tuple[str, ...]) -> SamplingParams:
        seed = config.get("configurable", {}).get("seed", settings.seed)
        return SamplingParams(
            max_tokens=max_tokens, temperature=settings.temperature, top_p=settings.top_p, seed=seed, stop=stop
        )

    async def _call_model(state: AgentState, config: RunnableConfig, text: str, params: SamplingParams):
        conf = config.get("configurable", {})
        stream = conf.get("stream")
        t0 = time.perf_counter()
        completion = await scheduler.generate(
            state["messages"], text, params, stream=(lambda _i, d: stream(d)) if stream else None
        )
        return completion, time.perf_counter() - t0

    async def generate(state: AgentState, config: RunnableConfig) -> dict[str, Any]:
        budget = settings.max_tokens - state["completion_tokens"]
        update: dict[str, Any] = {"pending_code": None}
        try:
            params = _params(config, min(settings.max_turn_tokens, budget), stops)
            c, seconds = await _call_model(state, config, state["text"], params)
        except Exception as exc:  # noqa: BLE001 - a failed model call ends this problem, not the job
            logger.warning("model call failed: %s", exc)
            return {"error": f"{type(exc).__name__}: {exc}", "limit": "model_error", "pending_code": None}
        text = state["text"] + c.text + (FENCE_CLOSE if c.stop_sequence == FENCE_CLOSE else "")
        update.update(
            generations=state["generations"] + 1,
            prompt_tokens=state["prompt_tokens"] + c.prompt_tokens,
            completion_tokens=state["completion_tokens"] + c.completion_tokens,
            model_seconds=state["model_seconds"] + seconds,
            last_finish=c.finish_reason,
        )
        steps: list[Step] = []
        block = find_code(text, state["steps_upto"]) if settings.mode != "cot" else None
        if block is not None:
            text = text[: block.end]  # drop what the model wrote without having seen the output
            if not text.endswith("\n"):
                text += "\n"
            if prefix := text[state["steps_upto"] : block.start]:
                steps.append(Step(kind="text", content=prefix))
            steps.append(Step(kind="code", content=block.code))
            update.update(pending_code=block.code, steps_upto=len(text))
        elif new := text[state["steps_upto"] :]:
            steps.append(Step(kind="text", content=new))
            update["steps_upto"] = len(text)
        update.update(text=text, steps=steps)
        merged = {**state, **update}
        limit = _limit(merged)
        if block is not None and state["tool_calls"] >= settings.max_tool_calls:
            limit = "max_tool_calls"
        update["limit"] = limit
        return update

    async def execute(state: AgentState, config: RunnableConfig) -> dict[str, Any]:
        conf = config.get("configurable", {})
        sandbox = conf["sandbox"]
        code = state["pending_code"]
        if on_event := conf.get("on_event"):
            on_event("code", code)
        t0 = time.perf_counter()
        from sandbox.errors import SandboxError
        from sandbox.results import ExecResult

        try:
            result = await sandbox.arun(code)
        except SandboxError as exc:  # the sandbox could not work (e.g. its service is unreachable): say so
            logger.warning("the sandbox failed: %s", exc)
            result = ExecResult(error_name=type(exc).__name__, error_value=str(exc), restarted=True)
        seconds = time.perf_counter() - t0
        shown = result.render(max_chars=settings.max_output_chars)
        if result.timed_out:
            note = f"TimeoutError: the code ran longer than {settings.cell_timeout:g} s"
            shown = f"{shown}\n{note}" if shown else note
        if not shown.strip():
            shown = "[no output: print the values you need]"
        if on_event:
            on_event("output", shown)
        status = (
            "timeout"
            if result.timed_out
            else "memory"
            if result.memory_exceeded
            else "crashed"
            if result.restarted
            else "error"
            if result.error_name
            else "ok"
        )
        block = f"```output\n{shown.rstrip()}\n```\n"
        text = state["text"] + block
        step = Step(
            kind="output",
            content=shown,
            exit_status=status,
            error=result.error_name,
            duration=result.duration_s,
            truncated=result.truncated or len(result.render()) > settings.max_output_chars,
            state_lost=result.restarted,
        )
        return {
            "text": text,
            "steps": [step],
            "steps_upto": len(text),
            "pending_code": None,
            "tool_calls": state["tool_calls"] + 1,
            "sandbox_seconds": state["sandbox_seconds"] + seconds,
            "sandbox_errors": state["sandbox_errors"] + (status in ("timeout", "memory", "crashed")),
            "code_errors": state["code_errors"] + (status == "error"),
        }

    async def nudge(state: AgentState, config: RunnableConfig) -> dict[str, Any]:
        text = state["text"]
        if text and not text.endswith("\n"):
            text += "\n"
        text += prompt.nudge.lstrip("\n") if text.endswith("\n\n") else prompt.nudge
        update: dict[str, Any] = {"nudged": True, "text": text}
        try:
            c, seconds = await _call_model(state, config, text, _params(config, NUDGE_TOKENS, ("\n",)))
        except Exception as exc:  # noqa: BLE001
            return {**update, "error": f"{type(exc).__name__}: {exc}"}
        update.update(
            text=text + c.text,
            steps=[Step(kind="text", content=text[state["steps_upto"] :] + c.text)],
            steps_upto=len(text + c.text),
            generations=state["generations"] + 1,
            prompt_tokens=state["prompt_tokens"] + c.prompt_tokens,
            completion_tokens=state["completion_tokens"] + c.completion_tokens,
            model_seconds=state["model_seconds"] + seconds,
        )
        return update

    async def finish(state: AgentState) -> dict[str, Any]:
        answer, method = _extract(state["text"], settings.answer_fallbacks)
        if settings.mode == "pal" and answer is None and state["tool_calls"]:
            lines = [ln.strip() for ln in state["text"].rsplit("```output\n", 1)[-1].splitlines() if ln.strip()]
            lines = [ln for ln in lines if ln != "```"]
            if lines and not lines[-1].startswith("[") and "Error" not in lines[-1]:
                answer, method = lines[-1], "program_output"
        if answer is not None:
            status = "answered"
        else:
            status = state.get("limit") or "no_answer"
        return {"answer": answer, "answer_method": method, "status": status}

    def after_generate(state: AgentState) -> str:
        limit = state.get("limit")
        if limit == "model_error":
            return "finish"
        if state["pending_code"] is not None and limit is None:
            return "execute"
        if _extract(state["text"], False)[0] is not None:
            return "finish"
        if limit is None and settings.mode == "tir" and state["last_finish"] == "length":
            return "generate"  # a turn ran out of tokens mid-thought: continue the same message
        if not state["nudged"] and prompt.nudge:
            return "nudge"
        return "finish"

    def after_execute(state: AgentState) -> str:
        if settings.mode == "pal":
            return "finish"
        return "generate"

    graph = StateGraph(AgentState)
    graph.add_node("generate", generate)
    graph.add_node("execute", execute)
    graph.add_node("nudge", nudge)
    graph.add_node("finish", finish)
    graph.add_edge(START, "generate")
    graph.add_conditional_edges("generate", after_generate, ["execute", "finish", "nudge", "generate"])
    graph.add_conditional_edges("execute", after_execute, ["generate", "finish"])
    graph.add_edge("nudge", "finish")
    graph.add_edge("finish", END)
    return graph.compile()
