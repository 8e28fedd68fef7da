"""The LangGraph state of one problem's run.

Example:
    >>> sorted(AgentState.__annotations__)[:3]
    ['answer', 'answer_method', 'code_errors']
"""

from __future__ import annotations

import operator
from typing import Annotated, TypedDict

from eval.trajectory import Step

__all__ = ["AgentState", "initial_state"]


class AgentState(TypedDict, total=False):
    """Everything the nodes read and write. ``steps`` accumulates (reducer); the rest is replaced."""

    messages: list[dict]  # the prompt: system, few-shot turns, user (fixed during a run)
    text: str  # the assistant message so far, code outputs included
    steps: Annotated[list[Step], operator.add]
    steps_upto: int  # position in ``text`` up to which steps were recorded
    pending_code: str | None  # a closed code block waiting to run
    tool_calls: int
    generations: int
    prompt_tokens: int
    completion_tokens: int
    last_finish: str  # finish reason of the last generation
    nudged: bool
    limit: str | None  # the limit that ended the run, if any
    answer: str | None
    answer_method: str
    status: str
    model_seconds: float
    sandbox_seconds: float
    sandbox_errors: int
    code_errors: int
    started: float  # time.monotonic() at the start
    error: str | None  # a model call that failed


def initial_state(messages: list[dict], started: float, prefill: str = "") -> AgentState:
    """A fresh state for a run; the assistant message starts with ``prefill`` (recorded as model text)."""
    return AgentState(
        messages=messages,
        text=prefill,
        steps=[],
        steps_upto=0,
        pending_code=None,
        tool_calls=0,
        generations=0,
        prompt_tokens=0,
        completion_tokens=0,
        last_finish="",
        nudged=False,
        limit=None,
        answer=None,
        answer_method="none",
        status="no_answer",
        model_seconds=0.0,
        sandbox_seconds=0.0,
        sandbox_errors=0,
        code_errors=0,
        started=started,
        error=None,
    )
