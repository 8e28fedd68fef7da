"""Read ToRA-format tool-integrated trajectories as :class:`~eval.trajectory.Trajectory` records.

Two shapes from github.com/microsoft/ToRA are understood (see ``../shared/data/trajectories_sample``):

- the ToRA-Corpus (``examples.jsonl``): ``messages`` (the user problem, then one assistant turn that
  alternates ```` ```python ```` and ```` ```output ```` blocks and ends in ``\\boxed{}``) and ``gt``;
- ToRA's inference outputs (``test_tora_*.jsonl``): ``question``, ``code`` (a list holding the whole
  assistant text), ``gt`` and ``pred``.

The assistant text is split into steps exactly as the agent records them: text, code, output. The
final answer is extracted and graded against ``gt`` by the eval core, so ``correct`` means the same as
for the agent's own trajectories.

Example:
    >>> steps = split_steps("Compute.\\n```python\\nprint(1+1)\\n```\\n```output\\n2\\n```\\nSo \\\\boxed{2}.")
    >>> [(s.kind, s.content) for s in steps]
    [('text', 'Compute.\\n'), ('code', 'print(1+1)'), ('output', '2'), ('text', 'So \\\\boxed{2}.')]
"""

from __future__ import annotations

import re
from typing import Any

from eval.trajectory import Step, Trajectory

__all__ = ["OUTPUT_BLOCK", "is_tora_record", "split_steps", "tora_to_trajectory"]

#: An interpreter output block as ToRA and the agent write it (the trailing newline belongs to it).
OUTPUT_BLOCK = re.compile(r"```output\n(.*?)\n?```[ \t]*(?:\n|$)", re.DOTALL)
_CODE_BLOCK = re.compile(r"```(?:python|py|python3)[ \t]*\n(.*?)\n```[ \t]*(?:\n|$)", re.DOTALL)


def is_tora_record(row: dict[str, Any]) -> bool:
    """Whether a JSON record is in one of ToRA's two shapes (and not a Trajectory)."""
    if "problem_id" in row:
        return False
    return ("messages" in row and "gt" in row) or ("code" in row and "question" in row)


def split_steps(text: str) -> list[Step]:
    """Split an assistant message into text, code and output steps (code and outputs without fences)."""
    steps: list[Step] = []
    pos = 0
    while pos < len(text):
        code = _CODE_BLOCK.search(text, pos)
        out = OUTPUT_BLOCK.search(text, pos)
        first = min((m for m in (code, out) if m is not None), key=lambda m: m.start(), default=None)
        if first is None:
            steps.append(Step(kind="text", content=text[pos:]))
            break
        if first.start() > pos:
            steps.append(Step(kind="text", content=text[pos : first.start()]))
        kind = "code" if first is code else "output"
        steps.append(Step(kind=kind, content=first.group(1), exit_status="ok" if kind == "output" else None))
        pos = first.end()
    return steps


def tora_to_trajectory(row: dict[str, Any], *, source: str, index: int) -> Trajectory:
    """One ToRA record as a Trajectory: question, assistant text and steps, answer graded against ``gt``.

    Args:
        row: The JSON record.
        source: A short name for ids (the file stem).
        index: The record's line number (for ids of records without one).

    Raises:
        ValueError: The record has no question or no assistant text.
    """
    from eval.extract import extract_answer
    from eval.grade import compare

    if "messages" in row:
        msgs = row["messages"]
        user = next((m["content"] for m in msgs if m.get("role") == "user"), None)
        text = next((m["content"] for m in msgs if m.get("role") == "assistant"), None)
        pid = str(row.get("id", index))
    else:
        user = row.get("question")
        code = row.get("code") or []
        text = code[0] if isinstance(code, list) and code else code if isinstance(code, str) else None
        pid = str(row.get("idx", index))
    if not user or not text:
        raise ValueError("a ToRA record needs a user question and an assistant text")
    gt = row.get("gt")
    gold = None if gt is None else str(gt)
    found = extract_answer(text, fallbacks=False)
    steps = split_steps(text)
    n_code = sum(s.kind == "code" for s in steps)
    traj = Trajectory(
        problem_id=f"{source}/{pid}",
        question=user,
        reference=gold,
        model="tora",
        mode="tir",
        messages=[{"role": "user", "content": user}],
        steps=steps,
        text=text,
        answer=found.answer,
        answer_method=found.method,
        status="answered" if found.answer is not None else "no_answer",
        tool_calls=n_code,
    )
    if gold is not None:
        result = compare(traj.answer, gold)
        traj.correct, traj.grader, traj.grade_status = result.correct, result.grader, result.status
    return traj
