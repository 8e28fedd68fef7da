"""What goes into the Math-Critique judge and what comes out: prompt files, the rendered solution, the score.

Critic prompts are YAML files in ``agent/prompts/`` (``critic``: reference-free; ``critic_reference``:
against a reference final answer; ``critic_worked``: against a worked reference solution in prose,
MathUserEval style). A prompt asks for a short critique and a last line ``Score: N`` with N from 1 to 10.

:func:`parse_score` reads the score and never guesses: no score, a score off the 1-10 scale, a
fraction or several different scores give ``score=None`` and a one-line reason.

Example:
    >>> parse_score("The code adds the wrong numbers.\\nScore: 3")
    ScoreParse(score=3, error=None, missing=False)
    >>> parse_score("Score: 7\\nOn reflection, Score: 4").error
    'conflicting scores: 7, 4'
    >>> parse_score("Looks fine.").error
    'no score found'
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from eval.trajectory import Trajectory

from .errors import MathAgentError
from .prompting import PROMPT_DIR, FewShot

__all__ = [
    "CriticPrompt",
    "ScoreParse",
    "load_critic_prompt",
    "parse_score",
    "render_solution",
    "is_worked_solution",
]

_PLACEHOLDER = re.compile(r"\{(question|solution|answer|reference)\}")


class CriticPrompt(BaseModel):
    """A critic prompt file's content."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    description: str = ""
    reference: Literal["none", "answer", "solution"] = Field(
        "none", description="What the template expects in {reference}: nothing, a final answer, a worked solution."
    )
    system: str = ""
    few_shot: tuple[FewShot, ...] = Field((), description="Worked judgements placed before the request.")
    user: str = Field(description="Template with {question}, {solution}, {answer} and (if used) {reference}.")
    id: str = ""

    @model_validator(mode="after")
    def _check_placeholders(self) -> CriticPrompt:
        if "{solution}" not in self.user:
            raise ValueError("the user template has no {solution} placeholder")
        if self.reference != "none" and "{reference}" not in self.user:
            raise ValueError(f"reference is {self.reference!r} but the user template has no {{reference}}")
        return self

    def messages(self, question: str, solution: str, answer: str | None, reference: str | None) -> list[dict]:
        """System, few-shot turns and the filled user message.

        Raises:
            MathAgentError: The prompt needs a reference and none was given.
        """
        if self.reference != "none" and not (reference or "").strip():
            raise MathAgentError(f"critic prompt {self.name!r} needs a reference; none was given")
        values = {
            "question": question.strip(),
            "solution": solution,
            "answer": "(none)" if answer is None else answer,
            "reference": (reference or "").strip(),
        }
        out = [{"role": "system", "content": self.system}] if self.system else []
        for ex in self.few_shot:
            out += [{"role": "user", "content": ex.user}, {"role": "assistant", "content": ex.assistant}]
        out.append({"role": "user", "content": _PLACEHOLDER.sub(lambda m: values[m.group(1)], self.user)})
        return out


@lru_cache(maxsize=32)
def load_critic_prompt(name_or_path: str) -> CriticPrompt:
    """Load a critic prompt by name (``critic``, ``critic_reference``, ``critic_worked``) or from a YAML path.

    Raises:
        MathAgentError: No such prompt, or the file is not a valid critic prompt.
    """
    path = Path(name_or_path)
    if not path.suffix:
        path = PROMPT_DIR / f"{name_or_path}.yaml"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in PROMPT_DIR.glob("critic*.yaml")))
        raise MathAgentError(f"no critic prompt {name_or_path!r}: use one of {known} or a path to a .yaml file")
    raw = path.read_bytes()
    try:
        spec = CriticPrompt.model_validate(yaml.safe_load(raw))
    except ValidationError as exc:
        why = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'file'}: {e['msg']}" for e in exc.errors())
        raise MathAgentError(f"{path}: not a valid critic prompt: {why}") from exc
    except (yaml.YAMLError, ValueError) as exc:
        raise MathAgentError(f"{path}: not a valid critic prompt: {str(exc).splitlines()[0]}") from exc
    return spec.model_copy(update={"id": f"{spec.name}@{hashlib.sha256(raw).hexdigest()[:8]}"})


def is_worked_solution(reference: str) -> bool:
    """Whether a reference reads as a worked solution (prose, several lines) rather than a final answer.

    Example:
        >>> is_worked_solution("\\\\frac{1}{2}")
        False
        >>> is_worked_solution("She sells 16 - 3 - 4 = 9 eggs, so she makes 9 * 2 = 18 dollars.")
        True
    """
    text = reference.strip()
    return "\n" in text or len(text.split()) > 12


def render_solution(traj: Trajectory, max_chars: int = 6000) -> str:
    """The solution as the critic sees it: the assistant message with its code and ```output blocks.

    Longer solutions keep their first two thirds and last third of ``max_chars`` with a marked cut
    (the final answer is at the end).

    Example:
        >>> t = Trajectory(problem_id="p", question="q", model="m", text="x" * 30)
        >>> render_solution(t, max_chars=12)
        'xxxxxxxx\\n[... 18 characters cut ...]\\nxxxx'
    """
    text = traj.text
    if not text.strip() and traj.steps:
        parts = []
        for s in traj.steps:
            if s.kind == "text":
                parts.append(s.content)
            else:
                fence = "```python" if s.kind == "code" else "```output"
                parts.append(f"\n{fence}\n{s.content.strip(chr(10))}\n```\n")
        text = "".join(parts)
    text = text.strip("\n")
    if not text.strip():
        return "(the solution is empty)"
    if len(text) <= max_chars:
        return text
    head, tail = (2 * max_chars) // 3, max_chars // 3
    return f"{text[:head]}\n[... {len(text) - head - tail} characters cut ...]\n{text[len(text) - tail :]}"


# -- score parsing --------------------------------------------------------------------------------

_NUM = r"[-+]?\d+(?:\.\d+)?"
_DEN = r"(?P<den>(?:/|out\s+of)[ \t]*\d+)"
_RANGE = r"(?P<range>[ \t]*(?:-|–|to)[ \t]*\d)"
# Tier 1: a labelled score ("Score: 7", "**Final score:** 8/10", "Rating = [9]"), or [[7]].
_EXPLICIT = (
    re.compile(
        r"(?i)(?<![\w-])(?:final[ \t]+|overall[ \t]+|total[ \t]+)?(?:score|rating|grade)\b[ \t*_]*"
        r"(?:\([^)\n]{0,12}\))?[ \t*_]*[:：=][ \t*_]*[\[(<]?[ \t]*(?P<num>" + _NUM + r")" + _RANGE + r"?"
        r"[ \t]*[\])>]?[ \t*_]*" + _DEN + r"?"
    ),
    re.compile(r"\[\[\s*(?P<num>" + _NUM + r")\s*\]\]" + _DEN + r"?"),
)
# Tier 2: the whole output is a number ("7", "7/10").
_BARE = (re.compile(r"^\s*[\[(]?\s*(?P<num>" + _NUM + r")\s*[\])]?\s*" + _DEN + r"?\s*\.?\s*$"),)
# Tier 3: looser mentions inside the text ("I would score it 6", "a rating of 8", "7/10").
_LOOSE = (
    re.compile(
        r"(?i)\b(?:score|rating|rate[ \t]+(?:it|this(?:[ \t]+solution)?)|give[ \t]+(?:it|this(?:[ \t]+solution)?))"
        r"[ \t]*(?:(?:of|is|as|at|would[ \t]+be|:|=)[ \t]*)?(?:an?[ \t]+)?(?P<num>" + _NUM + r")" + _RANGE + r"?"
        r"[ \t]*" + _DEN + r"?"
    ),
    re.compile(r"(?i)(?<![\w./])(?P<num>" + _NUM + r")[ \t]*(?P<den>(?:/|out[ \t]+of)[ \t]*10)\b"),
)


@dataclass(frozen=True)
class ScoreParse:
    """A parsed score (1-10) or why there is none; ``missing`` when the text names no score at all."""

    score: int | None
    error: str | None = None
    missing: bool = False


def _candidates(text: str, patterns) -> list[tuple[str, str | None]]:
    out = []
    for pat in patterns:
        for m in pat.finditer(text):
            if m.groupdict().get("range"):
                continue  # "Score: 1-10" echoes the scale, it is not a score
            den = m.groupdict().get("den")
            out.append((m.group("num"), re.sub(r"\D", "", den) if den else None))
    return out


def _check(num: str, den: str | None) -> ScoreParse:
    value = float(num)
    shown = f"{num}/{den}" if den else num
    if den is not None and den != "10":
        return ScoreParse(None, f"score {shown} is not on the 1-10 scale")
    if value != int(value):
        return ScoreParse(None, f"score {shown} is not a whole number from 1 to 10")
    if not 1 <= value <= 10:
        return ScoreParse(None, f"score {shown} is out of range 1-10")
    return ScoreParse(int(value))


def parse_score(text: str) -> ScoreParse:
    """The critic's score from its output, or a clear reason why there is none.

    The most explicit form present decides: labels such as ``Score: N`` (or ``[[N]]``), else an output
    that is only a number, else looser mentions (``a score of N``, ``N/10``). Within that form, all
    scores must agree; several different numbers are a conflict, never resolved by picking one.

    Example:
        >>> parse_score("**Score:** 8/10").score, parse_score("I would rate it 6 out of 10.").score
        (8, 6)
        >>> parse_score("Score: 12").error, parse_score("Score: 7.5").error
        ('score 12 is out of range 1-10', 'score 7.5 is not a whole number from 1 to 10')
    """
    for tier in (_EXPLICIT, _BARE, _LOOSE):
        found = _candidates(text, tier)
        if not found:
            continue
        values: list[str] = []
        for num, den in found:
            key = f"{float(num):g}" + (f"/{den}" if den and den != "10" else "")
            if key not in values:
                values.append(key)
        if len(values) > 1:
            return ScoreParse(None, "conflicting scores: " + ", ".join(values))
        return _check(*found[0])
    return ScoreParse(None, "no score found", missing=True)
