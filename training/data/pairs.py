"""DPO pairs from trajectories of the same problem, ranked by correctness and critic score.

As in ChatGLM-Math's Self-Critique pipeline, a pair is a chosen and a rejected answer to one prompt:

1. correctness pairs: a correct trajectory (best critic score first) against a wrong one (worst score
   first), each trajectory used once;
2. score pairs (optional): two correct trajectories whose critic scores differ by at least
   ``min_score_gap``, the better one chosen (the critic prefers its reasoning).

Example:
    >>> PairOptions().max_pairs_per_problem
    2
"""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict, Field

from eval.trajectory import Trajectory

from .examples import PreferencePair, RenderOptions, prompt_messages, train_kinds, trajectory_segments
from .report import BuildReport
from .select import dedup_key

__all__ = ["PairOptions", "build_dpo_pairs"]


class PairOptions(BaseModel):
    """How DPO pairs are formed."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_pairs_per_problem: int = Field(2, ge=1, description="Most pairs from one problem.")
    score_pairs: bool = Field(True, description="Also pair two correct trajectories by critic score.")
    min_score_gap: int = Field(3, ge=1, description="Score difference a score pair needs.")
    rejected_no_answer: bool = Field(True, description="A trajectory that ended without an answer may be rejected.")


def _score(t: Trajectory) -> int | None:
    return t.critique.score if t.critique else None


def _pair(chosen: Trajectory, rejected: Trajectory, opts: RenderOptions, kind: str) -> PreferencePair | None:
    messages = prompt_messages(chosen, opts)
    if prompt_messages(rejected, opts) != messages:
        return None
    return PreferencePair(
        id=f"{chosen.id}>{rejected.id}",
        problem_id=chosen.problem_id,
        messages=messages,
        chosen=trajectory_segments(chosen, opts),
        rejected=trajectory_segments(rejected, opts),
        chosen_end_turn=chosen.status == "answered",
        rejected_end_turn=rejected.status == "answered",
        train_kinds=train_kinds(opts),
        meta={
            "kind": kind,
            "chosen_score": _score(chosen),
            "rejected_score": _score(rejected),
            "chosen_correct": chosen.correct,
            "rejected_correct": rejected.correct,
        },
    )


def build_dpo_pairs(
    trajs: Iterable[Trajectory], pairs: PairOptions | None = None, render: RenderOptions | None = None
) -> tuple[list[PreferencePair], BuildReport]:
    """Pairs (chosen, rejected) per problem; the report counts pairs and why problems gave none.

    Args:
        trajs: Graded trajectories, several per problem.
        pairs: Pairing options.
        render: Prompt and masking options (as for SFT).
    """
    pairs = pairs or PairOptions()
    render = render or RenderOptions()
    report = BuildReport(builder="dpo", unit="pairs")
    by_problem: dict[str, list[Trajectory]] = {}
    for t in trajs:
        if t.correct is None:
            report.drop("ungraded")
        else:
            by_problem.setdefault(t.problem_id, []).append(t)
    out: list[PreferencePair] = []
    kinds = {"correctness": 0, "score": 0}
    for group in by_problem.values():
        seen: set = set()
        unique = []
        for t in group:
            key = dedup_key(t)
            if key in seen:
                report.drop("duplicate")
                continue
            seen.add(key)
            unique.append(t)

        def best(t: Trajectory) -> tuple:
            s = _score(t)
            return (-(s if s is not None else 0), t.sample_index)

        good = sorted((t for t in unique if t.correct and t.status == "answered"), key=best)
        bad = sorted(
            (t for t in unique if not t.correct and (pairs.rejected_no_answer or t.answer is not None)),
            key=lambda t: (_score(t) if _score(t) is not None else 0, t.sample_index),
        )
        if not good:
            report.drop("problem_without_correct")
            continue
        made: list[PreferencePair] = []
        for c, r in zip(good, bad, strict=False):
            if len(made) >= pairs.max_pairs_per_problem:
                break
            p = _pair(c, r, render, "correctness")
            if p is None:
                report.drop("prompt_mismatch")
            else:
                made.append(p)
        if pairs.score_pairs and len(made) < pairs.max_pairs_per_problem:
            rest = [(t, s) for t in good[len(bad) :] if (s := _score(t)) is not None]
            lo, hi = len(rest) - 1, 0
            while hi < lo and len(made) < pairs.max_pairs_per_problem:
                if rest[hi][1] - rest[lo][1] < pairs.min_score_gap:
                    break
                p = _pair(rest[hi][0], rest[lo][0], render, "score")
                if p is not None:
                    made.append(p)
                hi, lo = hi + 1, lo - 1
        if not made:
            report.drop("problem_without_contrast")
            continue
        for p in made:
            kinds[p.meta["kind"]] += 1
        out.extend(made)
    report.keep(len(out))
    report.notes.update({"problems": len({p.problem_id for p in out}), **{f"{k}_pairs": v for k, v in kinds.items()}})
    return out, report
