"""Paired statistics of two runs: the exact McNemar test, the paired bootstrap, the paired table and rows."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from eval.runs import compare_runs, comparison_markdown, mcnemar_exact, paired_bootstrap
from eval.runs.load import run_from_trajectories
from eval.runs.paired import paired_table
from eval.trajectory import Trajectory


def _binom_two_sided(b: int, c: int) -> float:
    """Two-sided exact binomial test with p=1/2, by summing every outcome at most as likely as the observed."""
    n = b + c
    if n == 0:
        return 1.0
    probs = [math.comb(n, i) / 2**n for i in range(n + 1)]
    observed = probs[b]
    return min(1.0, sum(p for p in probs if p <= observed * (1 + 1e-12)))


@pytest.mark.parametrize("b,c", [(0, 0), (0, 1), (1, 9), (3, 3), (10, 2), (0, 25), (40, 60), (7, 12)])
def test_mcnemar_matches_the_exact_binomial_test(b: int, c: int) -> None:
    assert mcnemar_exact(b, c) == pytest.approx(_binom_two_sided(b, c), rel=1e-12)
    assert mcnemar_exact(b, c) == mcnemar_exact(c, b)


def test_mcnemar_known_values_and_bad_input() -> None:
    assert mcnemar_exact(0, 5) == pytest.approx(0.0625)  # 2 * (1/2)^5
    assert mcnemar_exact(1, 9) == pytest.approx(2 * 11 / 1024)
    assert mcnemar_exact(0, 2000) < 1e-300 and mcnemar_exact(1000, 1001) == 1.0  # exact fractions: no overflow
    with pytest.raises(ValueError):
        mcnemar_exact(-1, 2)


def test_paired_bootstrap_keeps_pairs_together() -> None:
    # B is A shifted by +1 on every problem: every resample has difference exactly 1 (pairs stay together);
    # resampling the two runs independently would spread the interval.
    rng = np.random.default_rng(1)
    a = rng.integers(0, 2, size=200).astype(float)
    lo, hi = paired_bootstrap(a, a + 1.0, n_bootstrap=500)
    assert lo == pytest.approx(1.0) and hi == pytest.approx(1.0)
    lo, hi = paired_bootstrap([0.0] * 80 + [1.0] * 20, [1.0] * 100, n_bootstrap=2000, seed=3)
    assert lo is not None and hi is not None and lo < 0.8 < hi
    with pytest.raises(ValueError):
        paired_bootstrap([1.0], [1.0, 0.0])


def test_paired_table_counts() -> None:
    assert paired_table([1, 1, 0, 0], [1, 0, 1, 0]) == {"fixed": 1, "broken": 1, "both_right": 1, "both_wrong": 1}


def _traj(pid: str, answer: str | None, reference: str, sample: int = 0, model: str = "m") -> Trajectory:
    return Trajectory(
        problem_id=pid,
        sample_index=sample,
        question=f"question {pid}",
        reference=reference,
        model=model,
        answer=answer,
        correct=None if answer is None else answer == reference,
        status="answered" if answer is not None else "no_answer",
    )


def test_compare_runs_counts_rows_and_json(tmp_path) -> None:
    # 10 gsm8k problems and 4 math500 ones; A right on even ids; B right everywhere but gsm8k/test/0.
    pids = [f"gsm8k/test/{i}" for i in range(10)] + [f"math500/test/algebra/{i}" for i in range(4)]
    a = run_from_trajectories([_traj(p, "1" if i % 2 == 0 else "2", "1", model="a") for i, p in enumerate(pids)])
    b_trajs = [_traj(p, "1" if p != "gsm8k/test/0" else "3", "1", model="b") for p in pids]
    b_trajs.append(_traj("gsm8k/test/99", "1", "1", model="b"))  # only in B
    b = run_from_trajectories(b_trajs, name="b")
    c = compare_runs(a, b, policy="default", n_bootstrap=1000)
    o = c.overall
    assert (o.n, o.fixed, o.broken, o.both_right, o.both_wrong) == (14, 7, 1, 6, 0)
    assert o.accuracy_a == pytest.approx(7 / 14) and o.accuracy_b == pytest.approx(13 / 14)
    assert o.difference == pytest.approx((o.fixed - o.broken) / o.n)
    assert o.p_value == pytest.approx(mcnemar_exact(7, 1))
    assert o.ci_low is not None and o.ci_high is not None and o.ci_low <= o.difference <= o.ci_high
    assert [r.group for r in c.by_benchmark] == ["gsm8k", "math500"]
    gsm = c.by_benchmark[0]
    assert (gsm.n, gsm.fixed, gsm.broken) == (10, 5, 1)
    assert c.only_b == ["gsm8k/test/99"] and c.only_a == []
    assert c.fixed == [p for i, p in enumerate(pids) if i % 2 == 1] and c.broken == ["gsm8k/test/0"]
    assert c.sample_accuracy is None  # one sample each
    again = type(c).model_validate(json.loads(c.model_dump_json()))
    assert again == c
    md = comparison_markdown(c)
    assert "| all | 14 | 50.0 | 92.9 | +42.9 |" in md and "benchmark math500" in md
    assert "1 only in B" in md


def test_compare_runs_by_level_and_vote_verdicts() -> None:
    from eval.runs.load import RunProblem

    # Three samples each: A's vote is wrong (2 of 3 say "5"), B's vote is right; level rows from the problems.
    a = run_from_trajectories([_traj("p/1", x, "4", sample=i) for i, x in enumerate(["5", "5", "4"])])
    b = run_from_trajectories([_traj("p/1", x, "4", sample=i) for i, x in enumerate(["4", "4", "5"])])
    for run in (a, b):
        problem: RunProblem = run.problems["p/1"]
        problem.level = "3"
    c = compare_runs(a, b, policy="default", n_bootstrap=0)
    assert (c.overall.fixed, c.overall.broken) == (1, 0)
    assert [r.group for r in c.by_level] == ["3"]
    assert c.sample_accuracy is not None
    assert c.sample_accuracy.accuracy_a == pytest.approx(1 / 3) and c.sample_accuracy.accuracy_b == pytest.approx(
        2 / 3
    )
    assert c.sample_accuracy.p_value is None


def test_compare_leaves_out_ungradable_problems() -> None:
    a = run_from_trajectories([_traj("p/1", "1", "1"), _traj("p/2", "1", "")])
    b = run_from_trajectories([_traj("p/1", "2", "1"), _traj("p/2", "1", "")])
    for run in (a, b):
        run.problems["p/2"].samples[0].correct = None
    c = compare_runs(a, b, policy="default", n_bootstrap=0)
    assert c.overall.n == 1 and c.ungradable == ["p/2"] and c.broken == ["p/1"]
