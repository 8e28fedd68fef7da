"""Metric estimators against hand-computed values and brute-force enumeration."""

from __future__ import annotations

import itertools
import math
import random
from collections import Counter
from fractions import Fraction

import pytest

from eval.metrics import (
    SampleRecord,
    bootstrap_ci,
    cluster_answers,
    compute_metrics,
    default_ks,
    pass_at_k,
    vote_value,
)


def same(a: str, b: str) -> bool:
    return a == b


def recs(pid: str, answers: list[str | None], gold: str, scores=None, **kw) -> list[SampleRecord]:
    return [
        SampleRecord(
            problem_id=pid, sample=i, pred=a, correct=a == gold, score=None if scores is None else scores[i], **kw
        )
        for i, a in enumerate(answers)
    ]


# ---------------------------------------------------------------- pass@k


@pytest.mark.parametrize(
    ("n", "c", "k", "expected"),
    [
        (1, 1, 1, Fraction(1)),
        (1, 0, 1, Fraction(0)),
        (5, 2, 1, Fraction(2, 5)),
        (5, 2, 2, Fraction(7, 10)),  # 1 - C(3,2)/C(5,2) = 1 - 3/10
        (5, 2, 3, Fraction(9, 10)),  # 1 - C(3,3)/C(5,3) = 1 - 1/10
        (5, 2, 4, Fraction(1)),
        (10, 1, 5, Fraction(1, 2)),
        (4, 0, 4, Fraction(0)),
        (6, 3, 2, Fraction(4, 5)),  # 1 - C(3,2)/C(6,2) = 1 - 3/15
    ],
)
def test_pass_at_k_hand_computed(n: int, c: int, k: int, expected: Fraction) -> None:
    assert pass_at_k(n, c, k) == pytest.approx(float(expected), abs=1e-12)


def test_pass_at_k_matches_brute_force() -> None:
    for n in range(1, 9):
        for c in range(n + 1):
            outcomes = [True] * c + [False] * (n - c)
            for k in range(1, n + 1):
                subsets = list(itertools.combinations(outcomes, k))
                brute = sum(any(s) for s in subsets) / len(subsets)
                assert pass_at_k(n, c, k) == pytest.approx(brute, abs=1e-12), (n, c, k)


def test_pass_at_k_is_stable_for_large_n() -> None:
    v = pass_at_k(10_000, 3, 100)
    assert v == pytest.approx(1 - math.comb(9997, 100) / math.comb(10_000, 100), rel=1e-9)


def test_pass_at_k_rejects_bad_k() -> None:
    with pytest.raises(ValueError):
        pass_at_k(3, 1, 4)
    with pytest.raises(ValueError):
        pass_at_k(3, 4, 1)


# ---------------------------------------------------------------- maj@k


def test_vote_value_hand_computed() -> None:
    assert vote_value([0, 0, 1], {0: 1.0, 1: 0.0}) == 1.0
    assert vote_value([0, 1, 1], {0: 1.0, 1: 0.0}) == 0.0
    assert vote_value([0, 1], {0: 1.0, 1: 0.0}) == 0.5  # tie: expected value of a coin flip
    assert vote_value([0, 1, 2], {0: 1.0, 1: 0.0, 2: 0.0}) == pytest.approx(1 / 3)
    assert vote_value([-1, -1], {}) == 0.0  # no answers: wrong
    assert vote_value([-1, 0], {0: 1.0}) == 1.0  # a missing answer does not vote


def brute_maj(answers: list[str | None], gold: str, k: int) -> float:
    total = 0.0
    subsets = list(itertools.combinations(range(len(answers)), k))
    for sub in subsets:
        votes = Counter(answers[i] for i in sub if answers[i] is not None)
        if not votes:
            continue
        top = max(votes.values())
        tied = [a for a, v in votes.items() if v == top]
        total += sum(a == gold for a in tied) / len(tied)
    return total / len(subsets)


def test_maj_at_k_hand_computed() -> None:
    # answers 2,2,3: maj@1 = 2/3; maj@2: subsets {2,2}->1, {2,3}->1/2, {2,3}->1/2 => 2/3; maj@3 = 1
    m = compute_metrics(recs("p", ["2", "2", "3"], "2"), ks=[1, 2, 3], equivalent=same, n_bootstrap=0)
    assert m.overall["maj@1"].value == pytest.approx(2 / 3)
    assert m.overall["maj@2"].value == pytest.approx(2 / 3)
    assert m.overall["maj@3"].value == 1.0
    assert m.overall["pass@2"].value == pytest.approx(1.0)


def test_maj_at_k_matches_brute_force() -> None:
    rng = random.Random(1)
    for _ in range(30):
        n = rng.randint(1, 7)
        answers = [rng.choice(["1", "2", "3", None]) for _ in range(n)]
        k = rng.randint(1, n)
        m = compute_metrics(recs("p", answers, "1"), ks=[k], equivalent=same, n_bootstrap=0)
        assert m.overall[f"maj@{k}"].value == pytest.approx(brute_maj(answers, "1", k), abs=1e-12), (answers, k)


def test_maj_at_k_sampled_subsets_are_deterministic_and_close() -> None:
    rng = random.Random(2)
    answers = [rng.choice(["1", "1", "2", "3"]) for _ in range(16)]
    exact = brute_maj(answers, "1", 5)  # C(16,5) = 4368 subsets > max_subsets: sampled
    a = compute_metrics(recs("p", answers, "1"), ks=[5], equivalent=same, n_bootstrap=0, num_subsets=400)
    b = compute_metrics(recs("p", answers, "1"), ks=[5], equivalent=same, n_bootstrap=0, num_subsets=400)
    assert a.overall["maj@5"].value == b.overall["maj@5"].value
    assert a.overall["maj@5"].value == pytest.approx(exact, abs=0.05)


def test_maj_clusters_with_the_grader() -> None:
    # "1/2", "0.5" and "\frac12" are one answer for the grader: 3 votes against 2 for "3"
    answers = ["1/2", "0.5", "3", "\\frac12", "3"]
    records = [SampleRecord(problem_id="p", sample=i, pred=a, correct=a != "3") for i, a in enumerate(answers)]
    m = compute_metrics(records, ks=[5], n_bootstrap=0)
    assert m.overall["maj@5"].value == 1.0
    by_string = compute_metrics(records, ks=[5], equivalent=same, n_bootstrap=0)
    assert by_string.overall["maj@5"].value == 0.0  # string equality: "3" wins 2 to 1


def test_cluster_answers_caches_comparisons() -> None:
    calls = []

    def eq(a: str, b: str) -> bool:
        calls.append((a, b))
        return a == b

    cache: dict = {}
    assert cluster_answers(["a", "b", "a", "b", "c"], eq, cache) == [0, 1, 0, 1, 2]
    n = len(calls)
    cluster_answers(["a", "b", "c"], eq, cache)
    assert len(calls) == n


# ---------------------------------------------------------------- weighted maj@k and rerank@k


def test_weighted_maj_hand_computed() -> None:
    # "3" has two votes but weight 0.2 + 0.2; "2" one vote with weight 0.9
    r = recs("p", ["3", "3", "2"], "2", scores=[0.2, 0.2, 0.9])
    m = compute_metrics(r, ks=[3], equivalent=same, n_bootstrap=0)
    assert m.overall["maj@3"].value == 0.0
    assert m.overall["weighted_maj@3"].value == 1.0


def test_rerank_hand_computed() -> None:
    # clusters: "3" x3 (scores .1 .2 .3), "2" x2 (.8 .9), "5" x1 (.95)
    r = recs("p", ["3", "3", "3", "2", "2", "5"], "2", scores=[0.1, 0.2, 0.3, 0.8, 0.9, 0.95])
    m = compute_metrics(r, ks=[6], equivalent=same, n_bootstrap=0)
    assert m.overall["maj@6"].value == 0.0
    # top 2 clusters ("3", "2"); best score among them 0.9 -> "2"; the singleton "5" (0.95) is cut
    assert m.overall["rerank@6"].value == 1.0
    m1 = compute_metrics(r, ks=[6], equivalent=same, n_bootstrap=0, top_clusters=1)
    assert m1.overall["rerank@6"].value == 0.0
    m3 = compute_metrics(r, ks=[6], equivalent=same, n_bootstrap=0, top_clusters=3)
    assert m3.overall["rerank@6"].value == 0.0  # "5" scores best


def test_rerank_mean_and_max_differ() -> None:
    # "2" x2 (.5 .5, mean .5), "3" x2 (.9 .0, mean .45): mean picks "2", max picks "3"
    r = recs("p", ["2", "2", "3", "3"], "2", scores=[0.5, 0.5, 0.9, 0.0])
    assert compute_metrics(r, ks=[4], equivalent=same, n_bootstrap=0).overall["rerank@4"].value == 1.0
    m = compute_metrics(r, ks=[4], equivalent=same, n_bootstrap=0, rerank_by="max")
    assert m.overall["rerank@4"].value == 0.0


@pytest.mark.parametrize("rerank_by", ["mean", "max"])
def test_rerank_brute_force(rerank_by: str) -> None:
    rng = random.Random(3)
    for _ in range(20):
        n = rng.randint(2, 6)
        answers = [rng.choice(["1", "2", "3"]) for _ in range(n)]
        scores = [rng.random() for _ in range(n)]
        k = rng.randint(1, n)
        m = compute_metrics(
            recs("p", answers, "1", scores=scores), ks=[k], equivalent=same, n_bootstrap=0, rerank_by=rerank_by
        )
        total = 0.0
        subsets = list(itertools.combinations(range(n), k))
        for sub in subsets:
            size = Counter(answers[i] for i in sub)
            ranked = sorted(size.values(), reverse=True)
            cut = ranked[min(2, len(ranked)) - 1]
            cand = [i for i in sub if size[answers[i]] >= cut]
            if rerank_by == "max":
                winner = answers[max(cand, key=lambda i: scores[i])]
            else:
                kept = {answers[i] for i in cand}
                mean = {a: sum(scores[i] for i in cand if answers[i] == a) / size[a] for a in kept}
                winner = max(kept, key=lambda a: mean[a])
            total += winner == "1"
        assert m.overall[f"rerank@{k}"].value == pytest.approx(total / len(subsets)), (answers, scores, k)


def test_no_scores_no_weighted_metrics() -> None:
    m = compute_metrics(recs("p", ["1", "2"], "1"), ks=[2], equivalent=same, n_bootstrap=0)
    assert "weighted_maj@2" not in m.overall and "rerank@2" not in m.overall


# ---------------------------------------------------------------- aggregation


def test_accuracy_averages_problems_then_breakdowns() -> None:
    r = (
        recs("a", ["1", "1", "2", "2"], "1", subject="Algebra", level=1)
        + recs("b", ["5"], "5", subject="Geometry", level=2)
        + recs("c", ["0", "0"], "9", subject="Algebra", level=2)
    )
    m = compute_metrics(r, equivalent=same, n_bootstrap=200)
    assert m.ks == [1]  # problem "b" has one sample
    assert m.overall["accuracy"].value == pytest.approx((0.5 + 1 + 0) / 3)
    assert m.by_subject["Algebra"]["accuracy"].value == pytest.approx(0.25)
    assert m.by_subject["Geometry"]["accuracy"].n == 1
    assert set(m.by_level) == {"1", "2"} and m.by_level["2"]["accuracy"].value == pytest.approx(0.5)
    assert m.overall["accuracy"].ci_low <= m.overall["accuracy"].value <= m.overall["accuracy"].ci_high


def test_ungradable_problems_are_skipped_not_zero() -> None:
    r = recs("a", ["1"], "1") + [SampleRecord(problem_id="b", pred="1", correct=None)]
    m = compute_metrics(r, equivalent=same, n_bootstrap=0)
    assert m.n_problems == 1 and m.n_skipped_problems == 1 and m.overall["accuracy"].value == 1.0


def test_bootstrap_is_seeded() -> None:
    rng = random.Random(4)
    v = [rng.random() for _ in range(50)]
    assert bootstrap_ci(v, seed=3) == bootstrap_ci(v, seed=3)
    assert bootstrap_ci(v, seed=3) != bootstrap_ci(v, seed=4)
    lo, hi = bootstrap_ci(v, n_bootstrap=2000)
    assert lo < sum(v) / len(v) < hi
    assert bootstrap_ci([], n_bootstrap=10) == (None, None)


def test_default_ks_and_k_too_large() -> None:
    assert default_ks(16) == [1, 2, 4, 8, 16]
    m = compute_metrics(recs("p", ["1", "2", "1"], "1"), ks=[1, 2, 8], equivalent=same, n_bootstrap=0)
    assert m.ks == [1, 2] and "pass@8" not in m.overall


def test_level_ints_become_strings() -> None:
    assert SampleRecord(problem_id="p", level=3).level == "3"


def test_results_do_not_depend_on_record_order() -> None:
    rng = random.Random(5)
    r = []
    for p in range(10):
        r += recs(f"p{p}", [rng.choice("123") for _ in range(6)], "1", scores=[rng.random() for _ in range(6)])
    a = compute_metrics(r, equivalent=same, n_bootstrap=100)
    rng.shuffle(r)
    b = compute_metrics(r, equivalent=same, n_bootstrap=100)
    assert a == b
