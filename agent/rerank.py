"""Choosing one answer among samples: majority vote, critic-weighted vote, solution-cluster re-ranking, best-of-n.

Samples are grouped by equivalent final answer (the eval core's clustering with the grader, not string
equality); samples without an answer never win. With verifier scores (higher = better, None = not
scored):

- ``majority``: the largest cluster.
- ``weighted``: the cluster with the largest sum of scores (a missing score weighs 0).
- ``cluster``: solution-cluster re-ranking (Liu et al. 2023): keep the ``top_clusters`` largest
  clusters (clusters tied in size with the last one kept stay in), then take the one with the highest
  mean score (missing scores left out of the mean; a cluster with none ranks last).
- ``best``: best-of-n, the single sample with the highest score.

Ties are broken deterministically: larger cluster first, then the cluster (or sample) seen first. The
chosen trajectory is the cluster's best-scored member (its first member for ``majority``). The eval
core's ``weighted_maj@k`` and ``rerank@k`` (``eval.metrics``) use the same rules (both call
``eval.selection.winners``), with ties counted as a uniform random choice.

Example:
    >>> s = select(["3", "3", "5", "5"], [0.1, 0.2, 0.9, 0.7], "cluster", equivalent=str.__eq__)
    >>> s.answer, s.chosen
    ('5', 2)
    >>> select(["3", "3", "5"], None, "majority", equivalent=str.__eq__).answer
    '3'
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal, get_args

from eval.selection import winners
from eval.trajectory import Trajectory

from .errors import MathAgentError
from .verifier import Verifier, ascore
from .voting import majority_vote

__all__ = ["RerankMethod", "RERANK_METHODS", "RankedCluster", "Selection", "select", "resolve_method", "arerank"]

RerankMethod = Literal["majority", "weighted", "cluster", "best"]
RERANK_METHODS: tuple[str, ...] = get_args(RerankMethod)

# method -> (eval.selection rule, whether only the top_clusters largest clusters compete)
_RULES: dict[str, tuple[str, bool]] = {
    "majority": ("votes", False),
    "weighted": ("weight", False),
    "cluster": ("mean", True),
    "best": ("max", False),
}


@dataclass
class RankedCluster:
    """Samples with equivalent answers and their verifier scores."""

    answer: str
    members: list[int] = field(default_factory=list)
    weight: float = 0.0  # sum of scores (missing = 0)
    mean_score: float | None = None  # mean of the present scores
    best: int = 0  # best-scored member (first member when no scores)

    @property
    def votes(self) -> int:
        return len(self.members)


@dataclass
class Selection:
    """The chosen answer, the trajectory it comes from, and the clusters (largest first)."""

    method: str
    answer: str | None
    chosen: int | None
    clusters: list[RankedCluster] = field(default_factory=list)


def _key(score: float | None) -> float:
    return -math.inf if score is None else score


def resolve_method(method: str | None, has_verifier: bool) -> str:
    """The method to use: the default is ``cluster`` with a verifier, else ``majority``.

    Raises:
        MathAgentError: Unknown method, or one that needs scores without a verifier.
    """
    if method is None:
        return "cluster" if has_verifier else "majority"
    if method not in RERANK_METHODS:
        raise MathAgentError(f"unknown rerank method {method!r}: use one of {', '.join(RERANK_METHODS)}")
    if method != "majority" and not has_verifier:
        raise MathAgentError(f"rerank={method!r} needs verifier scores: give a critic model or a verifier")
    return method


def select(
    answers: Sequence[str | None],
    scores: Sequence[float | None] | None = None,
    method: str = "majority",
    *,
    top_clusters: int = 2,
    equivalent: Callable[[str, str], bool] | None = None,
) -> Selection:
    """Choose an answer among samples (see the module docstring for the rules).

    Args:
        answers: Each sample's final answer (None: no answer).
        scores: Each sample's verifier score (None entries: not scored); required except for ``majority``.
        method: ``majority`` | ``weighted`` | ``cluster`` | ``best``.
        top_clusters: Clusters kept by ``cluster`` re-ranking.
        equivalent: Answer equivalence (default: the grader).

    Raises:
        ValueError: Unknown method, missing scores, or lengths that differ.
    """
    if method not in RERANK_METHODS:
        raise ValueError(f"unknown rerank method {method!r}: use one of {', '.join(RERANK_METHODS)}")
    if scores is None:
        if method != "majority":
            raise ValueError(f"rerank method {method!r} needs scores")
        scores = [None] * len(answers)
    if len(scores) != len(answers):
        raise ValueError(f"{len(answers)} answers but {len(scores)} scores")
    if top_clusters < 1:
        raise ValueError("top_clusters must be at least 1")
    _, groups = majority_vote(answers, equivalent=equivalent)  # largest first, ties: first seen
    clusters = []
    for g in groups:
        present = [s for i in g.members if (s := scores[i]) is not None]
        best = max(g.members, key=lambda i: (_key(scores[i]), -i))
        clusters.append(
            RankedCluster(
                answer=g.answer,
                members=list(g.members),
                weight=float(sum(present)),
                mean_score=sum(present) / len(present) if present else None,
                best=best,
            )
        )
    if not clusters:
        return Selection(method, None, None, clusters)
    ids = [-1] * len(answers)
    for cid, c in enumerate(clusters):
        for i in c.members:
            ids[i] = cid
    by, keep = _RULES[method]
    won = winners(ids, by=by, scores=scores, top_clusters=top_clusters if keep else None)
    win = clusters[won[0]]  # ties: larger cluster, then first seen
    return Selection(method, win.answer, win.members[0] if method == "majority" else win.best, clusters)


async def arerank(
    trajs: list[Trajectory],
    *,
    method: str,
    verifier: Verifier | None = None,
    top_clusters: int = 2,
    equivalent: Callable[[str, str], bool] | None = None,
) -> tuple[Selection, list[float | None]]:
    """Score the answered trajectories with ``verifier`` (if any), then select.

    Each scored trajectory gets ``verifier_score`` (and, from a critic, its ``critique``); trajectories
    without an answer are not scored (they cannot be chosen).

    Returns:
        The selection and the score of each trajectory (None where not scored).
    """
    scores: list[float | None] = [None] * len(trajs)
    if verifier is not None:
        answered = [i for i, t in enumerate(trajs) if t.answer is not None]
        got = await ascore(verifier, [trajs[i] for i in answered])
        for i, s in zip(answered, got, strict=True):
            scores[i] = s
            trajs[i].verifier_score = s
    sel = select([t.answer for t in trajs], scores, method, top_clusters=top_clusters, equivalent=equivalent)
    return sel, scores
