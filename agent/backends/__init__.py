"""LLM backends behind one small text-completion interface.

Example:
    >>> sorted(BACKENDS)
    ['llamacpp', 'openai', 'transformers', 'vllm']
"""

from __future__ import annotations

from ..models import ResolvedModel, resolve_model
from .base import Backend, Completion, Request, SamplingParams, StreamCallback
from .chat_template import ChatTemplate

__all__ = [
    "BACKENDS",
    "Backend",
    "ChatTemplate",
    "Completion",
    "Request",
    "SamplingParams",
    "StreamCallback",
    "load_backend",
]

BACKENDS = ("llamacpp", "transformers", "openai", "vllm")


def load_backend(model: str, backend: str = "auto", **options) -> Backend:
    """Load ``model`` on ``backend``.

    Args:
        model: An alias (``smollm2-135m``), a ``.gguf`` file, a checkpoint folder, or a hub id. For
            ``openai``, the name the server expects.
        backend: ``llamacpp`` | ``transformers`` | ``openai`` | ``vllm`` | ``auto`` (GGUF -> llamacpp,
            else transformers).
        options: Backend options (e.g. ``n_threads``, ``n_ctx``; for ``openai``: ``base_url`` and
            ``template_from``, a model whose chat template the server's model uses, default ``model``).

    Raises:
        ModelNotFoundError: Unknown model; the message lists the aliases.
        ValueError: Unknown backend.
    """
    if backend not in (*BACKENDS, "auto"):
        raise ValueError(f"unknown backend {backend!r}; choose one of: {', '.join(BACKENDS)}, auto")
    if backend == "openai":
        from .openai_compat import OpenAIBackend
        from .templates import load_chat_template

        base_url = options.pop("base_url", None)
        if not base_url:
            raise ValueError("the openai backend needs base_url (e.g. http://127.0.0.1:8000/v1)")
        template = options.pop("template", None)
        template_from = options.pop("template_from", None) or model
        if template is None:
            template = load_chat_template(resolve_model(template_from))
        return OpenAIBackend(base_url, model, template, **options)
    resolved: ResolvedModel = resolve_model(model)
    if backend == "auto":
        backend = "llamacpp" if resolved.kind == "gguf" else "transformers"
    if backend == "llamacpp":
        from .llamacpp import LlamaCppBackend

        return LlamaCppBackend(resolved, **options)
    if backend == "transformers":
        from .hf import TransformersBackend

        return TransformersBackend(resolved, **options)
    from .vllm_backend import VLLMBackend

    return VLLMBackend(resolved, **options)
