"""Critic fine-tuning examples: the critic's prompt for a trajectory, its critique and score as target.

The critic learns from the model's own critiques (ChatGLM-Math's Math-Critique, trained from the model
itself): critiques written *with* the reference answer, whose score agrees with the grader, become the
targets of the *reference-free* prompt, so the trained critic judges unseen problems as well as the
reference-guided one judged these. The prompt is the critic's own (``agent.critic``), so training and
use match.

Example:
    >>> CriticOptions().reference_free
    True
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from pydantic import BaseModel, ConfigDict, Field

from eval.trajectory import Critique, Trajectory

from .examples import Segment, SFTExample
from .report import BuildReport

__all__ = ["CriticOptions", "build_critic_examples", "critic_messages", "critic_target"]

_SCORE = re.compile(r"score\s*[:=]?\s*\**\s*(10|[1-9])\b", re.IGNORECASE)

_FALLBACK_SYSTEM = (
    "You are a strict math teacher. Read the problem and the student's solution (its Python code and the "
    "interpreter's outputs included), check each step, say what is right and what is wrong, then grade the "
    "solution from 1 (wrong) to 10 (fully correct). End with a line 'Score: N'."
)


class CriticOptions(BaseModel):
    """Which critiques become critic training examples."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    reference_free: bool = Field(True, description="Train on the reference-free prompt (the critic's use at test).")
    require_agreement: bool = Field(
        True, description="Keep a critique only if its score agrees with the grader (>= threshold iff correct)."
    )
    agree_threshold: int = Field(6, ge=1, le=10, description="Score at or above which a critique calls it correct.")
    max_per_problem: int | None = Field(None, ge=1, description="Most examples per problem.")


def critic_messages(traj: Trajectory, reference: str | None) -> list[dict]:
    """The critic's chat messages for ``traj`` (from ``agent.critic`` when available)."""
    try:
        from agent.critic import critic_messages as agent_critic_messages  # issue 6
    except ImportError:
        agent_critic_messages = None
    if agent_critic_messages is not None:
        return agent_critic_messages(traj, reference)
    user = f"Problem:\n{traj.question.strip()}\n\n"
    if reference is not None:
        user += f"Reference answer: {reference}\n\n"
    user += f"Student's solution:\n{traj.text.strip()}"
    return [{"role": "system", "content": _FALLBACK_SYSTEM}, {"role": "user", "content": user}]


def critic_target(critique: Critique) -> str:
    """The critic's reply to learn: the critique text, with a ``Score: N`` line if the text has none."""
    text = critique.text.strip()
    if critique.score is not None and not _SCORE.search(text):
        text = f"{text}\n\nScore: {critique.score}".strip()
    return text


def build_critic_examples(
    trajs: Iterable[Trajectory],
    opts: CriticOptions | None = None,
    *,
    messages: Callable[[Trajectory, str | None], list[dict]] = critic_messages,
) -> tuple[list[SFTExample], BuildReport]:
    """Critic SFT examples from trajectories that carry a critique.

    Args:
        trajs: Trajectories (graded, with ``critique`` filled by a critic run).
        opts: Selection options.
        messages: Builds the critic prompt (default: the agent critic's).
    """
    opts = opts or CriticOptions()
    report = BuildReport(builder="critic")
    per_problem: dict[str, int] = {}
    out: list[SFTExample] = []
    for t in trajs:
        crit = t.critique
        if crit is None:
            report.drop("no_critique")
            continue
        if crit.score is None:
            report.drop("unparsed_score")
            continue
        if opts.require_agreement:
            if t.correct is None:
                report.drop("ungraded")
                continue
            if (crit.score >= opts.agree_threshold) != bool(t.correct):
                report.drop("disagrees_with_grader")
                continue
        n = per_problem.get(t.problem_id, 0)
        if opts.max_per_problem is not None and n >= opts.max_per_problem:
            report.drop("over_cap")
            continue
        per_problem[t.problem_id] = n + 1
        reference = None if opts.reference_free else t.reference
        out.append(
            SFTExample(
                id=f"critic:{t.id}",
                problem_id=t.problem_id,
                messages=messages(t, reference),
                segments=[Segment(text=critic_target(crit), kind="model")],
                meta={"score": crit.score, "correct": t.correct, "with_reference": crit.with_reference},
            )
        )
    report.keep(len(out))
    report.notes.update(problems=len(per_problem))
    return out, report
