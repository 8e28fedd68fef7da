"""OpenAI-compatible server backend (vLLM, llama.cpp's server, SGLang): the completions endpoint.

The chat template is rendered here, client-side, exactly as the in-process backends do, and the
server completes the raw text. Each sample is its own request (seed + i), sent concurrently, so a
batching server (vLLM, SGLang) batches them; llama.cpp's server handles one at a time.
"""

from __future__ import annotations

import json
import logging
import os
from concurrent.futures import ThreadPoolExecutor

import httpx

from ..errors import BackendError
from .base import Backend, Completion, SamplingParams, StopScanner, StreamCallback
from .chat_template import ChatTemplate

__all__ = ["OpenAIBackend"]

logger = logging.getLogger(__name__)


class OpenAIBackend(Backend):
    """Text completion through an OpenAI-compatible ``/v1/completions`` endpoint.

    Args:
        base_url: Server root, e.g. ``http://127.0.0.1:8000/v1``.
        model: The model name the server expects.
        template: The served model's chat template (see :func:`..templates.load_chat_template`).
        api_key: Bearer token (default ``$OPENAI_API_KEY`` or ``EMPTY``).
        timeout: Seconds per request.
        max_concurrency: Requests in flight at once for batches and ``n > 1``.
        retries: Attempts on connection errors and 5xx answers, with exponential backoff.
    """

    name = "openai"
    thread_safe = True  # HTTP requests; the server schedules them

    def __init__(
        self,
        base_url: str,
        model: str,
        template: ChatTemplate,
        *,
        api_key: str | None = None,
        timeout: float = 600.0,
        max_concurrency: int = 8,
        retries: int = 3,
    ):
        super().__init__(model, template)
        self._reports_stop: bool | None = None  # does the server say which stop sequence matched?
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.max_concurrency = max_concurrency
        self.retries = retries
        key = api_key or os.environ.get("OPENAI_API_KEY") or "EMPTY"
        self.client = httpx.Client(base_url=self.base_url, timeout=timeout, headers={"Authorization": f"Bearer {key}"})

    def _body(self, prompt: str, params: SamplingParams, seed: int | None, stream: bool) -> dict:
        body = {
            "model": self.model,
            "prompt": prompt,
            "max_tokens": params.max_tokens,
            "temperature": params.temperature,
            "top_p": params.top_p,
            # llama.cpp's server applies a repeat penalty of 1.1 unless told otherwise (the in-process
            # backends apply none: greedy decoding must match); vLLM ignores the field.
            "repeat_penalty": 1.0,
            "stream": stream,
        }
        if seed is not None:
            body["seed"] = seed
        if params.stop:
            body["stop"] = list(params.stop)
        return body

    def _post(self, body: dict) -> dict:
        import time

        delay = 1.0
        for attempt in range(self.retries):
            try:
                r = self.client.post("/completions", json=body)
                if r.status_code < 500:
                    if r.status_code >= 400:
                        raise BackendError(f"{self.base_url}/completions answered {r.status_code}: {r.text[:300]}")
                    return r.json()
                err = f"{r.status_code}: {r.text[:300]}"
            except httpx.TransportError as exc:
                err = repr(exc)
            if attempt + 1 < self.retries:
                logger.warning("completion request failed (%s); retrying in %.0f s", err, delay)
                time.sleep(delay)
                delay *= 2
        raise BackendError(f"{self.base_url}/completions failed after {self.retries} attempts: {err}")

    def _one(self, prompt: str, params: SamplingParams, i: int) -> Completion:
        if params.stop and self._reports_stop is False:
            return self._streamed(prompt, params, None, i)
        res = self._post(self._body(prompt, params, params.sample_seed(i), stream=False))
        choice = res["choices"][0]
        if "stop_reason" in choice or "matched_stop" in choice:
            self._reports_stop = True
            choice.setdefault("stop_reason", choice.get("matched_stop"))
        elif params.stop and choice.get("finish_reason") == "stop":
            # This server (llama.cpp's) does not say whether a stop sequence or the end of text ended
            # the completion, and the agent needs to know: from now on, stop sequences are found
            # client-side in a stream (the server stops generating when the stream is closed).
            logger.info("%s does not report the matched stop sequence: streaming requests with stops", self.base_url)
            self._reports_stop = False
            return self._streamed(prompt, params, None, i)
        usage = res.get("usage") or {}
        stop_reason = choice.get("stop_reason")  # vLLM reports the matched stop string
        return Completion(
            text=choice["text"],
            finish_reason="length" if choice.get("finish_reason") == "length" else "stop",
            stop_sequence=stop_reason if isinstance(stop_reason, str) else None,
            prompt_tokens=usage.get("prompt_tokens", 0),
            completion_tokens=usage.get("completion_tokens", 0),
        )

    def _streamed(self, prompt: str, params: SamplingParams, stream: StreamCallback | None, i: int = 0) -> Completion:
        # Stop sequences are scanned client-side so that the one that hit is known on every server.
        scanner = StopScanner(params.stop, (lambda d: stream(0, d)) if stream is not None else None)
        body = self._body(prompt, params.model_copy(update={"stop": ()}), params.sample_seed(i), stream=True)
        reason, n_out = "length", 0
        with self.client.stream("POST", "/completions", json=body) as r:
            if r.status_code >= 400:
                r.read()
                raise BackendError(f"{self.base_url}/completions answered {r.status_code}: {r.text[:300]}")
            for line in r.iter_lines():
                if not line.startswith("data:"):
                    continue
                data = line[5:].strip()
                if data == "[DONE]":
                    break
                choice = json.loads(data)["choices"][0]
                n_out += 1
                if choice.get("text") and scanner.feed(choice["text"]):
                    reason = "stop"
                    break
                if choice.get("finish_reason"):
                    reason = choice["finish_reason"]
        return Completion(
            text=scanner.finish(),
            finish_reason="length" if reason == "length" else "stop",
            stop_sequence=scanner.hit,
            completion_tokens=n_out,
        )

    def _complete(self, prompt: str, params: SamplingParams, stream: StreamCallback | None) -> list[Completion]:
        if stream is not None and params.n == 1:
            return [self._streamed(prompt, params, stream)]
        return self._complete_batch([prompt], [params])[0]

    def _complete_batch(self, prompts: list[str], params: list[SamplingParams]) -> list[list[Completion]]:
        jobs = [(k, i) for k, pp in enumerate(params) for i in range(pp.n)]
        with ThreadPoolExecutor(max_workers=max(1, min(self.max_concurrency, len(jobs)))) as pool:
            done = list(pool.map(lambda job: self._one(prompts[job[0]], params[job[0]], job[1]), jobs))
        out: list[list[Completion]] = [[] for _ in prompts]
        for (k, _), c in zip(jobs, done, strict=True):
            out[k].append(c)
        return out

    def close(self) -> None:
        self.client.close()
