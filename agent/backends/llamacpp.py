"""llama.cpp backend (llama-cpp-python): the CPU default for GGUF models.

llama-cpp-python must be built with ``CMAKE_ARGS="-DGGML_NATIVE=OFF"`` on CPUs with AMX (the native
build segfaults at the first generation); ``scripts/setup.sh`` does this. It reuses the KV cache of
the longest common prompt prefix, so the tool loop's growing prompt is cheap to extend; saved context
states (:mod:`.llamacpp_states`) keep that true when several conversations take turns on the engine.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable

from ..errors import BackendClosedError
from ..imports import require
from ..models import ResolvedModel
from .base import Backend, Completion, SamplingParams, StopScanner, StreamCallback
from .chat_template import ChatTemplate
from .llamacpp_states import StateCache

__all__ = ["LlamaCppBackend", "default_threads"]

logger = logging.getLogger(__name__)


def default_threads() -> int:
    """``$MATHAGENT_THREADS``, else the number of CPUs."""
    return int(os.environ.get("MATHAGENT_THREADS") or os.cpu_count() or 1)


def _sample_stream(stream: StreamCallback | None, i: int) -> Callable[[str], None] | None:
    """The stream callback of sample ``i``: ``stream(i, delta)``."""
    if stream is None:
        return None
    return lambda delta: stream(i, delta)


class LlamaCppBackend(Backend):
    """A GGUF model in-process through llama-cpp-python.

    Args:
        model: A resolved model of kind ``gguf``.
        n_ctx: Context window in tokens.
        n_threads: CPU threads (default ``$MATHAGENT_THREADS`` or all cores; use 1 beside other work).
        n_batch: Prompt-processing batch size.
        state_cache_mb: Memory for saved context states, so that conversations interleaved on this
            engine (``--concurrency`` > 1) resume from their own KV cache instead of re-processing
            their prompt at every turn; 0 turns it off.
    """

    name = "llamacpp"

    def __init__(
        self,
        model: ResolvedModel,
        *,
        n_ctx: int = 4096,
        n_threads: int | None = None,
        n_batch: int = 512,
        state_cache_mb: int = 1024,
    ):
        if model.kind != "gguf":
            raise ValueError(f"the llamacpp backend needs a GGUF model, got a {model.kind} model: {model.name}")
        llama_cpp = require("llama_cpp", "the llamacpp backend")
        threads = n_threads or default_threads()
        self._closing = threading.Event()
        self.states = StateCache(state_cache_mb << 20)
        self.llm = llama_cpp.Llama(
            model_path=str(model.path),
            n_ctx=n_ctx,
            n_threads=threads,
            n_threads_batch=threads,
            n_batch=n_batch,
            verbose=False,
        )
        meta = self.llm.metadata
        template = ChatTemplate(
            meta.get("tokenizer.chat_template"),
            bos_token=self._token_text(self.llm.token_bos()),
            eos_token=self._token_text(self.llm.token_eos()),
        )
        super().__init__(model.model_id, template)

    def _token_text(self, token_id: int) -> str:
        if token_id < 0:
            return ""
        return self.llm.detokenize([token_id], special=True).decode("utf-8", "replace")

    def tokenize(self, text: str) -> list[int]:
        """Tokens of rendered text; special tokens are parsed, no BOS is added (the template places it)."""
        return self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=True)

    def _complete(self, prompt: str, params: SamplingParams, stream: StreamCallback | None) -> list[Completion]:
        if self._closing.is_set():
            raise BackendClosedError(f"{self.model_id} was closed; load the model again")
        tokens = self.tokenize(prompt)
        n_ctx = self.llm.n_ctx()
        if len(tokens) >= n_ctx:
            raise ValueError(f"prompt has {len(tokens)} tokens; the context window is {n_ctx}")
        out = []
        for i in range(params.n):
            # Stop sequences are scanned here rather than by llama.cpp, which does not say which one hit.
            scanner = StopScanner(params.stop, _sample_stream(stream, i))
            reason = "length"
            self.states.restore(self.llm, tokens)
            chunks = self.llm.create_completion(
                prompt=tokens,
                max_tokens=min(params.max_tokens, n_ctx - len(tokens)),
                temperature=params.temperature,
                top_p=params.top_p,
                top_k=1 if params.temperature == 0 else 40,
                seed=params.sample_seed(i),
                stream=True,
            )
            for chunk in chunks:
                if self._closing.is_set():  # close() waits for this call: end it at this token
                    chunks.close()
                    raise BackendClosedError(f"{self.model_id} was closed during a generation")
                choice = chunk["choices"][0]
                if choice["text"] and scanner.feed(choice["text"]):
                    reason = "stop"
                    break
                if choice.get("finish_reason"):
                    reason = choice["finish_reason"]
            chunks.close()
            self.states.save(self.llm)
            text = scanner.finish()
            n_out = len(self.tokenize(text + (scanner.hit or ""))) if text or scanner.hit else 0
            out.append(
                Completion(
                    text=text,
                    finish_reason="length" if reason == "length" else "stop",
                    stop_sequence=scanner.hit,
                    prompt_tokens=len(tokens),
                    completion_tokens=n_out,
                )
            )
        return out

    def close(self) -> None:
        """Free the model. A generation running in another thread (a job being stopped) ends at its next
        token and raises :class:`BackendClosedError`; the model is freed only after it has let go of it
        (freeing it under a running generation crashes the process)."""
        closing = getattr(self, "_closing", None)
        if closing is not None:
            closing.set()
        with self._serialised():
            llm = getattr(self, "llm", None)
            if llm is not None:
                self.states.clear()
                llm.close()
                self.llm = None
