"""Critic agreement: how well "critic score >= threshold" predicts the grader's verdict.

On graded trajectories that carry a critique (``trajectory.critique``), each threshold t from 1 to 10
turns the critic into a classifier ("accept when score >= t"), compared with ``trajectory.correct``:
precision (accepted that are correct), recall (correct that are accepted), accuracy (agreement) and
the share accepted. The ROC AUC summarises all thresholds (ties count one half). Critiques without a
score (unparsed) are counted and left out, never read as a low or a high score.

Example:
    >>> from eval.trajectory import Critique, Trajectory
    >>> def t(score, ok):
    ...     return Trajectory(problem_id="p", question="q", model="m", correct=ok, critique=Critique(score=score))
    >>> a = critic_agreement([t(9, True), t(8, False), t(2, False), t(None, True)])
    >>> a.n, a.n_unparsed, a.by_threshold[7].precision, a.by_threshold[7].recall, a.auc
    (3, 1, 0.5, 1.0, 1.0)
"""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict, Field

from .trajectory import Trajectory

__all__ = ["ThresholdAgreement", "CriticAgreement", "critic_agreement", "agreement_markdown"]


class ThresholdAgreement(BaseModel):
    """The critic as a classifier at one threshold ("accept when score >= threshold")."""

    model_config = ConfigDict(extra="forbid")

    threshold: int
    tp: int = Field(description="Accepted and correct.")
    fp: int = Field(description="Accepted but wrong.")
    fn: int = Field(description="Rejected but correct.")
    tn: int = Field(description="Rejected and wrong.")
    precision: float | None = Field(None, description="tp / (tp + fp); None when nothing is accepted.")
    recall: float | None = Field(None, description="tp / (tp + fn); None when nothing is correct.")
    accuracy: float = Field(description="(tp + tn) / n: how often the critic agrees with the grader.")
    accepted: float = Field(description="Share of trajectories accepted.")


class CriticAgreement(BaseModel):
    """Agreement of critic scores with the grader over a set of graded trajectories."""

    model_config = ConfigDict(extra="forbid")

    n: int = Field(description="Graded trajectories with a parsed score.")
    n_unparsed: int = Field(description="Graded trajectories whose critique has no score.")
    n_correct: int = Field(description="Of the n, how many the grader marks correct.")
    critics: list[str] = Field(default_factory=list, description="Critic models seen.")
    with_reference: bool | None = Field(None, description="Whether the critiques saw a reference (None: mixed).")
    mean_score_correct: float | None = None
    mean_score_wrong: float | None = None
    auc: float | None = Field(None, description="P(score of a correct > score of a wrong); ties count 1/2.")
    by_threshold: dict[int, ThresholdAgreement] = Field(default_factory=dict)


def _div(a: int, b: int) -> float | None:
    return a / b if b else None


def critic_agreement(trajectories: Iterable[Trajectory]) -> CriticAgreement | None:
    """Precision, recall and accuracy of "score >= t" against ``correct``, for t = 1..10.

    Returns:
        None when no graded trajectory has a critique.
    """
    pairs: list[tuple[int, bool]] = []
    unparsed = 0
    critics: list[str] = []
    refs: set[bool] = set()
    for t in trajectories:
        if t.critique is None or t.correct is None:
            continue
        if t.critique.model and t.critique.model not in critics:
            critics.append(t.critique.model)
        refs.add(t.critique.with_reference)
        if t.critique.score is None:
            unparsed += 1
        else:
            pairs.append((t.critique.score, bool(t.correct)))
    if not pairs and not unparsed:
        return None
    pos = [s for s, ok in pairs if ok]
    neg = [s for s, ok in pairs if not ok]
    by: dict[int, ThresholdAgreement] = {}
    for th in range(1, 11):
        tp = sum(s >= th for s in pos)
        fp = sum(s >= th for s in neg)
        fn, tn = len(pos) - tp, len(neg) - fp
        by[th] = ThresholdAgreement(
            threshold=th,
            tp=tp,
            fp=fp,
            fn=fn,
            tn=tn,
            precision=_div(tp, tp + fp),
            recall=_div(tp, tp + fn),
            accuracy=(tp + tn) / len(pairs) if pairs else 0.0,
            accepted=(tp + fp) / len(pairs) if pairs else 0.0,
        )
    auc = None
    if pos and neg:
        wins = sum((p > q) + 0.5 * (p == q) for p in pos for q in neg)
        auc = wins / (len(pos) * len(neg))
    return CriticAgreement(
        n=len(pairs),
        n_unparsed=unparsed,
        n_correct=len(pos),
        critics=critics,
        with_reference=refs.pop() if len(refs) == 1 else None,
        mean_score_correct=sum(pos) / len(pos) if pos else None,
        mean_score_wrong=sum(neg) / len(neg) if neg else None,
        auc=auc,
        by_threshold=by,
    )


def _pct(v: float | None) -> str:
    return "" if v is None else f"{100 * v:.1f}"


def agreement_markdown(a: CriticAgreement) -> str:
    """A markdown summary and the by-threshold table (for ``report.md``).

    Example:
        >>> "| threshold |" in agreement_markdown(CriticAgreement(n=0, n_unparsed=2, n_correct=0))
        True
    """
    total = a.n + a.n_unparsed
    unparsed = _pct(a.n_unparsed / total if total else None)
    mode = {True: "with a reference", False: "reference-free", None: "mixed"}[a.with_reference]
    means = [
        f"mean score of correct {a.mean_score_correct:.2f}" if a.mean_score_correct is not None else "",
        f"of wrong {a.mean_score_wrong:.2f}" if a.mean_score_wrong is not None else "",
        f"ROC AUC {a.auc:.3f}" if a.auc is not None else "",
    ]
    lines = [
        f"Critic {', '.join(a.critics) or '?'} ({mode}) on {total} graded trajectories: {a.n} scored "
        f"({a.n_correct} correct by the grader), {a.n_unparsed} unparsed ({unparsed} %).",
        "",
        "; ".join(m for m in means if m) + ("." if any(means) else ""),
        "",
        '"Accept" = critic score >= threshold, against the grader\'s verdict:',
        "",
        "| threshold | accepted (%) | precision (%) | recall (%) | accuracy (%) | tp | fp | fn | tn |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for th, r in sorted(a.by_threshold.items()):
        lines.append(
            f"| {th} | {_pct(r.accepted)} | {_pct(r.precision)} | {_pct(r.recall)} | {_pct(r.accuracy)} "
            f"| {r.tp} | {r.fp} | {r.fn} | {r.tn} |"
        )
    return "\n".join(lines)
