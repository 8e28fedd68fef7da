"""Majority vote over equivalence classes of answers (not string equality).

Example:
    >>> clusters = cluster_answers(["1/2", "0.5", "3", None], equivalent=lambda a, b: float(eval(a)) == float(eval(b)))
    >>> [(c.answer, c.members) for c in clusters]
    [('1/2', [0, 1]), ('3', [2])]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

__all__ = ["AnswerCluster", "cluster_answers", "majority_vote"]


@dataclass
class AnswerCluster:
    """Samples whose answers are equivalent; ``answer`` is the first one seen."""

    answer: str
    members: list[int] = field(default_factory=list)
    weight: float = 0.0


def _default_equivalent(a: str, b: str) -> bool:
    from eval.grade import grade

    return grade(a, b)


def cluster_answers(
    answers: Sequence[str | None],
    *,
    equivalent: Callable[[str, str], bool] | None = None,
    weights: Sequence[float] | None = None,
) -> list[AnswerCluster]:
    """Group answers into equivalence classes, largest (or heaviest) first; ``None`` answers are left out.

    Ties keep the order of first appearance, so the result is deterministic.
    """
    eq = equivalent or _default_equivalent
    clusters: list[AnswerCluster] = []
    for i, ans in enumerate(answers):
        if ans is None:
            continue
        w = 1.0 if weights is None else float(weights[i])
        for c in clusters:
            if ans == c.answer or eq(ans, c.answer):
                c.members.append(i)
                c.weight += w
                break
        else:
            clusters.append(AnswerCluster(ans, [i], w))
    order = {id(c): k for k, c in enumerate(clusters)}
    return sorted(clusters, key=lambda c: (-c.weight, order[id(c)]))


def majority_vote(
    answers: Sequence[str | None], *, equivalent: Callable[[str, str], bool] | None = None
) -> tuple[str | None, list[AnswerCluster]]:
    """The answer of the largest equivalence class (None when no sample answered), and all classes."""
    clusters = cluster_answers(answers, equivalent=equivalent)
    return (clusters[0].answer if clusters else None), clusters
