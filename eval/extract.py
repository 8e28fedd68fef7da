"""Final-answer extraction from a model's text: the last ``\\boxed{}``, then marked fallbacks.

Order of the strategies (the first that finds something wins):

1. ``boxed`` / ``fbox``: the last complete ``\\boxed{...}`` or ``\\fbox{...}`` (nested braces are
   balanced; ``\\boxed 5`` without braces takes the next token). An unclosed box at the end of a
   truncated generation is ignored and an earlier complete one is used.
2. Fallbacks, only when ``fallbacks=True`` (callers that want a strict format switch them off):
   ``answer_is`` ("the answer is X", "final answer: X"), ``hashes`` (GSM8K-style ``#### X``),
   ``last_number`` (the last number in the text).

Example:
    >>> extract_answer(r"so $x = \\boxed{\\frac{1}{2}}$.")
    Extraction(answer='\\\\frac{1}{2}', method='boxed')
    >>> extract_answer("The answer is 42.", fallbacks=False).method
    'none'
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

__all__ = ["Extraction", "ExtractionMethod", "extract_answer", "find_boxed", "last_boxed_only"]

ExtractionMethod = Literal["boxed", "fbox", "answer_is", "hashes", "last_number", "none"]

_BOX_RE = re.compile(r"\\(boxed|fbox)(?![A-Za-z])")
_ANSWER_IS_RE = re.compile(
    r"(?:final\s+answer|the\s+answer|answer)\s*(?:is|:|=)\s*:?\s*(?P<ans>.+?)(?:\.\s|\.$|\n|$)",
    re.IGNORECASE,
)
_HASHES_RE = re.compile(r"####\s*(?P<ans>[^\n]+)")
_NUMBER_RE = re.compile(r"-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:\s*/\s*\d+)?|-?\.\d+")


@dataclass(frozen=True, slots=True)
class Extraction:
    """What :func:`extract_answer` found and how.

    Attributes:
        answer: The extracted answer text (stripped), or None when nothing was found.
        method: Which strategy found it; ``"none"`` when nothing was found.
    """

    answer: str | None
    method: ExtractionMethod

    @property
    def found(self) -> bool:
        """Whether an answer was found."""
        return self.answer is not None

    @property
    def is_fallback(self) -> bool:
        """Whether the answer came from a fallback rather than a box."""
        return self.method in ("answer_is", "hashes", "last_number")


def _brace_pairs(text: str) -> dict[int, int]:
    """Index of each ``{`` -> index just past its matching ``}`` (one pass; escaped braces skipped)."""
    pairs: dict[int, int] = {}
    stack: list[int] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            i += 2  # skip escaped characters such as \{ and \}
            continue
        if ch == "{":
            stack.append(i)
        elif ch == "}" and stack:
            pairs[stack.pop()] = i + 1
        i += 1
    return pairs


def find_boxed(text: str) -> list[tuple[str, str]]:
    """All complete boxes in order, as ``(kind, content)`` with kind ``"boxed"`` or ``"fbox"``.

    Args:
        text: Any text.

    Returns:
        The boxes' contents, stripped; unclosed boxes are left out.

    Example:
        >>> find_boxed(r"\\boxed{a{b}} and \\fbox{c} and \\boxed 7 and \\boxed{oops")
        [('boxed', 'a{b}'), ('fbox', 'c'), ('boxed', '7')]
    """
    found: list[tuple[str, str]] = []
    pairs: dict[int, int] | None = None
    for m in _BOX_RE.finditer(text):
        kind = m.group(1)
        i = m.end()
        while i < len(text) and text[i] in " \t":
            i += 1
        if i < len(text) and text[i] == "{":
            if pairs is None:
                pairs = _brace_pairs(text)
            end = pairs.get(i)
            if end is None:
                continue
            content = text[i + 1 : end - 1].strip()
        elif i > m.end():  # "\boxed 5": the next token, up to whitespace, "$" or end of sentence
            tok = re.match(r"[^\s$]+", text[i:])
            if tok is None:
                continue
            content = tok.group(0).rstrip(".,;")
        else:
            continue
        if content:
            found.append((kind, content))
    return found


def last_boxed_only(text: str) -> str | None:
    """The content of the last complete ``\\boxed{}``/``\\fbox{}``, or None.

    Example:
        >>> last_boxed_only(r"\\boxed{1} then \\boxed{2}")
        '2'
    """
    boxes = find_boxed(text)
    return boxes[-1][1] if boxes else None


def _clean_fallback(ans: str) -> str | None:
    ans = ans.strip().strip("$").strip()
    ans = re.sub(r"^\\\(|\\\)$", "", ans).strip()
    ans = ans.rstrip(".;,").strip()
    return ans or None


def extract_answer(text: str | None, *, fallbacks: bool = True) -> Extraction:
    """Extract the final answer of a solution.

    Args:
        text: The model's full output (or any text); None gives ``method="none"``.
        fallbacks: Also try "the answer is", ``####`` and the last number when no box is found.

    Returns:
        An :class:`Extraction` with the answer and the strategy that found it.

    Example:
        >>> extract_answer(r"\\fbox{3} and \\boxed{\\text{(B)}}")
        Extraction(answer='\\\\text{(B)}', method='boxed')
        >>> extract_answer("She pays 3 + 4 = 7 dollars.\\n#### 7")
        Extraction(answer='7', method='hashes')
        >>> extract_answer("total 1,250 apples")
        Extraction(answer='1,250', method='last_number')
    """
    if not text:
        return Extraction(None, "none")
    boxes = find_boxed(text)
    if boxes:
        kind, content = boxes[-1]
        return Extraction(content, "boxed" if kind == "boxed" else "fbox")
    if not fallbacks:
        return Extraction(None, "none")
    matches = list(_ANSWER_IS_RE.finditer(text))
    for m in reversed(matches):
        ans = _clean_fallback(m.group("ans"))
        if ans:
            return Extraction(ans, "answer_is")
    matches = list(_HASHES_RE.finditer(text))
    if matches:
        ans = _clean_fallback(matches[-1].group("ans"))
        if ans:
            return Extraction(ans, "hashes")
    numbers = _NUMBER_RE.findall(text)
    if numbers:
        return Extraction(re.sub(r"\s+", "", numbers[-1]), "last_number")
    return Extraction(None, "none")
