"""Tokenize training records with a model's tokenizer and chat template, with exact loss masks.

The prompt is rendered with the model's own chat template by the agent's renderer
(:class:`agent.backends.ChatTemplate`), exactly as at inference. Then the prompt and every segment of
the assistant message are tokenized *separately* and concatenated, so that each token comes from
exactly one segment and its mask is exact: ``labels`` is the token id where the segment carries loss
(text the model wrote, and the end-of-turn token) and ``-100`` on the prompt, the prefill and every
interpreter output block. Decoding the labelled tokens gives back exactly the model's text.

Example:
    >>> end_of_turn_from_template("{% for m in messages %}<s>{{ m.content }}</s>\\n{% endfor %}", "</s>")
    '</s>'
"""

from __future__ import annotations

import logging
from typing import Any

from .examples import PreferencePair, Segment, SFTExample, ValueExample

__all__ = ["Encoder", "IGNORE", "end_of_turn_from_template"]

logger = logging.getLogger(__name__)

IGNORE = -100
_MARK = "\x00MATHAGENT-END\x00"


def end_of_turn_from_template(source: str, eos_token: str) -> str:
    """The text a chat template puts after an assistant message (its end-of-turn token), else ``eos_token``."""
    from agent.backends.chat_template import ChatTemplate

    tmpl = ChatTemplate(source, "", eos_token)
    try:
        text = tmpl._template.render(  # noqa: SLF001 - the same compiled template the agent uses
            messages=[{"role": "user", "content": "hi"}, {"role": "assistant", "content": _MARK}],
            add_generation_prompt=False,
            bos_token="",
            eos_token=eos_token,
        )
    except Exception:  # noqa: BLE001 - a template that cannot render this: fall back to EOS
        return eos_token
    i = text.rfind(_MARK)
    tail = text[i + len(_MARK) :].strip() if i >= 0 else ""
    return tail.split()[0] if tail else eos_token


class Encoder:
    """Render and tokenize records for one tokenizer.

    Args:
        tokenizer: A Hugging Face tokenizer with a chat template.
        max_length: Longest sequence kept (prompt + completion); longer records are dropped, not cut.
    """

    def __init__(self, tokenizer, max_length: int | None = None) -> None:
        from agent.backends.chat_template import ChatTemplate

        self.tokenizer = tokenizer
        self.max_length = max_length
        self.template = ChatTemplate(tokenizer.chat_template, tokenizer.bos_token or "", tokenizer.eos_token or "")
        if self.template.is_fallback:
            logger.warning("the tokenizer has no chat template: using ChatML")
        self.end_turn = end_of_turn_from_template(self.template.source, tokenizer.eos_token or "")

    def ids(self, text: str) -> list[int]:
        """Token ids of ``text`` with no special tokens added (special-token texts map to their ids)."""
        return self.tokenizer(text, add_special_tokens=False)["input_ids"] if text else []

    def prompt_ids(self, messages: list[dict]) -> list[int]:
        return self.ids(self.template.render(messages))

    def _completion(self, segments: list[Segment], end_turn: bool, kinds) -> tuple[list[int], list[int]]:
        ids: list[int] = []
        mask: list[int] = []
        for seg in segments:
            part = self.ids(seg.text)
            ids += part
            mask += [int(seg.kind in kinds)] * len(part)
        if end_turn:
            part = self.ids(self.end_turn)
            ids += part
            mask += [1] * len(part)
        return ids, mask

    def _too_long(self, n: int) -> bool:
        return self.max_length is not None and n > self.max_length

    def encode_sft(self, ex: SFTExample) -> dict[str, Any] | None:
        """``input_ids`` and ``labels`` (``-100`` where no loss); None when longer than ``max_length``."""
        prompt = self.prompt_ids(ex.messages)
        comp, mask = self._completion(ex.segments, ex.end_turn, ex.train_kinds)
        if self._too_long(len(prompt) + len(comp)):
            return None
        labels = [IGNORE] * len(prompt) + [t if m else IGNORE for t, m in zip(comp, mask, strict=True)]
        return {"input_ids": prompt + comp, "labels": labels}

    def encode_pair(self, pair: PreferencePair) -> dict[str, Any] | None:
        """``prompt_ids``, ``chosen_ids``/``chosen_mask``, ``rejected_ids``/``rejected_mask`` (1 = loss)."""
        prompt = self.prompt_ids(pair.messages)
        chosen, cmask = self._completion(pair.chosen, pair.chosen_end_turn, pair.train_kinds)
        rejected, rmask = self._completion(pair.rejected, pair.rejected_end_turn, pair.train_kinds)
        if self._too_long(len(prompt) + max(len(chosen), len(rejected))):
            return None
        return {
            "prompt_ids": prompt,
            "chosen_ids": chosen,
            "chosen_mask": cmask,
            "rejected_ids": rejected,
            "rejected_mask": rmask,
        }

    def encode_value(self, ex: ValueExample) -> dict[str, Any] | None:
        """``input_ids`` and float ``labels``: the outcome on every assistant token, ``-100`` on the prompt."""
        prompt = self.prompt_ids(ex.messages)
        comp, _ = self._completion(ex.segments, False, ("model",))
        if self._too_long(len(prompt) + len(comp)) or not comp:
            return None
        return {"input_ids": prompt + comp, "labels": [float(IGNORE)] * len(prompt) + [ex.label] * len(comp)}

    def value_input(self, ex: ValueExample) -> list[int]:
        """Token ids a value model scores: the rendered prompt, then the assistant segments (as in training)."""
        return self.prompt_ids(ex.messages) + self._completion(ex.segments, False, ("model",))[0]
