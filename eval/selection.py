"""The rules that choose an answer cluster among samples, in one place for the agent and the metrics.

Samples are first grouped into answer clusters (``cluster_answers``: cluster id per sample, ``-1`` for
no answer, which never wins). A rule then ranks the clusters:

- ``votes``: the largest cluster (majority vote).
- ``weight``: the largest sum of the members' weights (critic-weighted vote; default weights are the
  scores, a missing score weighing 0).
- ``mean``: the highest mean score (missing scores left out; a cluster with none ranks last).
- ``max``: the highest single score in the cluster.

With ``top_clusters``, only the ``top_clusters`` largest clusters compete (clusters tied in size with
the last one kept stay in): solution-cluster re-ranking (Liu et al. 2023) is ``mean`` over the top
clusters; best-of-n is ``max`` over all of them.

:func:`winners` returns every cluster tied for first, in a fixed order (larger first, then first
seen): the agent takes the first (``agent.rerank.select``); the eval core counts a tie as a uniform
random choice among them (``eval.metrics.vote_value``).

Example:
    >>> winners([0, 0, 1], by="votes")
    [0]
    >>> winners([0, 0, 1], by="mean", scores=[0.1, 0.2, 0.9], top_clusters=2)
    [1]
    >>> winners([0, 1], by="votes")  # a tie: both, larger-then-first-seen order
    [0, 1]
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, get_args

__all__ = ["ClusterRule", "CLUSTER_RULES", "ClusterStats", "cluster_stats", "winners"]

ClusterRule = Literal["votes", "weight", "mean", "max"]
CLUSTER_RULES: tuple[str, ...] = get_args(ClusterRule)


@dataclass
class ClusterStats:
    """One cluster's members and the numbers the rules rank it by."""

    id: int
    members: list[int] = field(default_factory=list)
    weight: float = 0.0
    scores: list[float] = field(default_factory=list)  # the present scores

    @property
    def size(self) -> int:
        return len(self.members)

    @property
    def mean(self) -> float | None:
        return sum(self.scores) / len(self.scores) if self.scores else None

    @property
    def max(self) -> float | None:
        return max(self.scores) if self.scores else None


def cluster_stats(
    clusters: Sequence[int],
    *,
    scores: Sequence[float | None] | None = None,
    weights: Sequence[float] | None = None,
) -> list[ClusterStats]:
    """The answered clusters, larger first, then first seen (cluster ids ``-1`` are left out)."""
    if scores is not None and len(scores) != len(clusters):
        raise ValueError(f"{len(clusters)} samples but {len(scores)} scores")
    if weights is not None and len(weights) != len(clusters):
        raise ValueError(f"{len(clusters)} samples but {len(weights)} weights")
    by_id: dict[int, ClusterStats] = {}
    for i, cid in enumerate(clusters):
        if cid < 0:
            continue
        c = by_id.setdefault(cid, ClusterStats(cid))
        c.members.append(i)
        s = None if scores is None else scores[i]
        if s is not None:
            c.scores.append(float(s))
        if weights is not None:
            c.weight += float(weights[i])
        elif s is not None:
            c.weight += float(s)
    seen = list(by_id.values())  # insertion order: first seen
    return sorted(seen, key=lambda c: -c.size)  # stable: ties stay in first-seen order


def _value(c: ClusterStats, by: str) -> float:
    if by == "votes":
        return float(c.size)
    if by == "weight":
        return c.weight
    v = c.mean if by == "mean" else c.max
    return -math.inf if v is None else v


def winners(
    clusters: Sequence[int],
    *,
    by: str = "votes",
    scores: Sequence[float | None] | None = None,
    weights: Sequence[float] | None = None,
    top_clusters: int | None = None,
) -> list[int]:
    """The ids of the clusters tied for first under rule ``by`` (empty when no sample has an answer).

    Args:
        clusters: Cluster id of each sample (``-1``: no answer).
        by: ``votes`` | ``weight`` | ``mean`` | ``max`` (see the module docstring).
        scores: Score per sample (None: not scored); needed by ``mean`` and ``max``.
        weights: Vote weight per sample for ``weight`` (default: the scores, missing = 0).
        top_clusters: Only the largest clusters compete (ties at the cut stay in); None: all.

    Raises:
        ValueError: An unknown rule, a rule that needs scores without them, or ``top_clusters < 1``.
    """
    if by not in CLUSTER_RULES:
        raise ValueError(f"unknown cluster rule {by!r}: use one of {', '.join(CLUSTER_RULES)}")
    if by in ("mean", "max") and scores is None:
        raise ValueError(f"the {by!r} rule needs scores")
    if top_clusters is not None and top_clusters < 1:
        raise ValueError("top_clusters must be at least 1")
    ranked = cluster_stats(clusters, scores=scores, weights=weights)
    if not ranked:
        return []
    if top_clusters is not None:
        cut = ranked[min(top_clusters, len(ranked)) - 1].size
        ranked = [c for c in ranked if c.size >= cut]
    top = max(_value(c, by) for c in ranked)
    return [c.id for c in ranked if _value(c, by) == top]
