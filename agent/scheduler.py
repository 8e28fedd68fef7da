"""Dynamic batching of generation requests from many problems in flight.

Each problem's graph awaits :meth:`GenerationScheduler.generate`. One worker task takes every request
waiting at that moment (up to ``max_batch``) and hands them to the backend's ``generate_batch`` in a
thread, so the event loop keeps running other problems' sandbox cells while the model works: one
problem's code execution overlaps another's generation. Backends that cannot batch (llama.cpp) get
the requests one at a time, still overlapped with code execution. Backends with continuous batching
(``backend.continuous``, vLLM) get each request as soon as it is made (``backend.submit``): it joins
the engine's running batch and returns when it is done, without waiting for other requests.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import cast

from .backends.base import Backend, Completion, ContinuousBackend, Request, SamplingParams, StreamCallback

__all__ = ["GenerationScheduler"]

logger = logging.getLogger(__name__)


@dataclass
class _Pending:
    request: Request
    params: SamplingParams
    future: asyncio.Future
    stream: StreamCallback | None = None
    loop: asyncio.AbstractEventLoop | None = field(default=None, repr=False)


class GenerationScheduler:
    """Batches concurrent generation requests onto one backend.

    Args:
        backend: The loaded model.
        max_batch: Most requests sent to the backend at once (1 for engines that do not batch).
    """

    def __init__(self, backend: Backend, max_batch: int | None = None) -> None:
        self.backend = backend
        self.max_batch = max_batch or (1 if backend.name == "llamacpp" else 16)
        self._queue: list[_Pending] = []
        self._wake: asyncio.Event | None = None
        self._worker: asyncio.Task | None = None
        self.batches: list[int] = []  # sizes of the batches sent, for tests and stats
        self.busy_seconds = 0.0

    async def generate(
        self,
        messages: Sequence[dict],
        continuation: str,
        params: SamplingParams,
        stream: StreamCallback | None = None,
    ) -> Completion:
        """Queue one request (``params.n`` must be 1) and wait for its completion."""
        if params.n != 1:
            raise ValueError("the scheduler takes one sample per request; send n requests instead")
        loop = asyncio.get_running_loop()
        if stream is None and getattr(self.backend, "continuous", False):
            t0 = loop.time()
            try:
                samples = await asyncio.wrap_future(
                    cast(ContinuousBackend, self.backend).submit(
                        Request(messages=messages, continuation=continuation), params
                    )
                )
            finally:
                self.busy_seconds += loop.time() - t0
            self.batches.append(1)
            return samples[0]
        if self._wake is None or self._worker is None or self._worker.done():
            self._wake = asyncio.Event()
            self._worker = loop.create_task(self._run())
        fut = loop.create_future()
        self._queue.append(_Pending(Request(messages=messages, continuation=continuation), params, fut, stream))
        self._wake.set()
        return await fut

    async def _run(self) -> None:
        assert self._wake is not None  # set before the worker task is created
        while True:
            await self._wake.wait()
            await asyncio.sleep(0)  # let problems that are ready enqueue too
            if not self._queue:
                self._wake.clear()
                continue
            streamed = [p for p in self._queue if p.stream is not None]
            batch = streamed[:1] if streamed else self._queue[: self.max_batch]
            for p in batch:
                self._queue.remove(p)
            if not self._queue:
                self._wake.clear()
            batch = [p for p in batch if not p.future.cancelled()]
            if not batch:
                continue
            loop = asyncio.get_running_loop()
            t0 = loop.time()
            try:
                if batch[0].stream is not None:
                    p = batch[0]
                    results = [
                        await asyncio.to_thread(
                            self.backend.generate,
                            p.request.messages,
                            continuation=p.request.continuation,
                            params=p.params,
                            stream=p.stream,
                        )
                    ]
                else:
                    results = await asyncio.to_thread(
                        self.backend.generate_batch, [p.request for p in batch], [p.params for p in batch]
                    )
            except Exception as exc:  # noqa: BLE001 - the error goes to the problems that caused it
                if len(batch) > 1:
                    # One bad request must not fail its neighbours: run the batch's requests one by one.
                    logger.warning("a batch of %d failed (%s); running its requests one by one", len(batch), exc)
                    await self._one_by_one(batch)
                    continue
                for p in batch:
                    if not p.future.done():
                        p.future.set_exception(exc)
                continue
            finally:
                self.busy_seconds += loop.time() - t0
            self.batches.append(len(batch))
            for p, samples in zip(batch, results, strict=True):
                if not p.future.done():
                    p.future.set_result(samples[0])

    async def _one_by_one(self, batch: list[_Pending]) -> None:
        for p in batch:
            try:
                [samples] = await asyncio.to_thread(self.backend.generate_batch, [p.request], [p.params])
            except Exception as exc:  # noqa: BLE001 - this request's own error
                if not p.future.done():
                    p.future.set_exception(exc)
                continue
            self.batches.append(1)
            if not p.future.done():
                p.future.set_result(samples[0])

    async def aclose(self) -> None:
        """Stop the worker task."""
        if self._worker is not None:
            self._worker.cancel()
            try:
                await self._worker
            except (asyncio.CancelledError, Exception):  # noqa: BLE001
                pass
            self._worker = None
