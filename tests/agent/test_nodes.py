"""Each node of the tool loop alone (agent/nodes.py): a state in, an update out, the settings passed in.

A tiny scheduler stand-in replies with fixed completions; the sandbox stand-ins return fixed results.
tests/agent/test_graph.py runs the wired graph; tests/agent/test_agent_e2e.py a real model on real kernels.
"""

from __future__ import annotations

import asyncio

import pytest

from agent import nodes
from agent.backends.base import Completion
from agent.config import AgentConfig
from agent.nodes import Run
from agent.parsing import FENCE_CLOSE
from agent.state import initial_state
from sandbox.errors import SandboxError
from sandbox.results import ExecResult


class Replies:
    """A scheduler stand-in: returns the given completions in order and records each call's parameters."""

    def __init__(self, *completions: Completion):
        self.completions = list(completions)
        self.calls: list[tuple[str, object]] = []

    async def generate(self, messages, text, params, stream=None):
        self.calls.append((text, params))
        c = self.completions.pop(0)
        if stream:
            stream(0, c.text)
        return c


class Fixed:
    """A sandbox stand-in returning one result (or raising)."""

    def __init__(self, result: ExecResult | Exception):
        self.result = result
        self.codes: list[str] = []

    async def arun(self, code: str) -> ExecResult:
        self.codes.append(code)
        if isinstance(self.result, Exception):
            raise self.result
        return self.result


def state(**kw):
    return {**initial_state([{"role": "user", "content": "q"}], started=1e18), **kw}  # never past wall_time


def go(coro):
    return asyncio.run(coro)


def test_generate_stops_at_a_closed_block_and_drops_an_invented_output() -> None:
    text = "Let me compute.\n```python\nprint(6*7)\n"
    reply = Completion(
        text=text, finish_reason="stop", stop_sequence=FENCE_CLOSE, prompt_tokens=10, completion_tokens=7
    )
    sched = Replies(reply)
    out = go(nodes.generate(state(), Run(seed=3), AgentConfig(temperature=0.5, seed=1), sched))
    assert out["pending_code"].strip() == "print(6*7)" and out["text"].endswith("```\n")
    assert [s.kind for s in out["steps"]] == ["text", "code"]
    assert (out["generations"], out["completion_tokens"], out["limit"]) == (1, 7, None)
    params = sched.calls[0][1]
    assert (params.seed, params.temperature, params.stop) == (3, 0.5, AgentConfig().stop_sequences())


def test_generate_in_cot_runs_no_code_and_counts_the_tool_call_limit() -> None:
    block = Completion(text="```python\nx=1\n", finish_reason="stop", stop_sequence=FENCE_CLOSE)
    out = go(nodes.generate(state(), Run(), AgentConfig(mode="cot"), Replies(block)))
    assert out["pending_code"] is None and [s.kind for s in out["steps"]] == ["text"]
    out = go(nodes.generate(state(tool_calls=2), Run(), AgentConfig(max_tool_calls=2), Replies(block)))
    assert out["limit"] == "max_tool_calls"


def test_generate_reports_the_token_limit_and_a_failed_model_call() -> None:
    c = Completion(text="thinking", finish_reason="length", completion_tokens=20)
    out = go(nodes.generate(state(), Run(), AgentConfig(max_tokens=20), Replies(c)))
    assert out["limit"] == "max_tokens" and out["last_finish"] == "length"
    out = go(nodes.generate(state(), Run(), AgentConfig(), Replies()))  # no completion left: the call raises
    assert out["limit"] == "model_error" and "IndexError" in out["error"]


def test_execute_appends_the_output_block_and_counts_errors() -> None:
    events = []
    run = Run(sandbox=Fixed(ExecResult(stdout="42\n")), on_event=lambda k, p: events.append((k, p)))
    out = go(nodes.execute(state(text="t\n", pending_code="print(42)"), run, AgentConfig()))
    assert out["text"] == "t\n```output\n42\n```\n" and out["tool_calls"] == 1 and out["pending_code"] is None
    assert out["steps"][0].exit_status == "ok" and events == [("code", "print(42)"), ("output", "42")]
    err = ExecResult(error_name="ZeroDivisionError", error_value="division by zero", traceback="ZeroDivisionError")
    out = go(nodes.execute(state(pending_code="1/0"), Run(sandbox=Fixed(err)), AgentConfig()))
    assert out["code_errors"] == 1 and out["sandbox_errors"] == 0 and out["steps"][0].error == "ZeroDivisionError"


@pytest.mark.parametrize(
    ("result", "status", "shown"),
    [
        (ExecResult(timed_out=True, error_name="Timeout"), "timeout", "the code ran longer than 2 s"),
        (ExecResult(), "ok", "[no output: print the values you need]"),
        (SandboxError("service unreachable"), "crashed", "service unreachable"),
    ],
)
def test_execute_says_what_went_wrong(result, status, shown) -> None:
    out = go(nodes.execute(state(pending_code="x"), Run(sandbox=Fixed(result)), AgentConfig(cell_timeout=2)))
    assert out["steps"][0].exit_status == status and shown in out["steps"][0].content
    assert out["sandbox_errors"] == (status != "ok")


def test_execute_cuts_long_output_to_the_settings_limit() -> None:
    out = go(nodes.execute(state(pending_code="x"), Run(sandbox=Fixed(ExecResult(stdout="9" * 500))),
                           AgentConfig(max_output_chars=40)))  # fmt: skip
    assert out["steps"][0].truncated and "characters cut" in out["steps"][0].content


def test_nudge_asks_once_with_few_tokens() -> None:
    sched = Replies(Completion(text=" \\boxed{7}", finish_reason="stop", completion_tokens=3))
    out = go(nodes.nudge(state(text="so it is seven"), Run(), AgentConfig(), sched, "\nFinal answer:"))
    assert out["nudged"] and out["text"] == "so it is seven\n\nFinal answer: \\boxed{7}"
    assert sched.calls[0][1].max_tokens == nodes.NUDGE_TOKENS and sched.calls[0][1].stop == ("\n",)


def test_finish_reads_the_answer_or_the_limit() -> None:
    assert nodes.finish(state(text="\\boxed{5}"), AgentConfig())["status"] == "answered"
    assert nodes.finish(state(text="no idea", limit="max_tokens"), AgentConfig()) == {
        "answer": None, "answer_method": "none", "status": "max_tokens"}  # fmt: skip
    pal = state(text="```python\nprint(12)\n```\n```output\n12\n```\n", tool_calls=1)
    assert nodes.finish(pal, AgentConfig(mode="pal"))["answer"] == "12"
    assert nodes.finish(pal, AgentConfig(mode="tir"))["answer"] is None


def test_routes() -> None:
    tir, pal = AgentConfig(), AgentConfig(mode="pal")
    assert nodes.route_after_generate(state(pending_code="x"), tir, True) == "execute"
    assert nodes.route_after_generate(state(pending_code="x", limit="max_tool_calls"), tir, True) == "nudge"
    assert nodes.route_after_generate(state(text="\\boxed{1}"), tir, True) == "finish"
    assert nodes.route_after_generate(state(last_finish="length"), tir, True) == "generate"
    assert nodes.route_after_generate(state(last_finish="length"), pal, True) == "nudge"
    assert nodes.route_after_generate(state(nudged=True), tir, True) == "finish"
    assert nodes.route_after_generate(state(), tir, False) == "finish"
    assert nodes.route_after_generate(state(limit="model_error", pending_code="x"), tir, True) == "finish"
    assert (nodes.route_after_execute(state(), tir), nodes.route_after_execute(state(), pal)) == ("generate", "finish")


def test_run_reads_langgraph_configurable() -> None:
    run = Run.from_configurable({"sandbox": "s", "seed": 4, "other": 1})
    assert (run.sandbox, run.seed, run.stream, run.on_event) == ("s", 4, None, None)
