"""Which trajectories become fine-tuning data: SFT on correct ones, RFT on critic-accepted ones.

Rejective fine-tuning (ChatGLM-Math, Yuan et al. 2023) keeps the sampled trajectories that the grader
marks correct and the critic scores at or above a threshold, removes duplicates (same normalised code
and answer: a resample that says the same thing adds nothing), and caps how many each problem gives,
so that easy problems do not crowd out hard ones. Plain SFT is the same selection without a critic
threshold. Every decision is counted in a :class:`~training.data.report.BuildReport`.

Example:
    >>> normalize_code("x = 1  # one\\nprint( x )") == normalize_code("x=1\\nprint(x)")
    True
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict, Field

from eval.trajectory import Trajectory

from .examples import RenderOptions, SFTExample, to_sft_example
from .report import BuildReport

__all__ = ["SelectOptions", "normalize_code", "dedup_key", "select_trajectories", "build_sft_examples"]


class SelectOptions(BaseModel):
    """Which trajectories to keep for (rejective) fine-tuning."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    only_correct: bool = Field(True, description="Keep only trajectories the grader marked correct.")
    min_score: int | None = Field(
        None, ge=1, le=10, description="Critic score threshold (RFT: e.g. 7); None ignores critiques."
    )
    require_critique: bool = Field(
        False, description="With min_score: drop trajectories without a parsed critic score (else keep them)."
    )
    require_code: bool = Field(False, description="Keep only trajectories that ran code.")
    require_answer: bool = Field(True, description="Keep only trajectories that ended with an answer.")
    dedup: bool = Field(True, description="Drop a trajectory whose normalised code and answer repeat another's.")
    max_per_problem: int | None = Field(4, ge=1, description="Most examples per problem (best critic score first).")


def normalize_code(code: str) -> str:
    """Code with comments, docstring-free formatting and spacing normalised (``ast.unparse`` when it parses)."""
    try:
        return ast.unparse(ast.parse(code))
    except (SyntaxError, ValueError):
        code = re.sub(r"#[^\n]*", "", code)
        return re.sub(r"\s+", " ", code).strip()


def dedup_key(traj: Trajectory) -> tuple[str, str, str]:
    """``(problem_id, normalised code of every block, normalised answer)``; text-only trajectories use their text."""
    from eval.normalize import normalize_answer

    blocks = [normalize_code(s.content) for s in traj.steps if s.kind == "code"]
    body = "\n#--\n".join(blocks) if blocks else re.sub(r"\s+", " ", traj.text).strip()
    return traj.problem_id, body, normalize_answer(traj.answer or "")


def _rank(traj: Trajectory) -> tuple:
    score = traj.critique.score if traj.critique and traj.critique.score is not None else -1
    return (-score, traj.completion_tokens or len(traj.text), traj.sample_index, traj.id)


def select_trajectories(
    trajs: Iterable[Trajectory], opts: SelectOptions, *, builder: str = "sft"
) -> tuple[list[Trajectory], BuildReport]:
    """Filter, de-duplicate and cap trajectories; returns the kept ones (by problem, best first) and a report."""
    report = BuildReport(builder=builder)
    by_problem: dict[str, list[Trajectory]] = {}
    for t in trajs:
        score = t.critique.score if t.critique else None
        if opts.require_answer and (t.status != "answered" or t.answer is None):
            report.drop("no_answer")
        elif opts.only_correct and t.correct is None:
            report.drop("ungraded")
        elif opts.only_correct and not t.correct:
            report.drop("incorrect")
        elif opts.require_code and t.tool_calls == 0:
            report.drop("no_code")
        elif opts.min_score is not None and score is None and opts.require_critique:
            report.drop("no_critique")
        elif opts.min_score is not None and score is not None and score < opts.min_score:
            report.drop("low_score")
        else:
            by_problem.setdefault(t.problem_id, []).append(t)
    kept: list[Trajectory] = []
    for group in by_problem.values():
        seen: set = set()
        n = 0
        for t in sorted(group, key=_rank):
            if opts.dedup:
                key = dedup_key(t)
                if key in seen:
                    report.drop("duplicate")
                    continue
                seen.add(key)
            if opts.max_per_problem is not None and n >= opts.max_per_problem:
                report.drop("over_cap")
                continue
            kept.append(t)
            n += 1
    report.keep(len(kept))
    report.notes["problems"] = len({t.problem_id for t in kept})
    report.notes["with_code"] = sum(t.tool_calls > 0 for t in kept)
    return kept, report


def build_sft_examples(
    trajs: Iterable[Trajectory],
    select: SelectOptions | None = None,
    render: RenderOptions | None = None,
    *,
    builder: str = "sft",
) -> tuple[list[SFTExample], BuildReport]:
    """Select trajectories and turn them into SFT examples (prompt and interpreter outputs masked).

    Args:
        trajs: Trajectories (from :func:`~training.data.sources.read_trajectories`).
        select: Which to keep (default: correct and answered, de-duplicated, 4 per problem).
        render: Prompt and masking options.
        builder: Name in the report (``sft`` or ``rft``).
    """
    select = select or SelectOptions()
    render = render or RenderOptions()
    kept, report = select_trajectories(trajs, select, builder=builder)
    return [to_sft_example(t, render) for t in kept], report
