"""Render chat messages with a model's own Jinja chat template, the same way for every backend.

Every backend receives the same rendered text: ``template(messages, add_generation_prompt=True)``
followed by an optional partial assistant message to continue. Backends then tokenize that text with
no extra special tokens (the template already placed them), as Hugging Face's convention is.

Example:
    >>> t = ChatTemplate("{% for m in messages %}<{{ m.role }}>{{ m.content }}{% endfor %}"
    ...                  "{% if add_generation_prompt %}<assistant>{% endif %}")
    >>> t.render([{"role": "user", "content": "hi"}], continuation="Hel")
    '<user>hi<assistant>Hel'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from functools import cached_property

__all__ = ["ChatTemplate", "Message", "FALLBACK_TEMPLATE"]

Message = Mapping[str, str]

# ChatML: used only when a model ships no template (base models); said in a warning by the caller.
FALLBACK_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


class ChatTemplate:
    """A compiled chat template plus the special tokens it may reference.

    Args:
        source: The Jinja template text (from GGUF metadata or ``tokenizer_config.json``).
        bos_token: Text of the BOS token, for templates that write ``{{ bos_token }}``.
        eos_token: Text of the EOS token.
    """

    def __init__(self, source: str | None, bos_token: str = "", eos_token: str = "") -> None:
        self.source = source or FALLBACK_TEMPLATE
        self.is_fallback = not source
        self.bos_token = bos_token
        self.eos_token = eos_token

    @cached_property
    def _template(self):
        from jinja2.ext import loopcontrols
        from jinja2.sandbox import ImmutableSandboxedEnvironment

        def raise_exception(message: str):
            raise ValueError(f"chat template: {message}")

        env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols])
        env.globals["raise_exception"] = raise_exception
        env.globals["strftime_now"] = lambda fmt: datetime.now().strftime(fmt)
        return env.from_string(self.source)

    def render(self, messages: Sequence[Message], continuation: str = "") -> str:
        """Render ``messages`` with the generation prompt, then append ``continuation``.

        Args:
            messages: ``{"role": ..., "content": ...}`` dicts; the last is usually the user's.
            continuation: A partial assistant message that generation continues (the tool loop's
                text so far, with code outputs).
        """
        text = self._template.render(
            messages=[dict(m) for m in messages],
            add_generation_prompt=True,
            bos_token=self.bos_token,
            eos_token=self.eos_token,
        )
        return text + continuation
