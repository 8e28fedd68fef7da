"""The data a run browser page holds: one or two runs' problems, verdicts and trajectories, as plain JSON.

Keys are short because a page holds thousands of problems. Per problem: ``id``, ``b`` (benchmark),
``lv`` (level), ``sj`` (subject), ``q`` (question), ``ref`` (reference), and ``r``: one entry per run
(None when the run does not hold the problem) with the verdict (``ok``, ``o`` outcome, ``a`` voted
answer, ``c``/``n`` correct and all samples, ``cc`` code calls, ``ce`` code errors, ``cr`` critic),
the vote classes ``v`` (``[answer, votes, correct, critic]``) and the samples ``t``. A sample holds
its outcome, answer, the grader's reason (from today's grader, under the problem's policy), the
critique, and its steps ``st`` as ``[kind, content, exit_status, error, truncated]``: ``x`` text,
``c`` code (highlighted by the page when a problem is opened), ``o`` interpreter output.

Example:
    >>> from eval.trajectory import Step, Trajectory
    >>> from eval.runs.load import run_from_trajectories
    >>> t = Trajectory(problem_id="g/1", question="q", reference="2", model="m", answer="2", correct=True,
    ...                status="answered", steps=[Step(kind="code", content="print(1+1)"),
    ...                                          Step(kind="output", content="2", exit_status="ok")])
    >>> run = run_from_trajectories([t])
    >>> data = build_payload([run], reasons=False)
    >>> p = data["problems"][0]
    >>> p["id"], p["r"][0]["ok"], [s[0] for s in p["r"][0]["t"][0]["st"]]
    ('g/1', True, ['c', 'o'])
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..runs.load import Run, RunProblem
from ..runs.verdicts import LIMIT_STATUSES, ProblemVerdict, policy_for, run_verdicts, sample_outcome
from ..trajectory import Step, Trajectory

__all__ = ["MAX_STEP_CHARS", "build_payload"]

#: Longer steps are cut in the page (the run's files keep them whole).
MAX_STEP_CHARS = 20000

_KIND = {"text": "x", "code": "c", "output": "o"}


def _cut(text: str) -> str:
    if len(text) <= MAX_STEP_CHARS:
        return text
    return text[:MAX_STEP_CHARS] + f"\n… ({len(text) - MAX_STEP_CHARS} more characters in the run's files)"


def _step(s: Step) -> list[Any]:
    kind = _KIND.get(s.kind, "x")
    content = _cut(s.content)
    status = s.exit_status
    if kind == "o" and status is None and "Traceback (most recent call last)" in s.content:
        status = "error"  # older runs did not record how a cell ended
    return [kind, content, status, s.error, bool(s.truncated)]


def _round(x: float | None, digits: int = 2) -> float | None:
    return None if x is None else round(x, digits)


def _sample(t: Trajectory, reason: tuple[str, str, str] | None) -> dict[str, Any]:
    c = t.critique
    out: dict[str, Any] = {
        "i": t.sample_index,
        "o": sample_outcome(t),
        "ok": t.correct,
        "a": t.answer,
        "am": t.answer_method,
        "s": t.status,
        "g": t.grader,
        "tok": t.completion_tokens,
        "sec": _round(t.timings.total, 1),
        "calls": t.tool_calls,
        "ce": t.code_errors,
        "se": t.sandbox_errors,
        "st": [_step(s) for s in t.steps],
    }
    if not t.steps and t.text:  # a record without steps: its whole text
        out["st"] = [["x", _cut(t.text), None, None, False]]
    if t.error:
        out["err"] = t.error
    if reason is not None:
        out["why"], out["gm"], out["now"] = reason
    if c is not None:
        out["cs"] = _round(c.mean_score)
        out["ct"] = _cut(c.text)
        out["cm"] = c.model
        if c.parse_error:
            out["cpe"] = c.parse_error
    if t.verifier_score is not None:
        out["vs"] = _round(t.verifier_score, 3)
    policy = (t.model_extra or {}).get("grade_policy")
    if policy:
        out["pol"] = policy
    return out


def _run_entry(problem: RunProblem, verdict: ProblemVerdict, reasons: Mapping[tuple[str, int], tuple]) -> dict:
    return {
        "ok": verdict.correct,
        "o": verdict.outcome,
        "a": verdict.answer,
        "c": verdict.n_correct,
        "n": verdict.n_samples,
        "cc": verdict.code_calls,
        "ce": verdict.code_errors,
        "cr": _round(verdict.critic, 1),
        "v": [[v.answer, v.size, v.correct, _round(v.critic, 1)] for v in verdict.votes],
        "t": [_sample(t, reasons.get((t.problem_id, t.sample_index))) for t in problem.samples],
    }


def _grader_reasons(run: Run, policy: str | None) -> dict[tuple[str, int], tuple[str, str, str]]:
    """``(reason, method, outcome now)`` of every answered sample under today's grader."""
    from ..grade import compare

    out: dict[tuple[str, int], tuple[str, str, str]] = {}
    for problem in run.problems.values():
        pol = policy_for(run, problem, policy)
        for t in problem.samples:
            c = compare(t.answer, problem.reference, policy=pol, truncated=t.status in LIMIT_STATUSES)
            now = sample_outcome(t.model_copy(update={"correct": c.correct, "grade_status": c.status}))
            out[(t.problem_id, t.sample_index)] = (f"{c.reason} (policy {pol})", c.method, now)
    return out


def _run_info(run: Run, verdicts: Mapping[str, ProblemVerdict]) -> dict[str, Any]:
    graded = [v for v in verdicts.values() if v.correct is not None]
    overall = (run.metrics.get("overall") or {}) if run.metrics else {}
    return {
        "name": run.name,
        "path": str(run.path),
        "kind": run.kind,
        "model": run.model,
        "samples": run.samples_per_problem,
        "problems": len(run.problems),
        "accuracy": (sum(bool(v.correct) for v in graded) / len(graded)) if graded else None,
        "metrics": {k: v.get("value") for k, v in overall.items() if isinstance(v, dict)},
        "policy": run.policy,
        "dataset": run.settings.get("dataset"),
    }


def build_payload(
    runs: Sequence[Run],
    *,
    verdicts: Sequence[Mapping[str, ProblemVerdict]] | None = None,
    policy: str | None = None,
    reasons: bool = True,
) -> dict[str, Any]:
    """The page data of one run, or two runs side by side (problems of either, in A's order, then B's).

    Args:
        runs: One or two runs.
        verdicts: Their problem verdicts (default: computed).
        policy: Grading policy of the vote classes and reasons (default: each run's, else each benchmark's).
        reasons: Ask today's grader why each sample is right or wrong (one comparison per sample).
    """
    if not 1 <= len(runs) <= 2:
        raise ValueError(f"the browser shows one or two runs, got {len(runs)}")
    verdicts = list(verdicts) if verdicts is not None else [run_verdicts(r, policy=policy) for r in runs]
    why = [_grader_reasons(r, policy) if reasons else {} for r in runs]
    order = list(dict.fromkeys(pid for r in runs for pid in r.problems))
    problems = []
    for pid in order:
        first = next(r.problems[pid] for r in runs if pid in r.problems)
        level = next((r.problems[pid].level for r in runs if pid in r.problems and r.problems[pid].level), None)
        subject = next((r.problems[pid].subject for r in runs if pid in r.problems and r.problems[pid].subject), None)
        problems.append(
            {
                "id": pid,
                "b": first.benchmark,
                "lv": level,
                "sj": subject,
                "q": first.question,
                "ref": first.reference,
                "r": [
                    _run_entry(r.problems[pid], v[pid], w) if pid in r.problems else None
                    for r, v, w in zip(runs, verdicts, why, strict=True)
                ],
            }
        )
    return {
        "format": "mathagent-view/1",
        "runs": [_run_info(r, v) for r, v in zip(runs, verdicts, strict=True)],
        "problems": problems,
    }
