"""A backend wrapper that retries failed model calls with exponential backoff, and can serialize them.

Long jobs (trajectory collection) must not lose a problem to one dropped connection or one engine
hiccup: :class:`RetryingBackend` runs the wrapped backend's ``generate`` / ``generate_batch`` again
after ``backoff * 2**i`` seconds, ``retries`` times, then raises the last error (the tool loop then
records the trajectory as ``model_error`` and the job goes on). With ``lock=True`` every call holds
one thread lock, so two users of one engine that is not thread-safe (llama.cpp) take turns.

Example:
    >>> from tests.fixtures.fakes import ScriptedBackend  # doctest: +SKIP
    >>> RetryingBackend(ScriptedBackend(["4"]), retries=2).name  # doctest: +SKIP
    'scripted'
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import TypeVar, cast

from ..errors import BackendClosedError
from .base import Backend, Completion, ContinuousBackend, Request, SamplingParams, StreamCallback

__all__ = ["RetryingBackend"]

logger = logging.getLogger(__name__)

T = TypeVar("T")


class RetryingBackend(Backend):
    """Wraps a backend: failed calls are retried with exponential backoff.

    Args:
        inner: The backend that does the work (closed by :meth:`close`).
        retries: Extra attempts after the first failure (0: no retry).
        backoff: Seconds before the first retry; doubled for each further one.
        max_backoff: Longest wait between attempts.
        lock: Serialize calls with one thread lock (share a non-thread-safe engine between users).
        sleep: Sleep function (tests pass a fake clock).

    Attributes:
        failures: Calls that failed (each failed attempt counts).
    """

    def __init__(
        self,
        inner: Backend,
        *,
        retries: int = 3,
        backoff: float = 2.0,
        max_backoff: float = 60.0,
        lock: bool = False,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.inner = inner
        self.name = inner.name  # the scheduler sizes batches by engine name
        self.model_id = inner.model_id
        self.template = inner.template
        self.retries = max(0, retries)
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.failures = 0
        self._lock = threading.Lock() if lock else None
        self._sleep = sleep

    def _call(self, fn: Callable[[], T], what: str) -> T:
        for attempt in range(self.retries + 1):
            try:
                if self._lock is None:
                    return fn()
                with self._lock:
                    return fn()
            except BackendClosedError:
                raise  # the job is stopping: another attempt would fail the same way
            except Exception as exc:  # noqa: BLE001 - any engine or transport error is retried
                self.failures += 1
                if attempt == self.retries:
                    raise
                delay = min(self.max_backoff, self.backoff * 2**attempt)
                logger.warning(
                    "%s on %s failed (%s: %s); retry %d of %d in %.1f s",
                    what,
                    self.name,
                    type(exc).__name__,
                    str(exc)[:200],
                    attempt + 1,
                    self.retries,
                    delay,
                )
                self._sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    @property
    def continuous(self) -> bool:
        """Whether the wrapped engine takes requests one at a time into its running batch (vLLM)."""
        return bool(getattr(self.inner, "continuous", False))

    def submit(self, request: Request, params: SamplingParams) -> Future:
        """:meth:`VLLMBackend.submit` with the same retries: a failed request is submitted again after a backoff."""
        outer: Future = Future()

        def attempt(i: int) -> None:
            try:
                inner = cast(ContinuousBackend, self.inner).submit(request, params)
            except Exception as exc:  # noqa: BLE001 - retried below
                failed(i, exc)
                return
            inner.add_done_callback(lambda f: done(i, f))

        def done(i: int, f: Future) -> None:
            exc = f.exception()
            if exc is None:
                outer.set_result(f.result())
            else:
                failed(i, exc)

        def failed(i: int, exc: BaseException) -> None:
            self.failures += 1
            if i >= self.retries or isinstance(exc, BackendClosedError):
                outer.set_exception(exc)
                return
            delay = min(self.max_backoff, self.backoff * 2**i)
            logger.warning(
                "a request on %s failed (%s); retry %d of %d in %.1f s", self.name, exc, i + 1, self.retries, delay
            )
            timer = threading.Timer(delay, attempt, args=(i + 1,))
            timer.daemon = True
            timer.start()

        attempt(0)
        return outer

    def render(self, messages, continuation: str = "") -> str:
        return self.inner.render(messages, continuation)

    def generate(
        self,
        messages,
        *,
        continuation: str = "",
        params: SamplingParams | None = None,
        stream: StreamCallback | None = None,
    ) -> list[Completion]:
        return self._call(
            lambda: self.inner.generate(messages, continuation=continuation, params=params, stream=stream), "generate"
        )

    def generate_batch(
        self,
        requests: Sequence[Request | tuple],
        params: SamplingParams | Sequence[SamplingParams] | None = None,
    ) -> list[list[Completion]]:
        return self._call(lambda: self.inner.generate_batch(requests, params), f"a batch of {len(requests)}")

    def _complete(self, prompt, params, stream):  # pragma: no cover - every call goes to the inner backend
        raise NotImplementedError

    def close(self) -> None:
        self.inner.close()

    def __repr__(self) -> str:
        return f"RetryingBackend({self.inner!r}, retries={self.retries})"
