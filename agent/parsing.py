"""Find the code the model wants run, and format interpreter output for the model.

Example:
    >>> find_code("Let me compute.\\n```python\\nprint(6*7)\\n```\\n")
    CodeBlock(code='print(6*7)', start=16, end=41)
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["CodeBlock", "find_code", "format_output", "FENCE_CLOSE", "OUTPUT_OPEN"]

OUTPUT_OPEN = "```output"
FENCE_CLOSE = "\n```\n"

_BLOCK = re.compile(r"```(?:python|py|python3)[ \t]*\n(.*?)\n```[ \t]*(?:\n|$)", re.DOTALL)


@dataclass(frozen=True)
class CodeBlock:
    """A closed python block in the assistant text: its code and its span (end is just past the fence)."""

    code: str
    start: int
    end: int


def find_code(text: str, start: int = 0) -> CodeBlock | None:
    """The first closed ```python block at or after ``start`` that has no output yet, if any.

    Anything the model wrote after that block (an invented output, say) is to be dropped by the caller.
    """
    m = _BLOCK.search(text, start)
    if m is None:
        return None
    code = m.group(1)
    if not code.strip():
        return find_code(text, m.end())
    return CodeBlock(code=code, start=m.start(), end=m.end())


def format_output(text: str, limit: int = 800) -> tuple[str, bool]:
    """Cut interpreter output to ``limit`` characters, keeping its head and tail; returns (text, truncated).

    Example:
        >>> format_output("x" * 10, limit=6)
        ('xxx\\n... [4 characters cut] ...\\nxxx', True)
    """
    text = text.rstrip("\n")
    if len(text) <= limit:
        return text, False
    half = limit // 2
    return f"{text[:half]}\n... [{len(text) - 2 * half} characters cut] ...\n{text[-half:]}", True
