"""transformers backend: Hugging Face checkpoints, GGUF files (dequantized) and LoRA adapter folders.

This is the backend for checkpoints our trainers write. GGUF weights are dequantized to float32 on
load (``gguf_file=``), which needs far more memory than llama.cpp and runs slower; the GGUF quantizer
config is dropped so that the model can be saved and trained. Many prompts are generated in one
left-padded batch.
"""

from __future__ import annotations

import json
import logging

from ..imports import require
from ..models import ResolvedModel
from .base import Backend, Completion, SamplingParams, StopScanner, StreamCallback, truncate_at_stop
from .chat_template import ChatTemplate
from .llamacpp import default_threads

__all__ = ["TransformersBackend", "load_hf_model"]

logger = logging.getLogger(__name__)


def load_hf_model(model: ResolvedModel, *, dtype: str = "float32"):
    """Load ``(tokenizer, model)`` with transformers for a GGUF file, checkpoint or adapter folder, or hub id.

    A GGUF file is dequantized and its quantizer config removed, so the model can be trained and saved.
    """
    require("torch", "the transformers backend")
    transformers = require("transformers", "the transformers backend")
    import torch

    torch_dtype = getattr(torch, dtype)
    kwargs: dict = {"dtype": torch_dtype}
    path = model.path
    if model.kind == "gguf":
        assert path is not None  # local files have a path
        require("gguf", "loading GGUF files with transformers")
        src, kwargs["gguf_file"] = str(path.parent), path.name
        tok_src, tok_kwargs = src, {"gguf_file": path.name}
    elif model.kind == "hf":
        assert path is not None
        src, tok_src, tok_kwargs = str(path), str(path), {}
        adapter = path / "adapter_config.json"
        if adapter.is_file() and not (path / "tokenizer_config.json").is_file():
            tok_src = json.loads(adapter.read_text())["base_model_name_or_path"]
        if adapter.is_file():
            require("peft", "LoRA adapters")
    else:
        src, tok_src, tok_kwargs = model.name, model.name, {}
    tok = transformers.AutoTokenizer.from_pretrained(tok_src, **tok_kwargs)
    lm = transformers.AutoModelForCausalLM.from_pretrained(src, **kwargs)
    quantizer = getattr(lm, "hf_quantizer", None)
    if quantizer is not None and model.kind == "gguf":
        # The weights are already dequantized; without this, save_pretrained and TRL refuse the model.
        quantizer.remove_quantization_config(lm)
    lm.eval()
    return tok, lm


class TransformersBackend(Backend):
    """A model in-process through transformers (CPU or GPU).

    Args:
        model: A resolved model (any kind).
        dtype: Weights dtype name (``float32`` on CPU; ``bfloat16`` on GPUs).
        device: ``cpu``, ``cuda``, ... (default: cuda if available).
        n_threads: torch CPU threads (default ``$MATHAGENT_THREADS`` or all cores).
        batch_size: Most sequences generated in one forward batch.
    """

    name = "transformers"

    def __init__(
        self,
        model: ResolvedModel,
        *,
        dtype: str = "float32",
        device: str | None = None,
        n_threads: int | None = None,
        batch_size: int = 8,
    ):
        torch = require("torch", "the transformers backend")
        torch.set_num_threads(n_threads or default_threads())
        self.tokenizer, self.model = load_hf_model(model, dtype=dtype)
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.model.to(self.device)
        self.batch_size = batch_size
        tok = self.tokenizer
        if tok.pad_token_id is None:
            tok.pad_token = tok.eos_token
        tok.padding_side = "left"
        super().__init__(model.model_id, ChatTemplate(tok.chat_template, tok.bos_token or "", tok.eos_token or ""))

    def _complete(self, prompt: str, params: SamplingParams, stream: StreamCallback | None) -> list[Completion]:
        if stream is not None and params.n == 1:
            return [self._generate_streaming(prompt, params, stream)]
        out = self._generate([prompt] * params.n, params)
        if stream is not None:
            for i, c in enumerate(out):
                stream(i, c.text)
        return out

    def _complete_batch(self, prompts: list[str], params: list[SamplingParams]) -> list[list[Completion]]:
        # Requests that differ only by seed share a batch (seeded from the first of the batch).
        groups: dict[SamplingParams, list[int]] = {}
        for i, p in enumerate(params):
            groups.setdefault(p.model_copy(update={"seed": None}), []).append(i)
        out: list[list[Completion]] = [[] for _ in prompts]
        for key, idx in groups.items():
            n = key.n
            flat = [(i, prompts[i]) for i in idx for _ in range(n)]
            for start in range(0, len(flat), self.batch_size):
                chunk = flat[start : start + self.batch_size]
                seeded = key.model_copy(update={"seed": params[chunk[0][0]].seed})
                for (i, _), c in zip(chunk, self._generate([p for _, p in chunk], seeded), strict=True):
                    out[i].append(c)
        return out

    def _generation_kwargs(self, params: SamplingParams) -> dict:
        kw = dict(max_new_tokens=params.max_tokens, pad_token_id=self.tokenizer.pad_token_id)
        if params.temperature > 0:
            kw.update(do_sample=True, temperature=params.temperature, top_p=params.top_p, top_k=0)
        else:
            kw.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        if params.stop:
            kw.update(stop_strings=list(params.stop), tokenizer=self.tokenizer)
        return kw

    def _seed(self, params: SamplingParams) -> None:
        if params.seed is not None:
            import torch

            torch.manual_seed(params.seed)

    def _generate(self, prompts: list[str], params: SamplingParams) -> list[Completion]:
        import torch

        enc = self.tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False).to(self.device)
        self._seed(params)
        with torch.inference_mode():
            out = self.model.generate(**enc, **self._generation_kwargs(params))
        new = out[:, enc["input_ids"].shape[1] :]
        prompt_lens = enc["attention_mask"].sum(dim=1).tolist()
        eos_ids = set(_as_list(self.model.generation_config.eos_token_id)) | {self.tokenizer.eos_token_id}
        pad = self.tokenizer.pad_token_id
        results = []
        for row, n_in in zip(new.tolist(), prompt_lens, strict=True):
            ended = False
            kept = []
            for t in row:
                if t in eos_ids:
                    ended = True
                    break
                if t == pad and pad not in eos_ids:
                    break
                kept.append(t)
            raw = self.tokenizer.decode(kept, skip_special_tokens=True)
            text, hit = truncate_at_stop(raw, params.stop)
            reason = "stop" if (ended or hit or len(kept) < params.max_tokens) else "length"
            results.append(
                Completion(
                    text=text, finish_reason=reason, stop_sequence=hit, prompt_tokens=n_in, completion_tokens=len(kept)
                )
            )
        return results

    def _generate_streaming(self, prompt: str, params: SamplingParams, stream: StreamCallback) -> Completion:
        import torch
        from transformers.generation.streamers import BaseStreamer

        scanner = StopScanner(params.stop, lambda d: stream(0, d))
        tok = self.tokenizer

        class _Streamer(BaseStreamer):
            def __init__(self):
                self.ids: list[int] = []
                self.first = True
                self.text_len = 0

            def put(self, value):
                if self.first:  # the prompt
                    self.first = False
                    return
                self.ids += value.reshape(-1).tolist()
                text = tok.decode(self.ids, skip_special_tokens=True)
                if not text.endswith("\ufffd"):
                    scanner.feed(text[self.text_len :])
                    self.text_len = len(text)

            def end(self):
                pass

        streamer = _Streamer()
        enc = tok([prompt], return_tensors="pt", add_special_tokens=False).to(self.device)
        self._seed(params)
        with torch.inference_mode():
            self.model.generate(**enc, **self._generation_kwargs(params), streamer=streamer)
        scanner.feed(tok.decode(streamer.ids, skip_special_tokens=True)[streamer.text_len :])
        text = scanner.finish()
        eos_ids = set(_as_list(self.model.generation_config.eos_token_id)) | {tok.eos_token_id}
        n_out = len(streamer.ids)
        ended = bool(streamer.ids) and streamer.ids[-1] in eos_ids
        reason = "stop" if (ended or scanner.hit or n_out < params.max_tokens) else "length"
        return Completion(
            text=text,
            finish_reason=reason,
            stop_sequence=scanner.hit,
            prompt_tokens=enc["input_ids"].shape[1],
            completion_tokens=n_out - int(ended),
        )

    def close(self) -> None:
        self.model = None


def _as_list(x) -> list:
    if x is None:
        return []
    return list(x) if isinstance(x, list | tuple) else [x]
