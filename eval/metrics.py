"""Metrics from saved per-sample records: accuracy, pass@k, maj@k, weighted maj@k, rerank@k, with
bootstrap confidence intervals and per-subject / per-level breakdowns.

Estimators (per problem with ``n`` graded samples, ``c`` of them correct; then the mean over problems):

- ``accuracy``: ``c / n`` (the unbiased pass@1).
- ``pass@k``: Chen et al. (2021), ``1 - C(n-c, k) / C(n, k)``, computed in the stable product form
  ``1 - prod_{i=n-c+1..n} (1 - k/i)``.
- ``maj@k``: the expected correctness of a majority vote over a uniformly random subset of ``k`` of
  the ``n`` samples. Answers are clustered into equivalence classes with the grader (``grade``, not
  string equality; comparisons are cached); samples without an answer do not vote. A tie between
  clusters counts as the expected value of a uniform random tie-break (fractional credit). The
  average over subsets is exact (all ``C(n, k)`` subsets) when ``C(n, k) <= max_subsets``, else over
  ``num_subsets`` random subsets drawn with ``random.Random(f"{seed}:{problem_id}:{k}")``, so the
  estimate is deterministic for a seed.
- ``weighted_maj@k``: as maj@k, but a cluster's vote is the sum of its members' verifier scores
  (missing scores weigh 0).
- ``rerank@k``: solution-cluster re-ranking (Liu et al. 2023): within the subset, keep the
  ``top_clusters`` largest answer clusters (clusters tied in size with the last one kept stay in),
  then take the cluster with the highest mean verifier score (``rerank_by="mean"``, the default;
  missing scores are left out of the mean, a cluster without scores ranks last), or the answer of the
  single best-scored sample among them (``rerank_by="max"``). The rules live in ``eval.selection``,
  which ``agent.rerank`` selects with too.
- Confidence intervals: percentile bootstrap over problems (``n_bootstrap`` resamples, numpy
  ``default_rng(seed)``), 95 % by default.

A problem whose samples all have ``correct=None`` (ungradable gold) is skipped and counted.

Example:
    >>> recs = [SampleRecord(problem_id="p", sample=i, pred=a, correct=a == "2") for i, a in enumerate("223")]
    >>> m = compute_metrics(recs, ks=[1, 3], equivalent=lambda a, b: a == b, n_bootstrap=0)
    >>> round(m.overall["pass@1"].value, 4), m.overall["pass@3"].value, m.overall["maj@3"].value
    (0.6667, 1.0, 1.0)
"""

from __future__ import annotations

import itertools
import logging
import math
import random
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from .selection import winners

__all__ = [
    "SampleRecord",
    "MetricValue",
    "Metrics",
    "compute_metrics",
    "pass_at_k",
    "cluster_answers",
    "vote_value",
    "bootstrap_ci",
    "default_ks",
    "read_sample_records",
]

logger = logging.getLogger(__name__)

Equivalent = Callable[[str, str], bool]


class SampleRecord(BaseModel):
    """One graded sample of one problem (a line of ``predictions.jsonl``)."""

    model_config = ConfigDict(extra="forbid")

    problem_id: str = Field(description="The problem's stable id.")
    sample: int = Field(0, description="Sample index within the problem (0-based).")
    pred: str | None = Field(None, description="The extracted predicted answer; None if there was none.")
    correct: bool | None = Field(None, description="Grader verdict; None when the gold answer is ungradable.")
    score: float | None = Field(None, description="Verifier / critic score (higher is better), if any.")
    subject: str | None = Field(None, description="Subject for breakdowns (MATH).")
    level: str | None = Field(None, description="Difficulty level for breakdowns (MATH: '1'..'5').")
    gold: str | None = Field(None, description="The reference answer (for reports).")

    @field_validator("level", mode="before")
    @classmethod
    def _level_str(cls, v: object) -> object:
        return str(v) if isinstance(v, int) and not isinstance(v, bool) else v


def read_sample_records(path: str | Path) -> list[SampleRecord]:
    """Read saved per-sample records (``predictions.jsonl``); a bad line raises with file and line.

    Example:
        >>> import tempfile, pathlib
        >>> f = pathlib.Path(tempfile.mkdtemp()) / "predictions.jsonl"
        >>> _ = f.write_text('{"problem_id": "p", "pred": "1", "correct": true}\\n')
        >>> read_sample_records(f)[0].correct
        True
    """
    from .errors import MalformedRecordError

    out = []
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                out.append(SampleRecord.model_validate_json(line))
            except ValueError as exc:
                reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                raise MalformedRecordError(path, lineno, f"not a SampleRecord: {reason}") from None
    return out


class MetricValue(BaseModel):
    """A metric's value with its bootstrap confidence interval."""

    model_config = ConfigDict(extra="forbid")

    value: float
    ci_low: float | None = None
    ci_high: float | None = None
    n: int = Field(description="Number of problems it averages over.")


class Metrics(BaseModel):
    """Everything :func:`compute_metrics` computes (serialised as ``metrics.json``)."""

    model_config = ConfigDict(extra="forbid")

    n_problems: int
    n_samples: int
    n_skipped_problems: int = Field(description="Problems with no gradable sample (ungradable gold).")
    n_no_answer: int = Field(description="Samples without an extracted answer.")
    ks: list[int]
    overall: dict[str, MetricValue]
    by_subject: dict[str, dict[str, MetricValue]] = Field(default_factory=dict)
    by_level: dict[str, dict[str, MetricValue]] = Field(default_factory=dict)
    settings: dict[str, object] = Field(default_factory=dict)
    grader: str = ""

    def curve(self, family: str) -> dict[int, float]:
        """``{k: value}`` for ``family`` in ``pass``, ``maj``, ``weighted_maj``, ``rerank``."""
        out = {}
        for k in self.ks:
            v = self.overall.get(f"{family}@{k}")
            if v is not None:
                out[k] = v.value
        return out


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k of one problem (Chen et al. 2021), in the numerically stable product form.

    Args:
        n: Samples drawn.
        c: Correct samples.
        k: Budget (``1 <= k <= n``).

    Example:
        >>> round(pass_at_k(5, 2, 1), 6), round(pass_at_k(5, 2, 2), 6), pass_at_k(4, 0, 2), pass_at_k(3, 2, 2)
        (0.4, 0.7, 0.0, 1.0)
    """
    if not 1 <= k <= n:
        raise ValueError(f"pass@k needs 1 <= k <= n, got k={k}, n={n}")
    if not 0 <= c <= n:
        raise ValueError(f"c must be in [0, n], got c={c}, n={n}")
    if n - c < k:
        return 1.0
    if k == 1:
        return c / n
    return float(1.0 - np.prod(1.0 - k / np.arange(n - c + 1, n + 1)))


def cluster_answers(
    preds: Sequence[str | None], equivalent: Equivalent, cache: dict[tuple[str, str], bool] | None = None
) -> list[int]:
    """Cluster answers into equivalence classes; ``-1`` for a missing answer.

    Each answer joins the first cluster whose representative (its first member) is equivalent to it
    (``equivalent(answer, representative)``); identical strings are compared once.

    Example:
        >>> cluster_answers(["1/2", "0.5", None, "3", "0.5"], lambda a, b: eval(a) == eval(b))
        [0, 0, -1, 1, 0]
    """
    cache = {} if cache is None else cache
    reps: list[str] = []
    of_string: dict[str, int] = {}
    out: list[int] = []
    for a in preds:
        if a is None or not str(a).strip():
            out.append(-1)
            continue
        if a in of_string:
            out.append(of_string[a])
            continue
        cid = -1
        for i, rep in enumerate(reps):
            key = (a, rep)
            if key not in cache:
                cache[key] = bool(equivalent(a, rep))
            if cache[key]:
                cid = i
                break
        if cid == -1:
            reps.append(a)
            cid = len(reps) - 1
        of_string[a] = cid
        out.append(cid)
    return out


def vote_value(
    clusters: Sequence[int],
    cluster_correct: dict[int, float],
    *,
    weights: Sequence[float] | None = None,
    scores: Sequence[float | None] | None = None,
    top_clusters: int | None = None,
    rerank_by: str = "mean",
) -> float:
    """Expected correctness of one vote over the given samples (ties: uniform random tie-break).

    Args:
        clusters: Cluster id of each sample (``-1``: no answer, no vote).
        cluster_correct: Correctness (0..1) of each cluster.
        weights: Vote weight per sample (weighted majority); default 1.
        scores: Verifier score per sample: with ``top_clusters``, re-ranking (best-scored sample
            among the largest ``top_clusters`` clusters).
        top_clusters: How many of the largest clusters re-ranking keeps.
        rerank_by: ``mean``: the kept cluster with the highest mean score wins; ``max``: the cluster of
            the best-scored sample wins.

    Example:
        >>> vote_value([0, 0, 1], {0: 1.0, 1: 0.0}), vote_value([0, 1], {0: 1.0, 1: 0.0})
        (1.0, 0.5)
        >>> vote_value([0, 0, 1], {0: 0.0, 1: 1.0}, scores=[0.1, 0.2, 0.9], top_clusters=2)
        1.0
        >>> vote_value([0, 0, 1], {0: 1.0, 1: 0.0}, scores=[0.9, 0.8, 0.95], top_clusters=2, rerank_by="max")
        0.0
    """
    if top_clusters is not None:
        if scores is None:
            raise ValueError("re-ranking needs scores")
        if rerank_by not in ("mean", "max"):
            raise ValueError(f"rerank_by must be 'mean' or 'max', got {rerank_by!r}")
        won = winners(clusters, by=rerank_by, scores=scores, top_clusters=top_clusters)
    else:
        won = winners(clusters, by="votes" if weights is None else "weight", weights=weights)
    if not won:
        return 0.0
    return sum(cluster_correct[c] for c in won) / len(won)


def _subsets(n: int, k: int, key: str, max_subsets: int, num_subsets: int) -> Iterable[tuple[int, ...]]:
    if math.comb(n, k) <= max_subsets:
        return itertools.combinations(range(n), k)
    rng = random.Random(key)
    return [tuple(sorted(rng.sample(range(n), k))) for _ in range(num_subsets)]


def bootstrap_ci(
    values: Sequence[float], *, n_bootstrap: int = 1000, seed: int = 0, level: float = 0.95
) -> tuple[float | None, float | None]:
    """Percentile bootstrap interval of the mean of ``values`` (None, None when not computable).

    Example:
        >>> bootstrap_ci([1.0, 1.0, 1.0], n_bootstrap=100)
        (1.0, 1.0)
    """
    v = np.asarray(values, dtype=float)
    if n_bootstrap <= 0 or v.size == 0:
        return None, None
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, v.size, size=(n_bootstrap, v.size))
    means = v[idx].mean(axis=1)
    lo, hi = np.quantile(means, [(1 - level) / 2, 1 - (1 - level) / 2])
    return float(lo), float(hi)


def default_ks(n: int) -> list[int]:
    """Powers of two up to ``n``, plus ``n``.

    Example:
        >>> default_ks(1), default_ks(6), default_ks(8)
        ([1], [1, 2, 4, 6], [1, 2, 4, 8])
    """
    ks, k = [], 1
    while k <= n:
        ks.append(k)
        k *= 2
    if n >= 1 and ks[-1] != n:
        ks.append(n)
    return ks


def _default_equivalent() -> Equivalent:
    from .grade import grade

    return lambda a, b: bool(grade(a, b))


def compute_metrics(
    records: Iterable[SampleRecord],
    *,
    ks: Sequence[int] | None = None,
    equivalent: Equivalent | None = None,
    top_clusters: int = 2,
    rerank_by: str = "mean",
    n_bootstrap: int = 1000,
    seed: int = 0,
    max_subsets: int = 200,
    num_subsets: int = 200,
    level: float = 0.95,
) -> Metrics:
    """Compute all metrics from per-sample records (see the module docstring for the estimators).

    Args:
        records: Graded samples (any order; several per problem for k > 1).
        ks: Budgets for pass/maj/rerank@k (default: powers of two up to the smallest sample count).
            A k above a problem's sample count is left out for all problems.
        equivalent: Answer equivalence for clustering (default: the grader).
        top_clusters: Clusters kept by rerank@k.
        rerank_by: How rerank@k picks among the kept clusters: ``mean`` or ``max`` score.
        n_bootstrap: Bootstrap resamples for the intervals (0: no intervals).
        seed: Seed of the subset draws and the bootstrap.
        max_subsets: Enumerate all subsets when there are at most this many.
        num_subsets: Random subsets per problem and k otherwise.
        level: Confidence level of the intervals.

    Returns:
        :class:`Metrics`.

    Example:
        >>> recs = [SampleRecord(problem_id=f"p{i}", pred="1", correct=i % 2 == 0, subject="A") for i in range(4)]
        >>> m = compute_metrics(recs, n_bootstrap=0)
        >>> m.overall["accuracy"].value, m.by_subject["A"]["accuracy"].n
        (0.5, 4)
    """
    from .grade import grader_version

    equivalent = equivalent or _default_equivalent()
    groups: dict[str, list[SampleRecord]] = defaultdict(list)
    n_samples = n_no_answer = 0
    for r in records:
        groups[r.problem_id].append(r)
        n_samples += 1
        n_no_answer += r.pred is None
    graded: dict[str, list[SampleRecord]] = {}
    for pid, rs in sorted(groups.items()):  # sorted: results do not depend on the order of the records
        rs = sorted((r for r in rs if r.correct is not None), key=lambda r: r.sample)
        if rs:
            graded[pid] = rs
    skipped = len(groups) - len(graded)
    min_n = min((len(rs) for rs in graded.values()), default=0)
    requested = list(ks) if ks else default_ks(min_n)
    ks = sorted({k for k in requested if 1 <= k <= min_n})
    dropped = [k for k in requested if k > min_n]
    if dropped:
        logger.warning("k=%s left out: some problems have only %d samples", dropped, min_n)
    has_scores = any(r.score is not None for rs in graded.values() for r in rs)
    cache: dict[tuple[str, str], bool] = {}

    per_problem: dict[str, dict[str, float]] = {}
    for pid, rs in graded.items():
        n, c = len(rs), sum(bool(r.correct) for r in rs)
        vals: dict[str, float] = {"accuracy": c / n}
        clusters = cluster_answers([r.pred for r in rs], equivalent, cache)
        members: dict[int, list[bool]] = defaultdict(list)
        for cid, r in zip(clusters, rs, strict=True):
            if cid >= 0:
                members[cid].append(bool(r.correct))
        correct_of = {cid: sum(m) / len(m) for cid, m in members.items()}
        scores = [r.score for r in rs]
        weights = [r.score or 0.0 for r in rs]
        for k in ks:
            vals[f"pass@{k}"] = pass_at_k(n, c, k)
            maj, wmaj, rr, count = 0.0, 0.0, 0.0, 0
            for sub in _subsets(n, k, f"{seed}:{pid}:{k}", max_subsets, num_subsets):
                cl = [clusters[i] for i in sub]
                maj += vote_value(cl, correct_of)
                if has_scores:
                    wmaj += vote_value(cl, correct_of, weights=[weights[i] for i in sub])
                    rr += vote_value(
                        cl, correct_of, scores=[scores[i] for i in sub], top_clusters=top_clusters, rerank_by=rerank_by
                    )
                count += 1
            vals[f"maj@{k}"] = maj / count
            if has_scores:
                vals[f"weighted_maj@{k}"] = wmaj / count
                vals[f"rerank@{k}"] = rr / count
        per_problem[pid] = vals

    present = set(next(iter(per_problem.values()))) if per_problem else {"accuracy"}
    families = ("pass", "maj", "weighted_maj", "rerank")
    names = ["accuracy"] + [f"{f}@{k}" for f in families for k in ks if f"{f}@{k}" in present]

    def summarise(pids: list[str]) -> dict[str, MetricValue]:
        out = {}
        for name in names:
            v = [per_problem[p][name] for p in pids]
            lo, hi = bootstrap_ci(v, n_bootstrap=n_bootstrap, seed=seed, level=level)
            out[name] = MetricValue(value=float(np.mean(v)) if v else 0.0, ci_low=lo, ci_high=hi, n=len(v))
        return out

    by_subject: dict[str, list[str]] = defaultdict(list)
    by_level: dict[str, list[str]] = defaultdict(list)
    for pid, rs in graded.items():
        if rs[0].subject is not None:
            by_subject[rs[0].subject].append(pid)
        if rs[0].level is not None:
            by_level[rs[0].level].append(pid)
    return Metrics(
        n_problems=len(graded),
        n_samples=n_samples,
        n_skipped_problems=skipped,
        n_no_answer=n_no_answer,
        ks=list(ks),
        overall=summarise(list(graded)),
        by_subject={s: summarise(p) for s, p in sorted(by_subject.items())},
        by_level={lv: summarise(p) for lv, p in sorted(by_level.items(), key=lambda x: (len(x[0]), x[0]))},
        settings={
            "top_clusters": top_clusters,
            "rerank_by": rerank_by,
            "n_bootstrap": n_bootstrap,
            "seed": seed,
            "max_subsets": max_subsets,
            "num_subsets": num_subsets,
            "ci_level": level,
        },
        grader=grader_version(),
    )
