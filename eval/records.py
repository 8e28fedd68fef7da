"""Problem records: one question with its reference answer and a stable id.

Ids. A problem's id is ``<source>/<split>/<key>``: ``key`` is the dataset's own id when it has one
(MATH500's ``unique_id`` ``test/precalculus/807.json`` gives ``math500/test/precalculus/807``), else
the 0-based record index in the file (``gsm8k/test/0``). Ids are stable as long as the file is; for
identity across files and versions (de-duplication, train/test overlap) use :func:`content_hash`,
which :func:`eval.datasets.load_problems` stores in ``metadata["content_hash"]``.

Example:
    >>> p = Problem(id="gsm8k/test/0", question="1+1?", answer="2", source="gsm8k")
    >>> Problem.model_validate_json(p.model_dump_json()) == p
    True
    >>> content_hash("1+1?")
    'cfe29f43bcc21dd4'
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["Problem", "content_hash", "make_id"]


class Problem(BaseModel):
    """One problem: a stable id, the question, the reference answer (if any), where it came from."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(description="Stable id, '<source>/<split>/<key>' (see the module docstring).")
    question: str = Field(description="The problem statement as given to the model.")
    answer: str | None = Field(None, description="Reference final answer (a LaTeX string or number); None if unknown.")
    source: str = Field("", description="Dataset name, e.g. 'gsm8k' or 'math500', or the file it came from.")
    metadata: dict[str, Any] = Field(
        default_factory=dict, description="Anything else: subject, level, reference solution, content_hash, ..."
    )


def content_hash(question: str) -> str:
    """A 16-hex-digit hash of the question, insensitive to whitespace and Unicode normal form.

    Example:
        >>> content_hash("1+1?") == content_hash("  1+1? \\n")
        True
    """
    text = unicodedata.normalize("NFKC", question)
    text = re.sub(r"\s+", " ", text).strip()
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def make_id(source: str, split: str | None, key: object) -> str:
    """``<source>/<split>/<key>``; a key ending in ``.json`` loses the suffix, a key that already starts
    with the split does not repeat it.

    Example:
        >>> make_id("math500", "test", "test/precalculus/807.json"), make_id("gsm8k", "test", 3)
        ('math500/test/precalculus/807', 'gsm8k/test/3')
    """
    k = str(key).strip().strip("/")
    k = re.sub(r"\.json$", "", k)
    parts = [source.strip("/")]
    if split and not (k == split or k.startswith(split + "/")):
        parts.append(split)
    parts.append(k)
    return "/".join(p for p in parts if p)
