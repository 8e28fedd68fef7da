"""Re-grade a run's stored trajectories with today's grader and policy, without generating anything.

Graders improve (a new equivalence rule, a fixed extraction, another policy); a run made last month
keeps last month's verdicts. :func:`rescore_run` grades every stored answer again with
:func:`eval.grade.compare` (under ``policy``, else the run's recorded policy, else each benchmark's);
with ``reextract`` it first reads the answer again from the stored response with today's
:func:`eval.extract.extract_answer`. :func:`write_rescore` writes the result as an eval run folder of its
own (``RUN/rescored`` by default): the re-graded ``trajectories.jsonl``, a new report (``metrics.json``,
``predictions.jsonl``, ``report.md`` with the old and new numbers side by side), ``changes.jsonl`` (one
line per changed verdict) and ``rescore.json`` (what was done). The original run is not touched.

Example:
    >>> from eval.trajectory import Trajectory
    >>> from eval.runs.load import run_from_trajectories
    >>> t = Trajectory(problem_id="p/1", question="q", reference="0.5", model="m", answer="1/2", correct=False,
    ...                status="answered")
    >>> run = run_from_trajectories([t])
    >>> result = rescore_run(run, policy="default")
    >>> [(c.before, c.after) for c in result.changes]
    [('wrong', 'correct')]
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from common.files import atomic_write_text
from common.jsonl import write_jsonl

from ..trajectory import Trajectory
from .load import Run
from .verdicts import LIMIT_STATUSES, policy_for, sample_outcome

__all__ = ["RESCORED", "RescoreResult", "VerdictChange", "changes_markdown", "rescore_run", "write_rescore"]

logger = logging.getLogger(__name__)

#: The default folder of a rescored run, inside the run.
RESCORED = "rescored"


class VerdictChange(BaseModel):
    """One sample whose verdict changed (a line of ``changes.jsonl``)."""

    model_config = ConfigDict(extra="forbid")

    problem_id: str
    sample: int
    reference: str | None
    answer_before: str | None
    answer_after: str | None
    before: str = Field(description="The sample's outcome as stored (correct, wrong, no_answer, ...).")
    after: str = Field(description="Its outcome now.")
    reason: str = Field("", description="Why the grader decided as it does now.")
    policy: str = ""


@dataclass
class RescoreResult:
    """The re-graded trajectories and what changed.

    Attributes:
        trajectories: Every sample, re-graded (problem by problem, in the run's order).
        changes: The samples whose outcome changed.
        grader: The grader's version now.
        policies: The policy each benchmark was graded with.
    """

    trajectories: list[Trajectory]
    changes: list[VerdictChange]
    grader: str
    policies: dict[str, str] = field(default_factory=dict)


def rescore_run(
    run: Run, *, policy: str | None = None, reextract: bool = False, fallbacks: bool | None = None
) -> RescoreResult:
    """Grade every stored sample of ``run`` again (see the module docstring).

    Args:
        run: The run.
        policy: A grading-policy preset for every problem (default: the run's, else each benchmark's).
        reextract: Read each answer again from the stored response with today's extractor.
        fallbacks: Extraction fallbacks when re-extracting (default: the run's ``answer_fallbacks``, else True).

    Raises:
        eval.policy.UnknownPolicyError: ``policy`` names no preset.
    """
    from ..extract import extract_answer
    from ..grade import compare, grader_version
    from ..policy import get_policy

    if policy is not None:
        get_policy(policy)  # an unknown name fails here, before any work
    if fallbacks is None:
        fallbacks = bool((run.settings.get("agent") or {}).get("answer_fallbacks", True))
    out: list[Trajectory] = []
    changes: list[VerdictChange] = []
    policies: dict[str, str] = {}
    for problem in run.problems.values():
        pol = policy_for(run, problem, policy)
        policies.setdefault(problem.benchmark, pol)
        for t in problem.samples:
            truncated = t.status in LIMIT_STATUSES
            answer, method = t.answer, t.answer_method
            if reextract:
                found = extract_answer(t.text, fallbacks=fallbacks, truncated=truncated)
                answer, method = found.answer, found.method
            c = compare(answer, t.reference, policy=pol, truncated=truncated)
            update: dict[str, Any] = {"answer": answer, "answer_method": method, "correct": c.correct}
            update.update(grader=c.grader, grade_status=c.status)
            new = t.model_copy(update=update)
            before, after = sample_outcome(t), sample_outcome(new)
            if before != after or t.correct != new.correct:
                changes.append(
                    VerdictChange(
                        problem_id=t.problem_id,
                        sample=t.sample_index,
                        reference=t.reference,
                        answer_before=t.answer,
                        answer_after=answer,
                        before=before,
                        after=after,
                        reason=c.reason,
                        policy=pol,
                    )
                )
            out.append(new)
    return RescoreResult(trajectories=out, changes=changes, grader=grader_version(), policies=policies)


def _cell(x: str | None, width: int = 40) -> str:
    if x is None:
        return "(none)"
    x = " ".join(str(x).split()).replace("|", "\\|")
    return x if len(x) <= width else x[: width - 1] + "…"


def changes_markdown(changes: list[VerdictChange], *, limit: int = 200) -> str:
    """The changed verdicts as a markdown table (at most ``limit`` rows; the rest are counted).

    Example:
        >>> ch = VerdictChange(problem_id="p", sample=0, reference="2", answer_before="2.0", answer_after="2.0",
        ...                    before="wrong", after="correct", reason="numbers are equal")
        >>> changes_markdown([ch]).splitlines()[2]
        '| p | 0 | 2 | 2.0 | wrong | correct | numbers are equal |'
    """
    if not changes:
        return "No verdict changed.\n"
    head = "| problem | sample | reference | answer | before | after | why (now) |\n|---|---|---|---|---|---|---|"
    rows = []
    for c in changes[:limit]:
        answer = _cell(c.answer_after)
        if c.answer_before != c.answer_after:
            answer = f"{_cell(c.answer_before)} → {answer}"
        rows.append(
            f"| {c.problem_id} | {c.sample} | {_cell(c.reference)} | {answer} | {c.before} | {c.after} | "
            f"{_cell(c.reason, 60)} |"
        )
    more = [f"\n… and {len(changes) - limit} more (changes.jsonl has them all)."] if len(changes) > limit else []
    return "\n".join([head, *rows, *more]) + "\n"


def _before_after(old: dict[str, Any], new: dict[str, Any]) -> str:
    """A table of the overall metrics before and after (the names both have)."""
    before, after = old.get("overall") or {}, new.get("overall") or {}
    names = [n for n in after if n in before]
    if not names:
        return "The run had no metrics.json to compare with.\n"
    lines = ["| metric | before (%) | after (%) | change (pts) |", "|---|---|---|---|"]
    for n in names:
        b, a = before[n].get("value"), after[n].get("value")
        if b is None or a is None:
            continue
        lines.append(f"| {n} | {100 * b:.1f} | {100 * a:.1f} | {100 * (a - b):+.1f} |")
    return "\n".join(lines) + "\n"


def write_rescore(
    run: Run,
    result: RescoreResult,
    out: str | Path | None = None,
    *,
    policy: str | None = None,
    reextract: bool = False,
    n_bootstrap: int = 1000,
) -> dict[str, Any]:
    """Write a rescored run folder (see the module docstring); returns its ``metrics.json`` content.

    Args:
        run: The original run (its folder is not changed).
        result: What :func:`rescore_run` returned.
        out: The folder (default: ``RUN/rescored``; a trajectories file: ``<file>.rescored/``).
        policy: The policy asked for (recorded).
        reextract: Whether answers were read again (recorded).
        n_bootstrap: Bootstrap resamples of the report's intervals.
    """
    from ..metrics import compute_metrics
    from ..records import Problem
    from ..report import write_report
    from ..summary import agent_stats, samples_from_trajectories

    if out is None:
        out = run.path / RESCORED if run.kind != "file" else run.path.with_name(run.path.name + ".rescored")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    problems = {
        p.id: Problem(
            id=p.id,
            question=p.question,
            answer=p.reference,
            source=p.benchmark,
            metadata={k: v for k, v in (("subject", p.subject), ("level", p.level)) if v is not None},
        )
        for p in run.problems.values()
    }
    write_jsonl(out / "trajectories.jsonl", result.trajectories)
    write_jsonl(out / "changes.jsonl", result.changes)
    if run.settings and run.kind == "eval":
        atomic_write_text(out / "run.json", json.dumps(run.settings, indent=2) + "\n")
    records = samples_from_trajectories(result.trajectories, problems)
    top = int((run.settings.get("agent") or {}).get("top_clusters", 2) or 2)
    metrics = compute_metrics(records, top_clusters=top, n_bootstrap=n_bootstrap)
    new = metrics.model_dump(mode="json")
    info = {
        "source": str(run.path),
        "grader_before": sorted({t.grader for p in run.problems.values() for t in p.samples if t.grader}),
        "grader": result.grader,
        "policy": policy,
        "policies": result.policies,
        "reextract": reextract,
        "samples": len(result.trajectories),
        "changed": len(result.changes),
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    atomic_write_text(out / "rescore.json", json.dumps(info, indent=2) + "\n")
    sections = [
        (
            "Rescoring",
            f"Re-graded `{run.path}` with `{result.grader}`; policies: "
            + ", ".join(f"{b}: `{p}`" for b, p in result.policies.items())
            + ("; answers re-extracted" if reextract else "")
            + ".\n\n"
            + _before_after(run.metrics, new),
        ),  # fmt: skip
        (f"Changed verdicts ({len(result.changes)})", changes_markdown(result.changes)),
    ]
    return write_report(
        out,
        records,
        metrics=metrics,
        problems=problems,
        extra_metrics=agent_stats(result.trajectories),
        extra_sections=sections,
        extra_data={"rescore": info},
        title=f"Rescored: {run.name}",
    )
