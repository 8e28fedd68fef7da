"""The one small interface every LLM backend implements: text completion of a rendered chat prompt.

A request is chat messages plus an optional partial assistant message to continue (the tool loop
needs this). The backend renders them once with the model's chat template (:mod:`.chat_template`),
then completes the text with the sampling parameters. Results carry token counts and the finish
reason, including which stop sequence ended the text.

Example:
    >>> SamplingParams(max_tokens=16, stop=["```output"]).stop
    ('```output',)
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, field_validator

from .chat_template import ChatTemplate, Message

__all__ = [
    "ContinuousBackend",
    "SamplingParams",
    "Completion",
    "Request",
    "Backend",
    "StreamCallback",
    "StopScanner",
    "truncate_at_stop",
]

logger = logging.getLogger(__name__)

StreamCallback = Callable[[int, str], None]
"""Called as ``callback(sample_index, text_delta)`` while tokens arrive."""


class SamplingParams(BaseModel):
    """How to sample a completion. Frozen, so it can key caches."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_tokens: int = Field(1024, ge=1, description="Most new tokens per sample.")
    temperature: float = Field(0.0, ge=0.0, description="0 is greedy decoding.")
    top_p: float = Field(1.0, gt=0.0, le=1.0, description="Nucleus sampling mass.")
    n: int = Field(1, ge=1, description="Independent samples for the same prompt.")
    seed: int | None = Field(None, description="Seed; sample i uses seed + i, so a seeded run repeats.")
    stop: tuple[str, ...] = Field((), description="Stop sequences; the text returned excludes them.")

    @field_validator("stop", mode="before")
    @classmethod
    def _stop_tuple(cls, v):
        if isinstance(v, str):
            return (v,)
        return tuple(v or ())

    def sample_seed(self, i: int) -> int | None:
        return None if self.seed is None else self.seed + i


class Completion(BaseModel):
    """One sampled continuation."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(description="Generated text, without the stop sequence that ended it.")
    finish_reason: Literal["stop", "length", "error"] = Field(
        description="stop: EOS or a stop sequence; length: max_tokens reached."
    )
    stop_sequence: str | None = Field(None, description="The stop sequence that ended the text, if any.")
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0


class Request(BaseModel):
    """Messages plus an optional partial assistant message to continue."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    messages: tuple[dict[str, str], ...]
    continuation: str = ""

    @field_validator("messages", mode="before")
    @classmethod
    def _messages_tuple(cls, v):
        return tuple(dict(m) for m in v)


def truncate_at_stop(text: str, stop: Sequence[str]) -> tuple[str, str | None]:
    """Cut ``text`` at the earliest stop sequence.

    Example:
        >>> truncate_at_stop("x = 1\\n```output\\n2", ["```output"])
        ('x = 1\\n', '```output')
    """
    best, which = len(text), None
    for s in stop:
        i = text.find(s) if s else -1
        if 0 <= i < best:
            best, which = i, s
    return text[:best], which


class StopScanner:
    r"""Incremental stop-sequence detection for streamed text.

    Text is passed on to ``emit`` only once no stop sequence can start inside it, so a stream never
    shows part of a stop sequence.

    Example:
        >>> out = []
        >>> s = StopScanner(["```output"], out.append)
        >>> s.feed("print(1)\n```out"), s.feed("put\n1")
        (False, True)
        >>> "".join(out), s.text, s.hit
        ('print(1)\n', 'print(1)\n', '```output')
    """

    def __init__(self, stop: Sequence[str], emit: Callable[[str], None] | None = None) -> None:
        self.stop = [s for s in stop if s]
        self.emit = emit
        self.buf = ""
        self.sent = 0
        self.hit: str | None = None

    @property
    def text(self) -> str:
        """The text so far, cut before the stop sequence once one was seen."""
        return self.buf

    def _send(self, upto: int) -> None:
        if upto > self.sent:
            if self.emit is not None:
                self.emit(self.buf[self.sent : upto])
            self.sent = upto

    def feed(self, delta: str) -> bool:
        """Add streamed text; returns True once a stop sequence appeared (stop generating)."""
        self.buf += delta
        cut, which = truncate_at_stop(self.buf, self.stop)
        if which is not None:
            self.buf, self.hit = cut, which
            self._send(len(cut))
            return True
        hold = 0
        for s in self.stop:
            for k in range(min(len(s) - 1, len(self.buf)), hold, -1):
                if self.buf.endswith(s[:k]):
                    hold = k
                    break
        self._send(len(self.buf) - hold)
        return False

    def finish(self) -> str:
        """Flush what was held back; returns the final text."""
        self._send(len(self.buf))
        return self.buf


class ContinuousBackend(Protocol):
    """A backend with continuous batching (``continuous = True``, vLLM): requests join the running batch."""

    def submit(self, request: Request, params: SamplingParams) -> Future: ...


class Backend(ABC):
    """A loaded model that completes rendered chat prompts.

    Subclasses implement :meth:`_complete` (one prompt, ``params.n`` samples, optional streaming)
    and may override :meth:`_complete_batch` when the engine batches many prompts at once.

    In-process engines are not thread-safe: calls from several threads (e.g. the agent's scheduler and a
    critic's sharing one model) run one at a time. Backends that are safe to call concurrently (HTTP
    clients) set ``thread_safe = True``.
    """

    name: str = "base"
    thread_safe: bool = False

    def __init__(self, model_id: str, template: ChatTemplate) -> None:
        self.model_id = model_id
        self.template = template
        self._engine_lock = threading.Lock()
        if template.is_fallback:
            logger.warning("%s has no chat template; using ChatML", model_id)

    # -- public API ---------------------------------------------------------------------------
    def render(self, messages: Sequence[Message], continuation: str = "") -> str:
        """The exact text the model completes."""
        return self.template.render(messages, continuation)

    def generate(
        self,
        messages: Sequence[Message],
        *,
        continuation: str = "",
        params: SamplingParams | None = None,
        stream: StreamCallback | None = None,
    ) -> list[Completion]:
        """Complete one conversation; returns ``params.n`` samples.

        Args:
            messages: Chat messages (system, user, ...).
            continuation: Partial assistant message to continue.
            params: Sampling parameters (defaults: greedy, 1024 tokens).
            stream: ``callback(sample_index, delta)`` called as text arrives.
        """
        params = params or SamplingParams()
        prompt = self.render(messages, continuation)
        with self._serialised():
            t0 = time.perf_counter()
            out = self._complete(prompt, params, stream)
        _stamp(out, t0)
        return out

    def generate_batch(
        self,
        requests: Sequence[Request | tuple[Sequence[Message], str]],
        params: SamplingParams | Sequence[SamplingParams] | None = None,
    ) -> list[list[Completion]]:
        """Complete many conversations, batched where the engine can; one list of samples each.

        Args:
            requests: ``Request`` objects or ``(messages, continuation)`` pairs.
            params: One ``SamplingParams`` for all, or one per request.
        """
        if params is None or isinstance(params, SamplingParams):
            params_list = [params or SamplingParams()] * len(requests)
        else:
            params_list = list(params)
            if len(params_list) != len(requests):
                raise ValueError(f"{len(requests)} requests but {len(params_list)} sampling parameters")
        prompts = [
            self.render(r.messages, r.continuation) if isinstance(r, Request) else self.render(r[0], r[1])
            for r in requests
        ]
        with self._serialised():
            t0 = time.perf_counter()
            out = self._complete_batch(prompts, params_list) if prompts else []
        for samples in out:
            _stamp(samples, t0)
        return out

    def _serialised(self):
        if self.thread_safe:
            return contextlib.nullcontext()
        lock = getattr(self, "_engine_lock", None)  # a subclass that skipped __init__ gets one now
        if lock is None:
            lock = self._engine_lock = threading.Lock()
        return lock

    def close(self) -> None:  # noqa: B027 - optional hook
        """Free the model (and any server process)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.model_id!r})"

    # -- to implement ---------------------------------------------------------------------------
    @abstractmethod
    def _complete(self, prompt: str, params: SamplingParams, stream: StreamCallback | None) -> list[Completion]:
        """Sample ``params.n`` completions of ``prompt`` (already rendered)."""

    def _complete_batch(self, prompts: list[str], params: list[SamplingParams]) -> list[list[Completion]]:
        """Complete ``prompts[i]`` with ``params[i]``; the default runs them one after another."""
        return [self._complete(p, pp, None) for p, pp in zip(prompts, params, strict=True)]


def _stamp(samples: list[Completion], t0: float) -> None:
    dt = time.perf_counter() - t0
    for c in samples:
        if not c.seconds:
            c.seconds = dt
