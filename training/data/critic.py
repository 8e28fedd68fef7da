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

from collections.abc import Callable, Iterable

from pydantic import BaseModel, ConfigDict, Field

from eval.trajectory import Critique, Trajectory

from .examples import Segment, SFTExample
from .report import BuildReport

__all__ = ["CriticOptions", "build_critic_examples", "critic_messages", "critic_target"]


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
    """The chat messages :class:`agent.critic.Critic` (default config) sends to the critic for ``traj``."""
    from agent.critic import CriticConfig
    from agent.critic_io import is_worked_solution, load_critic_prompt, render_solution

    cfg = CriticConfig()
    if reference is None or not reference.strip():
        name = cfg.prompt
    else:
        name = cfg.worked_reference_prompt if is_worked_solution(reference) else cfg.reference_prompt
    solution = render_solution(traj, cfg.max_solution_chars)
    return load_critic_prompt(name).messages(traj.question, solution, traj.answer, reference)


def critic_target(critique: Critique) -> str:
    """The critic's reply to learn: the critique text, with a ``Score: N`` line if its score does not parse.

    Example:
        >>> critic_target(Critique(score=3, text="The sum is off by one."))
        'The sum is off by one.\\n\\nScore: 3'
    """
    from agent.critic_io import parse_score

    text = critique.text.strip()
    if critique.score is not None and parse_score(text).score != critique.score:
        text = f"{text}\n\nScore: {critique.score}".strip()
    return text


def build_critic_examples(
    trajs: Iterable[Trajectory],
    opts: CriticOptions | None = None,
    *,
    messages: Callable[[Trajectory, str | None], list[dict]] | None = None,
) -> tuple[list[SFTExample], BuildReport]:
    """Critic SFT examples from trajectories that carry a critique.

    Args:
        trajs: Trajectories (graded, with ``critique`` filled by a critic run).
        opts: Selection options.
        messages: Builds the critic prompt (default: the agent critic's, :func:`critic_messages`).
    """
    opts = opts or CriticOptions()
    messages = messages or critic_messages
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
        if len(crit.sample_scores) > 1:
            report.drop("several_samples")  # the text holds several critiques: no single target
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
