"""Shared pieces of the collection tests: a scripted model that answers 'What is i+i?', problems, solvers."""

from __future__ import annotations

import json
import re
import threading
from pathlib import Path

from agent.agent import Agent
from agent.backends.base import Completion
from agent.backends.retry import RetryingBackend
from agent.parsing import FENCE_CLOSE
from eval.records import Problem
from tests.fixtures.fakes import ScriptedBackend
from training.collect.spec import CollectOptions, CollectSpec
from training.collect.worker import ProblemSolver


def problems(n: int, start: int = 0) -> list[Problem]:
    return [Problem(id=f"p{i}", question=f"What is {i}+{i}?", answer=str(2 * i), source="t") for i in range(start, n)]


def write_dataset(path: Path, n: int, bad_lines: dict[int, str] | None = None) -> Path:
    """A JSONL dataset (question/answer) of n problems; ``bad_lines`` replaces 1-based lines."""
    lines = [json.dumps({"question": f"What is {i}+{i}?", "answer": 2 * i}) for i in range(n)]
    for lineno, text in (bad_lines or {}).items():
        lines[lineno - 1] = text
    path.write_text("\n".join(lines) + "\n")
    return path


class Adder(ScriptedBackend):
    """Answers 'What is i+i?' right, except for i == 3 (wrong); fails as told.

    Args:
        fail_always: Questions (i values) whose every call raises.
        fail_first: Calls that raise before the model works (a transient outage).
        code: Reply with a code block that runs this code first (tir tests).
    """

    def __init__(self, fail_always=(), fail_first: int = 0, code: str | None = None):
        super().__init__([])
        self.fail_always = set(fail_always)
        self.fail_first = fail_first
        self.code = code
        self.calls = 0
        self.lock = threading.Lock()

    def _complete(self, prompt, params, stream):
        with self.lock:
            self.calls += 1
            self.prompts.append(prompt)
            calls = self.calls
        i = int(re.findall(r"What is (\d+)\+", prompt)[-1])
        if calls <= self.fail_first:
            raise ConnectionError("engine went away")
        if i in self.fail_always:
            raise RuntimeError(f"cannot generate for {i}")
        if self.code is not None and "```output" not in prompt.rsplit("What is", 1)[-1]:
            # the tir prompt's prefill opened the block: write the code and close the fence
            return [Completion(text=self.code, finish_reason="stop", stop_sequence=FENCE_CLOSE, completion_tokens=5)]
        ans = 2 * i if i != 3 else 0
        return [Completion(text=f"The sum is \\boxed{{{ans}}}.", finish_reason="stop", completion_tokens=5)]


def spec(**kw) -> CollectSpec:
    base = {"dataset": "inline", "model": "scripted", "samples": 2, "agent": {"mode": "cot"}}
    base.update(kw)
    return CollectSpec(**base)


def options(**kw) -> CollectOptions:
    base = {"concurrency": 4, "sandbox": "none", "retry_backoff": 0.0, "manifest_every": 0.0}
    base.update(kw)
    return CollectOptions(**base)


def solver_factory(sp: CollectSpec, op: CollectOptions, backend=None, critic=None, calls: list | None = None):
    def make() -> ProblemSolver:
        b = backend or Adder()
        if calls is not None:
            calls.append(b)
        llm = RetryingBackend(b, retries=op.model_retries, backoff=op.retry_backoff)
        agent = Agent(llm=llm, sandbox=op.sandbox, config=sp.agent_config(), pool_size=op.concurrency)
        return ProblemSolver(sp, op, agent, critic)

    return make
