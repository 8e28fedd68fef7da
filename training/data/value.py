"""Outcome labels for the value model (MARIO's outcome value model): 1.0 correct, 0.0 wrong.

The value model reads the prompt and the whole assistant message and learns, at every token of the
assistant message, the probability that the trajectory ends correct; its value at the last token
scores a finished trajectory for re-ranking. The few-shot turns are left out of the prompt by default
(they are the same for every example and only cost compute).

Example:
    >>> ValueOptions().few_shot
    False
"""

from __future__ import annotations

import random
from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict, Field

from eval.trajectory import Trajectory

from .examples import RenderOptions, ValueExample, prompt_messages, trajectory_segments
from .report import BuildReport

__all__ = ["ValueOptions", "build_value_examples"]


class ValueOptions(BaseModel):
    """Which trajectories get outcome labels."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    few_shot: bool = Field(False, description="Keep the prompt's few-shot turns in the value model's input.")
    require_answer: bool = Field(False, description="Only trajectories that ended with an answer.")
    max_per_problem: int | None = Field(None, ge=1, description="Most examples per problem.")
    balance: bool = Field(False, description="Subsample the larger class to the size of the smaller one.")
    seed: int = Field(0, description="Seed of the subsampling.")


def build_value_examples(
    trajs: Iterable[Trajectory], opts: ValueOptions | None = None
) -> tuple[list[ValueExample], BuildReport]:
    """Outcome-labelled examples from graded trajectories; ungraded ones are dropped and counted."""
    opts = opts or ValueOptions()
    render = RenderOptions(few_shot=opts.few_shot)
    report = BuildReport(builder="value")
    per_problem: dict[str, int] = {}
    out: list[ValueExample] = []
    for t in trajs:
        if t.correct is None:
            report.drop("ungraded")
            continue
        if opts.require_answer and t.answer is None:
            report.drop("no_answer")
            continue
        if not t.text.strip():
            report.drop("empty")
            continue
        n = per_problem.get(t.problem_id, 0)
        if opts.max_per_problem is not None and n >= opts.max_per_problem:
            report.drop("over_cap")
            continue
        per_problem[t.problem_id] = n + 1
        out.append(
            ValueExample(
                id=t.id,
                problem_id=t.problem_id,
                messages=prompt_messages(t, render),
                segments=trajectory_segments(t, render),
                label=1.0 if t.correct else 0.0,
            )
        )
    if opts.balance:
        pos = [e for e in out if e.label == 1.0]
        neg = [e for e in out if e.label == 0.0]
        small, large = (pos, neg) if len(pos) <= len(neg) else (neg, pos)
        keep = random.Random(opts.seed).sample(large, len(small))
        report.drop("balance", len(large) - len(small))
        chosen = {id(e) for e in small + keep}
        out = [e for e in out if id(e) in chosen]
    report.keep(len(out))
    report.notes.update(positive=sum(e.label == 1.0 for e in out), negative=sum(e.label == 0.0 for e in out))
    return out, report
