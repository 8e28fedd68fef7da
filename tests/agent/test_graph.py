"""Routing of the tool loop with a scripted model and an exec() stand-in for the kernel.

These check control flow only; tests/agent/test_agent_e2e.py runs a real model on real kernels.
"""

from __future__ import annotations

import asyncio
import time

from agent.config import AgentConfig
from agent.graph import build_graph, recursion_limit
from agent.scheduler import GenerationScheduler
from agent.state import initial_state
from tests.fixtures.fakes import ExecSandbox, ScriptedBackend

MSGS = [{"role": "user", "content": "What is 6*7?"}]


def run(replies, config=None, sandbox=None):
    config = config or AgentConfig()
    backend = ScriptedBackend(replies)
    sandbox = sandbox or ExecSandbox()

    async def go():
        sched = GenerationScheduler(backend)
        graph = build_graph(sched, config)
        state = await graph.ainvoke(
            initial_state(MSGS, time.monotonic()),
            {"configurable": {"sandbox": sandbox}, "recursion_limit": recursion_limit(config)},
        )
        await sched.aclose()
        return state

    return asyncio.run(go()), backend, sandbox


def test_code_runs_and_output_is_appended_then_answer():
    state, backend, sandbox = run([
        "Compute it.\n```python\nx = 6*7\nprint(x)\n```\n```output\n41\n```\nSo 41.",  # invented output dropped
        "The product is 42.\n\\boxed{42}",
    ])
    assert sandbox.codes == ["x = 6*7\nprint(x)"]
    assert "```output\n42\n```\n" in state["text"]
    assert "41" not in state["text"]
    assert state["answer"] == "42" and state["status"] == "answered"
    assert state["tool_calls"] == 1 and state["generations"] == 2
    assert [s.kind for s in state["steps"]] == ["text", "code", "output", "text"]
    assert backend.prompts[1].endswith("```output\n42\n```\n")  # generation continued the same message


def test_variables_persist_across_blocks():
    state, _, sandbox = run([
        "```python\na = 5\nprint(a)\n```\n",
        "```python\nprint(a * 2)\n```\n",
        "\\boxed{10}",
    ])
    assert sandbox.codes == ["a = 5\nprint(a)", "print(a * 2)"]
    assert "```output\n10\n```" in state["text"]
    assert state["answer"] == "10"


def test_errors_go_back_to_the_model():
    state, _, _ = run(["```python\nprint(1/0)\n```\n", "Oops. \\boxed{0}"])
    assert "ZeroDivisionError" in state["text"]
    assert state["code_errors"] == 1
    out = [s for s in state["steps"] if s.kind == "output"][0]
    assert out.exit_status == "error" and out.error == "ZeroDivisionError"


def test_no_answer_gets_one_nudge_then_stops():
    state, backend, _ = run(["I think it is big.", "42}"])
    assert state["nudged"]
    assert state["answer"] == "42"
    assert "\\boxed{" in backend.prompts[1]

    state, _, _ = run(["I think it is big.", "no idea"])
    assert state["answer"] is None and state["status"] == "no_answer"
    assert state["generations"] == 2  # exactly one nudge


def test_max_tool_calls_stops_execution():
    loop = ["```python\nprint(1)\n```\n"] * 10
    state, _, sandbox = run(loop, AgentConfig(max_tool_calls=2))
    assert len(sandbox.codes) == 2
    assert state["status"] in ("max_tool_calls", "answered")


def test_cot_mode_runs_no_code():
    state, _, sandbox = run(["```python\nprint(42)\n```\nSo \\boxed{42}"], AgentConfig(mode="cot"))
    assert sandbox.codes == []
    assert state["answer"] == "42"


def test_pal_mode_answer_is_program_output():
    state, _, sandbox = run(["```python\nprint(6*7)\n```\n"], AgentConfig(mode="pal"))
    assert sandbox.codes == ["print(6*7)"]
    assert state["answer"] == "42" and state["answer_method"] == "program_output"


def test_token_budget_is_a_limit():
    words = " ".join(["word"] * 50)
    state, _, _ = run([words, words, "x"], AgentConfig(max_tokens=40, max_turn_tokens=30))
    assert state["completion_tokens"] <= 40 + 48
    assert state["status"] == "max_tokens"


def test_scheduler_batches_concurrent_requests():
    class Batching(ScriptedBackend):
        name = "batching"

    backend = Batching(["\\boxed{1}"] * 6)
    config = AgentConfig(mode="cot")

    async def go():
        sched = GenerationScheduler(backend, max_batch=8)
        graph = build_graph(sched, config)
        states = await asyncio.gather(*(
            graph.ainvoke(initial_state(MSGS, time.monotonic()), {"configurable": {"sandbox": None}})
            for _ in range(6)
        ))
        await sched.aclose()
        return states, sched.batches

    states, batches = asyncio.run(go())
    assert all(s["answer"] == "1" for s in states)
    assert max(batches) > 1 and sum(batches) == 6
