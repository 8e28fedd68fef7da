"""The tool loop's nodes, one function each: what :mod:`agent.graph` wires into a LangGraph ``StateGraph``.

Every node takes the problem's state, this run's objects (:class:`Run`: the sandbox session, the
sample's seed, the stream callbacks) and the agent's :class:`~agent.config.AgentConfig` as
``settings`` (plus the model's scheduler and the prompt where it needs them), and returns the state
update. None of them reads LangGraph's config, so each can be run and tested alone.

Example:
    >>> from agent.config import AgentConfig
    >>> from agent.state import initial_state
    >>> route_after_execute(initial_state([], 0.0), AgentConfig(mode="pal"))
    'finish'
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from eval.trajectory import Step

from .backends.base import Completion, SamplingParams
from .config import AgentConfig
from .parsing import FENCE_CLOSE, find_code
from .state import AgentState

__all__ = [
    "Run",
    "NUDGE_TOKENS",
    "limit_reached",
    "sampling",
    "generate",
    "execute",
    "nudge",
    "finish",
    "route_after_generate",
    "route_after_execute",
    "extract",
]

logger = logging.getLogger(__name__)

#: Most tokens of the answer asked for by the nudge.
NUDGE_TOKENS = 48


@dataclass(frozen=True)
class Run:
    """The objects of one run (one sample of one problem), apart from its state.

    Attributes:
        sandbox: The problem's session: an object with ``async arun(code) -> ExecResult`` (None in ``cot``).
        seed: This sample's seed (None: the settings' seed).
        stream: ``callback(text_delta)`` for the model's tokens.
        on_event: ``callback(kind, payload)`` for executed code (``code``) and its output (``output``).
    """

    sandbox: Any = None
    seed: int | None = None
    stream: Callable[[str], None] | None = None
    on_event: Callable[[str, str], None] | None = None

    @classmethod
    def from_configurable(cls, configurable: dict[str, Any]) -> Run:
        """The run of LangGraph's ``config["configurable"]`` (keys: sandbox, seed, stream, on_event)."""
        return cls(**{k: configurable.get(k) for k in ("sandbox", "seed", "stream", "on_event")})


def extract(text: str, fallbacks: bool) -> tuple[str | None, str]:
    """The final answer in ``text`` and how it was found (see :func:`eval.extract.extract_answer`)."""
    from eval.extract import extract_answer

    found = extract_answer(text, fallbacks=fallbacks)
    return found.answer, found.method


def limit_reached(state: AgentState, settings: AgentConfig) -> str | None:
    """The token or wall-time limit the run has reached, if any."""
    if state["completion_tokens"] >= settings.max_tokens:
        return "max_tokens"
    if time.monotonic() - state["started"] > settings.wall_time:
        return "wall_time"
    return None


def sampling(settings: AgentConfig, run: Run, max_tokens: int, stop: tuple[str, ...]) -> SamplingParams:
    """Sampling parameters of one generation call of this run."""
    seed = settings.seed if run.seed is None else run.seed
    return SamplingParams(
        max_tokens=max_tokens, temperature=settings.temperature, top_p=settings.top_p, seed=seed, stop=stop
    )


async def _call_model(
    scheduler, state: AgentState, run: Run, text: str, params: SamplingParams
) -> tuple[Completion, float]:
    stream = run.stream
    t0 = time.perf_counter()
    completion = await scheduler.generate(
        state["messages"], text, params, stream=(lambda _i, d: stream(d)) if stream else None
    )
    return completion, time.perf_counter() - t0


def _counted(state: AgentState, c: Completion, seconds: float) -> dict[str, Any]:
    return {
        "generations": state["generations"] + 1,
        "prompt_tokens": state["prompt_tokens"] + c.prompt_tokens,
        "completion_tokens": state["completion_tokens"] + c.completion_tokens,
        "model_seconds": state["model_seconds"] + seconds,
    }


async def generate(state: AgentState, run: Run, settings: AgentConfig, scheduler) -> dict[str, Any]:
    """Continue the assistant message up to a closed code block (to run it) or the end of the turn.

    Anything the model wrote after a code block it has not seen run (an invented output) is dropped.
    A failed model call ends the run with limit ``model_error``.
    """
    budget = settings.max_tokens - state["completion_tokens"]
    update: dict[str, Any] = {"pending_code": None}
    try:
        params = sampling(settings, run, min(settings.max_turn_tokens, budget), settings.stop_sequences())
        c, seconds = await _call_model(scheduler, state, run, state["text"], params)
    except Exception as exc:  # noqa: BLE001 - a failed model call ends this problem, not the job
        logger.warning("model call failed: %s", exc)
        return {"error": f"{type(exc).__name__}: {exc}", "limit": "model_error", "pending_code": None}
    text = state["text"] + c.text + (FENCE_CLOSE if c.stop_sequence == FENCE_CLOSE else "")
    update.update(_counted(state, c, seconds), last_finish=c.finish_reason)
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
    limit = limit_reached({**state, **update}, settings)  # type: ignore[typeddict-item]
    if block is not None and state["tool_calls"] >= settings.max_tool_calls:
        limit = "max_tool_calls"
    update["limit"] = limit
    return update


def _exit_status(result) -> str:
    if result.timed_out:
        return "timeout"
    if result.memory_exceeded:
        return "memory"
    if result.restarted:
        return "crashed"
    return "error" if result.error_name else "ok"


async def execute(state: AgentState, run: Run, settings: AgentConfig) -> dict[str, Any]:
    """Run the pending code block in the problem's kernel and append its output as an ``output`` block."""
    from sandbox.errors import SandboxError
    from sandbox.results import ExecResult

    code = state["pending_code"] or ""
    if run.on_event:
        run.on_event("code", code)
    t0 = time.perf_counter()
    try:
        result = await run.sandbox.arun(code)
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
    if run.on_event:
        run.on_event("output", shown)
    status = _exit_status(result)
    text = state["text"] + f"```output\n{shown.rstrip()}\n```\n"
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


async def nudge(state: AgentState, run: Run, settings: AgentConfig, scheduler, nudge_text: str) -> dict[str, Any]:
    """Ask once for the final answer (the prompt's nudge), with a few tokens, when the run ended without one."""
    text = state["text"]
    if text and not text.endswith("\n"):
        text += "\n"
    text += nudge_text.lstrip("\n") if text.endswith("\n\n") else nudge_text
    update: dict[str, Any] = {"nudged": True, "text": text}
    try:
        c, seconds = await _call_model(scheduler, state, run, text, sampling(settings, run, NUDGE_TOKENS, ("\n",)))
    except Exception as exc:  # noqa: BLE001
        return {**update, "error": f"{type(exc).__name__}: {exc}"}
    update.update(
        _counted(state, c, seconds),
        text=text + c.text,
        steps=[Step(kind="text", content=text[state["steps_upto"] :] + c.text)],
        steps_upto=len(text + c.text),
    )
    return update


def finish(state: AgentState, settings: AgentConfig) -> dict[str, Any]:
    """Read the final answer (in ``pal``, the program's last output line when nothing is boxed) and the status."""
    answer, method = extract(state["text"], settings.answer_fallbacks)
    if settings.mode == "pal" and answer is None and state["tool_calls"]:
        lines = [ln.strip() for ln in state["text"].rsplit("```output\n", 1)[-1].splitlines() if ln.strip()]
        lines = [ln for ln in lines if ln != "```"]
        if lines and not lines[-1].startswith("[") and "Error" not in lines[-1]:
            answer, method = lines[-1], "program_output"
    status = "answered" if answer is not None else (state.get("limit") or "no_answer")
    return {"answer": answer, "answer_method": method, "status": status}


def route_after_generate(state: AgentState, settings: AgentConfig, has_nudge: bool) -> str:
    """The node after ``generate``: execute, generate again (a turn cut mid-thought), nudge or finish."""
    limit = state.get("limit")
    if limit == "model_error":
        return "finish"
    if state["pending_code"] is not None and limit is None:
        return "execute"
    if extract(state["text"], False)[0] is not None:
        return "finish"
    if limit is None and settings.mode == "tir" and state["last_finish"] == "length":
        return "generate"  # a turn ran out of tokens mid-thought: continue the same message
    if not state["nudged"] and has_nudge:
        return "nudge"
    return "finish"


def route_after_execute(state: AgentState, settings: AgentConfig) -> str:
    """The node after ``execute``: ``pal`` runs one program, the other modes go on generating."""
    return "finish" if settings.mode == "pal" else "generate"
