"""Majority vote over equivalence classes of answers (not string equality), on the eval core's clustering.

Example:
    >>> answer, clusters = majority_vote(["1/2", "0.5", "3", None], equivalent=lambda a, b: eval(a) == eval(b))
    >>> answer, [(c.answer, c.members) for c in clusters]
    ('1/2', [('1/2', [0, 1]), ('3', [2])])
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from eval.metrics import cluster_answers

__all__ = ["AnswerCluster", "majority_vote"]


@dataclass
class AnswerCluster:
    """Samples whose answers are equivalent; ``answer`` is the first one seen."""

    answer: str
    members: list[int] = field(default_factory=list)
    weight: float = 0.0


def _grade_equivalent(a: str, b: str) -> bool:
    from eval.grade import grade

    return bool(grade(a, b))


def majority_vote(
    answers: Sequence[str | None],
    *,
    equivalent: Callable[[str, str], bool] | None = None,
    weights: Sequence[float] | None = None,
) -> tuple[str | None, list[AnswerCluster]]:
    """The answer of the heaviest equivalence class (None when no sample answered), and all classes.

    Classes are ordered by weight (default: one vote per sample), ties by first appearance, so the
    result is deterministic. ``None`` answers do not vote.
    """
    ids = cluster_answers(answers, equivalent or _grade_equivalent)
    groups: dict[int, AnswerCluster] = {}
    for i, cid in enumerate(ids):
        if cid < 0:
            continue
        cluster = groups.setdefault(cid, AnswerCluster(str(answers[i])))  # an answered sample (cid >= 0)
        cluster.members.append(i)
        cluster.weight += 1.0 if weights is None else float(weights[i])
    ordered = sorted(groups.values(), key=lambda c: (-c.weight, c.members[0]))
    return (ordered[0].answer if ordered else None), ordered
