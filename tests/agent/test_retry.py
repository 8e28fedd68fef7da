"""RetryingBackend (backoff, then the last error) and the scheduler isolating a failing request from its batch."""

from __future__ import annotations

import asyncio

import pytest

from agent.backends.base import Completion, SamplingParams
from agent.backends.retry import RetryingBackend
from agent.errors import BackendClosedError
from agent.scheduler import GenerationScheduler
from tests.fixtures.fakes import ScriptedBackend


class Flaky(ScriptedBackend):
    """Fails the first ``fail`` calls; a prompt containing 'poison' always fails."""

    def __init__(self, fail: int = 0):
        super().__init__([])
        self.fail = fail
        self.calls = 0

    def _complete(self, prompt, params, stream):
        self.calls += 1
        if self.calls <= self.fail or "poison" in prompt:
            raise ConnectionError(f"call {self.calls} failed")
        return [Completion(text="ok", finish_reason="stop", completion_tokens=1)]


MSG = [{"role": "user", "content": "hi"}]


def test_retries_with_exponential_backoff_then_succeeds():
    waits: list[float] = []
    llm = RetryingBackend(Flaky(fail=2), retries=3, backoff=0.5, sleep=waits.append)
    [c] = llm.generate(MSG)
    assert c.text == "ok" and waits == [0.5, 1.0] and llm.failures == 2 and llm.name == "scripted"


def test_gives_up_with_the_last_error():
    waits: list[float] = []
    llm = RetryingBackend(Flaky(fail=10), retries=2, backoff=1.0, sleep=waits.append)
    with pytest.raises(ConnectionError, match="call 3 failed"):
        llm.generate_batch([(MSG, "")])
    assert waits == [1.0, 2.0]


class Closed(ScriptedBackend):
    def _complete(self, prompt, params, stream):
        raise BackendClosedError("scripted was closed during a generation")


def test_a_closed_engine_is_not_retried():
    """A job that is stopping closes its engine: retrying would only delay the stop by the backoff."""
    waits: list[float] = []
    llm = RetryingBackend(Closed([]), retries=3, backoff=1.0, sleep=waits.append)
    with pytest.raises(BackendClosedError):
        llm.generate(MSG)
    assert waits == [] and llm.failures == 0  # stopping is not an engine failure


def test_a_failing_request_does_not_fail_its_batch_neighbours():
    sched = GenerationScheduler(Flaky(), max_batch=8)

    async def go():
        msgs = [[{"role": "user", "content": t}] for t in ("a", "poison", "b")]
        return await asyncio.gather(
            *(sched.generate(m, "", SamplingParams(max_tokens=4)) for m in msgs), return_exceptions=True
        )

    a, poison, b = asyncio.run(go())
    assert a.text == "ok" and b.text == "ok"
    assert isinstance(poison, ConnectionError)


class Continuous(Flaky):
    """A stand-in for an engine with continuous batching: each request runs on its own as soon as it is submitted."""

    continuous = True

    def __init__(self, fail: int = 0):
        super().__init__(fail)
        from concurrent.futures import ThreadPoolExecutor

        self.pool = ThreadPoolExecutor(4)
        self.submitted = 0

    def submit(self, request, params):
        self.submitted += 1
        return self.pool.submit(self.generate, request.messages, continuation=request.continuation, params=params)


def test_continuous_engines_get_each_request_at_once_with_retries():
    engine = Continuous(fail=1)
    llm = RetryingBackend(engine, retries=2, backoff=0.01)
    sched = GenerationScheduler(llm)

    async def go():
        msgs = [[{"role": "user", "content": t}] for t in ("a", "b", "c")]
        return await asyncio.gather(*(sched.generate(m, "", SamplingParams(max_tokens=4)) for m in msgs))

    out = asyncio.run(go())
    assert [c.text for c in out] == ["ok"] * 3
    assert engine.submitted == 4 and llm.failures == 1  # one request failed once and was submitted again
    engine.pool.shutdown()
