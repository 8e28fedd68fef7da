"""The label audit: problems whose reference answer is suspect, because the samples clearly agree on another.

Benchmarks hold wrong labels (GSM8K and MATH are known to have a few). When a model's samples mostly
agree on one answer and the grader says it is not the reference, either the model shares a mistake
or the reference is wrong; a critic that approves of those samples tips the balance. A problem is
*suspect* when

- it has at least ``min_samples`` samples,
- its largest vote class (:mod:`eval.runs.verdicts`) holds at least ``min_share`` of **all** its samples
  (samples without an answer count against the share), and
- that class's answer is graded wrong against a gradable reference (by today's grader, under the
  problem's policy: the verdicts stored in the run may predate a corrected reference or grader).

The critic's mean score of the class (1-10) is shown; ``min_critic`` (e.g. 7) keeps only the suspects
the critic approves of. Suspects are listed with the critic's approval first, then by share.

Example:
    >>> from eval.trajectory import Trajectory
    >>> from pathlib import Path
    >>> from eval.runs.load import Run, RunProblem
    >>> ts = [Trajectory(problem_id="g/1", sample_index=i, question="q", reference="7", model="m", answer=a,
    ...                  correct=a == "7", status="answered") for i, a in enumerate(["8", "8", "8", "7"])]
    >>> run = Run(path=Path(), kind="file", name="r", problems={"g/1": RunProblem("g/1", "q", "7", "g", samples=ts)})
    >>> [(s.problem_id, s.answer, s.share) for s in audit_labels(run, policy="default")]
    [('g/1', '8', 0.75)]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, Field

from ..trajectory import Trajectory
from .load import Run, run_from_trajectories
from .verdicts import ProblemVerdict, policy_for, run_verdicts

__all__ = ["AuditSettings", "SuspectLabel", "audit_labels", "audit_markdown", "audit_section", "view_link"]


class AuditSettings(BaseModel):
    """When a reference is suspect (see the module docstring)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    min_share: float = Field(0.75, gt=0.5, le=1.0, description="Share of all samples the majority answer needs.")
    min_samples: int = Field(4, ge=2, description="Samples a problem needs to be audited.")
    min_critic: float | None = Field(
        None, ge=1.0, le=10.0, description="Keep only suspects whose majority the critic scores at least this (1-10)."
    )


class SuspectLabel(BaseModel):
    """One problem whose reference the samples contradict."""

    model_config = ConfigDict(extra="forbid")

    problem_id: str
    benchmark: str
    question: str
    reference: str | None
    answer: str = Field(description="The answer the majority agrees on.")
    votes: int = Field(description="Samples in the majority.")
    samples: int
    share: float = Field(description="votes / samples.")
    critic: float | None = Field(None, description="The critic's mean score of the majority (1-10).")
    critic_approves: bool | None = Field(None, description="critic >= the approval threshold; None: no critic.")


def audit_labels(
    run: Run,
    settings: AuditSettings | None = None,
    *,
    verdicts: Mapping[str, ProblemVerdict] | None = None,
    policy: str | None = None,
    approve_at: float = 7.0,
) -> list[SuspectLabel]:
    """The suspect references of ``run``.

    Args:
        run: The run (several samples per problem).
        settings: The thresholds (default :class:`AuditSettings`).
        verdicts: Precomputed verdicts (default: computed under ``policy``).
        policy: The grading policy of the vote classes (default: the run's, else each benchmark's).
        approve_at: The critic score (1-10) from which the critic counts as approving.
    """
    from ..grade import compare

    settings = settings or AuditSettings()
    verdicts = verdicts if verdicts is not None else run_verdicts(run, policy=policy)
    out = []
    for pid, problem in run.problems.items():
        v = verdicts[pid]
        if v.n_samples < settings.min_samples or not v.votes:
            continue
        top = v.votes[0]
        if len(v.votes) > 1 and v.votes[1].size == top.size:  # a tie is no clear majority
            continue
        share = top.size / v.n_samples
        if share < settings.min_share:
            continue
        if compare(top.answer, problem.reference, policy=policy_for(run, problem, policy)).correct is not False:
            continue  # right, or the reference cannot be graded
        if settings.min_critic is not None and (top.critic is None or top.critic < settings.min_critic):
            continue
        out.append(
            SuspectLabel(
                problem_id=pid,
                benchmark=problem.benchmark,
                question=problem.question,
                reference=problem.reference,
                answer=top.answer,
                votes=top.size,
                samples=v.n_samples,
                share=share,
                critic=top.critic,
                critic_approves=None if top.critic is None else top.critic >= approve_at,
            )
        )
    out.sort(key=lambda s: (not s.critic_approves, -s.share, -(s.critic or 0.0)))
    return out


def view_link(problem_id: str, view: str = "view.html") -> str:
    """A link that opens ``problem_id`` in the run browser (``mathagent view``).

    Example:
        >>> view_link("gsm8k/test/3")
        'view.html#problem=gsm8k%2Ftest%2F3'
    """
    return f"{view}#problem={quote(problem_id, safe='')}"


def _cell(x: str | None, width: int = 60) -> str:
    if x is None:
        return "(none)"
    x = " ".join(str(x).split()).replace("|", "\\|")
    return x if len(x) <= width else x[: width - 1] + "…"


def audit_markdown(
    suspects: list[SuspectLabel], settings: AuditSettings | None = None, *, view: str | None = None
) -> str:
    """The suspects as a markdown section body: both answers, the votes, the critic, a link into the browser.

    Args:
        suspects: What :func:`audit_labels` found.
        settings: The thresholds used (for the sentence that says what was looked for).
        view: The browser page the links point to, relative to the report (None: no links).

    Example:
        >>> s = SuspectLabel(problem_id="g/1", benchmark="g", question="q", reference="7", answer="8", votes=3,
        ...                  samples=4, share=0.75)
        >>> audit_markdown([s], view="view.html").splitlines()[-1]
        '| [g/1](view.html#problem=g%2F1) | 7 | 8 | 3/4 (75%) |  | q |'
    """
    settings = settings or AuditSettings()
    rule = (
        f"Problems with at least {settings.min_samples} samples where at least {100 * settings.min_share:.0f} % of "
        "the samples agree on an answer the grader finds different from the reference"
        + (f", with a critic score of at least {settings.min_critic:g}" if settings.min_critic is not None else "")
        + ". Either the reference or the model is wrong: check each one."
    )
    if not suspects:
        return rule + "\n\nNone found.\n"
    lines = [
        rule,
        "",
        "| problem | reference | majority answer | votes | critic (1-10) | question |",
        "|---|---|---|---|---|---|",
    ]
    for s in suspects:
        name = f"[{s.problem_id}]({view_link(s.problem_id, view)})" if view else s.problem_id
        critic = "" if s.critic is None else f"{s.critic:.1f}" + (" ✓" if s.critic_approves else "")
        lines.append(
            f"| {name} | {_cell(s.reference, 30)} | {_cell(s.answer, 30)} | {s.votes}/{s.samples} "
            f"({100 * s.share:.0f}%) | {critic} | {_cell(s.question)} |"
        )
    return "\n".join(lines)


def audit_section(
    trajectories: Sequence[Trajectory],
    settings: AuditSettings | None = None,
    *,
    policy: str | None = None,
    view: str | None = "view.html",
) -> tuple[str, dict[str, Any]] | None:
    """The "Suspect references" section of a run's report: ``(markdown, data for metrics.json)``.

    None when no problem has ``settings.min_samples`` samples (nothing to audit).

    Example:
        >>> from eval.trajectory import Trajectory
        >>> ts = [Trajectory(problem_id="g/1", sample_index=i, question="q", reference="7", model="m", answer="7",
        ...                  correct=True, status="answered") for i in range(4)]
        >>> body, data = audit_section(ts, policy="default")
        >>> body.splitlines()[-1], data["suspects"]
        ('None found.', [])
        >>> audit_section(ts[:1]) is None
        True
    """
    settings = settings or AuditSettings()
    run = run_from_trajectories(trajectories)
    audited = sum(len(p.samples) >= settings.min_samples for p in run.problems.values())
    if not audited:
        return None
    suspects = audit_labels(run, settings, policy=policy)
    data = {
        "settings": settings.model_dump(),
        "audited_problems": audited,
        "suspects": [s.model_dump() for s in suspects],
    }
    return audit_markdown(suspects, settings, view=view), data
