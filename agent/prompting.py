"""Prompt files: a system message, optional few-shot turns, the user template and the no-answer nudge.

Prompts live in YAML files (``agent/prompts/<mode>.yaml``), not in code; a path to another file works
too. Each prompt has an id, ``name@hash``, recorded on every trajectory.

Example:
    >>> p = load_prompt("tir")
    >>> p.messages("What is 2+2?", few_shot=False)[-1]
    {'role': 'user', 'content': 'What is 2+2?'}
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field

from .errors import MathAgentError

__all__ = ["PromptSpec", "FewShot", "load_prompt", "PROMPT_DIR"]

PROMPT_DIR = Path(__file__).parent / "prompts"


class FewShot(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    user: str
    assistant: str


class PromptSpec(BaseModel):
    """A prompt file's content."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    description: str = ""
    system: str = ""
    few_shot: tuple[FewShot, ...] = ()
    user: str = Field("{question}", description="User message template; {question} is replaced.")
    nudge: str = Field("", description="Text appended to the assistant message when it ends with no answer.")
    prefill: str = Field("", description="Text the assistant message starts with (the model continues it).")
    id: str = ""

    def messages(self, question: str, *, few_shot: bool = True) -> list[dict[str, str]]:
        """System, few-shot turns (optional) and the user message for ``question``."""
        out = [{"role": "system", "content": self.system}] if self.system else []
        if few_shot:
            for ex in self.few_shot:
                out += [{"role": "user", "content": ex.user}, {"role": "assistant", "content": ex.assistant}]
        out.append({"role": "user", "content": self.user.replace("{question}", question.strip())})
        return out


@lru_cache(maxsize=32)
def load_prompt(name_or_path: str) -> PromptSpec:
    """Load a prompt by mode name (``tir``, ``cot``, ``pal``) or from a YAML file path.

    Raises:
        MathAgentError: No such prompt, or the file is not a valid prompt.
    """
    path = Path(name_or_path)
    if not path.suffix:
        path = PROMPT_DIR / f"{name_or_path}.yaml"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in PROMPT_DIR.glob("*.yaml") if not p.stem.startswith("critic")))
        raise MathAgentError(f"no prompt {name_or_path!r}: use one of {known} or a path to a .yaml file")
    raw = path.read_bytes()
    try:
        data = yaml.safe_load(raw)
        spec = PromptSpec.model_validate(data)
    except (yaml.YAMLError, ValueError) as exc:
        raise MathAgentError(f"{path}: not a valid prompt file: {str(exc).splitlines()[0]}") from exc
    return spec.model_copy(update={"id": f"{spec.name}@{hashlib.sha256(raw).hexdigest()[:8]}"})
