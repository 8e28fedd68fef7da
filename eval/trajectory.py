"""Trajectory records: what the agent did on one problem, step by step (JSONL on disk).

These records live in ``eval/`` because every room reads them: the agent writes them, the eval core
scores them, the collection jobs store them and the trainers learn from them.

Example:
    >>> t = Trajectory(problem_id="p1", question="1+1?", model="m", steps=[Step(kind="text", content="2")])
    >>> Trajectory.model_validate_json(t.model_dump_json()).steps[0].content
    '2'
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from common.jsonl import read_jsonl

__all__ = ["Step", "Critique", "Timings", "Trajectory", "SCHEMA_VERSION", "read_trajectories"]

SCHEMA_VERSION = 1

ExitStatus = Literal["ok", "error", "timeout", "memory", "crashed"]
Status = Literal["answered", "no_answer", "max_tool_calls", "max_tokens", "wall_time", "model_error"]


class Step(BaseModel):
    """One piece of the assistant message: model text, a code block it wrote, or the interpreter's output."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["text", "code", "output"]
    content: str
    exit_status: ExitStatus | None = Field(None, description="For output steps: how the cell ended.")
    error: str | None = Field(None, description="Error name for failed cells (e.g. ZeroDivisionError).")
    duration: float | None = Field(None, description="Seconds the cell ran.")
    truncated: bool = Field(False, description="The output was cut to the agent's output limit.")
    state_lost: bool = Field(False, description="The kernel was restarted: earlier variables are gone.")


class Critique(BaseModel):
    """A Math-Critique judgement of a trajectory."""

    model_config = ConfigDict(extra="forbid")

    score: int | None = Field(None, description="1-10, None when the critic's output could not be parsed.")
    text: str = ""
    model: str = ""
    with_reference: bool = False
    parse_error: str | None = Field(
        None, description="Why there is no score (no score found, out of range, conflicting scores, model error)."
    )
    prompt_id: str = Field("", description="The critic prompt's name@hash.")
    sample_scores: list[int | None] = Field(
        default_factory=list, description="Scores of each critique sample when the critic sampled several."
    )

    @property
    def mean_score(self) -> float | None:
        """Mean of the parsed sample scores (or the score); None when nothing parsed."""
        parsed = [s for s in self.sample_scores if s is not None]
        if parsed:
            return sum(parsed) / len(parsed)
        return None if self.score is None else float(self.score)


class Timings(BaseModel):
    """Where a problem's wall time went, in seconds."""

    model_config = ConfigDict(extra="forbid")

    total: float = 0.0
    model: float = 0.0
    sandbox: float = 0.0

    @property
    def other(self) -> float:
        return max(0.0, self.total - self.model - self.sandbox)


class Trajectory(BaseModel):
    """One attempt at one problem."""

    model_config = ConfigDict(extra="forbid")

    schema_version: int = SCHEMA_VERSION
    id: str = Field(default_factory=lambda: uuid.uuid4().hex)
    problem_id: str
    sample_index: int = 0
    question: str
    reference: str | None = None
    model: str
    backend: str = ""
    mode: Literal["tir", "cot", "pal"] = "tir"
    sampling: dict = Field(default_factory=dict, description="Sampling parameters of the generations.")
    prompt_id: str = Field("", description="Prompt file name and content hash.")
    messages: list[dict] = Field(default_factory=list, description="The prompt messages (system, few-shot, user).")
    steps: list[Step] = Field(default_factory=list)
    text: str = Field("", description="The full assistant message, code outputs included.")
    answer: str | None = None
    answer_method: str = "none"
    status: Status = "no_answer"
    error: str = Field("", description="Why the run failed, for status model_error (the last exception); '' if none.")
    correct: bool | None = None
    grader: str | None = None
    grade_status: str | None = Field(
        None,
        description="The grader's status: equal, unequal, no_answer, timeout, error or skipped (None: not graded).",
    )
    critique: Critique | None = None
    verifier_score: float | None = Field(
        None, description="Score of the verifier used to re-rank samples (higher = more likely correct; critic: 0-1)."
    )
    prompt_tokens: int = 0
    completion_tokens: int = 0
    generations: int = 0
    tool_calls: int = 0
    sandbox_errors: int = Field(0, description="Cells that failed inside the sandbox itself (timeouts, crashes).")
    code_errors: int = Field(0, description="Cells whose code raised an exception.")
    timings: Timings = Field(default_factory=Timings)
    versions: dict[str, str] = Field(default_factory=dict)
    created_at: str = Field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    @property
    def used_code(self) -> bool:
        """Whether any code block ran."""
        return self.tool_calls > 0


def read_trajectories(path: str | Path) -> list[Trajectory]:
    """Read a trajectories JSONL file (missing: empty); a torn last line (a killed writer) is dropped.

    Raises:
        common.jsonl.JsonlError: A malformed line other than the last, with ``path:line``.
    """
    return read_jsonl(path, Trajectory.model_validate_json, what="trajectory")
