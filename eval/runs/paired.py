"""Two runs on the same problems, compared problem by problem: the paired table, an exact McNemar test
and the accuracy difference with a paired bootstrap interval, overall, per benchmark and per level.

Each problem has one verdict per run (:mod:`eval.runs.verdicts`: the voted answer is correct, or with
one sample, the sample is). Over the problems both runs hold and can grade:

- the paired table: *fixed* (wrong in A, right in B), *broken* (right in A, wrong in B), *both right*
  and *both wrong*;
- the exact McNemar test: under "A and B are equally good", each of the ``fixed + broken`` discordant
  problems is fixed or broken with probability 1/2, so the two-sided p-value is
  ``min(1, 2 * P[Binomial(fixed + broken, 1/2) <= min(fixed, broken)])`` (1 with no discordant pair);
- the accuracy difference ``acc(B) - acc(A) = (fixed - broken) / n`` with a percentile bootstrap
  interval that resamples *problems* (both runs' verdicts of a problem stay together), seeded.

With several samples per problem, the same is also given for the mean per-sample accuracy (``c / n``
of each problem) as ``sample_accuracy``, without a McNemar test (its outcomes are not binary).

Example:
    >>> mcnemar_exact(0, 0), round(mcnemar_exact(1, 9), 4), mcnemar_exact(5, 5)
    (1.0, 0.0215, 1.0)
    >>> a, b = [1, 0, 0, 1, 1], [1, 1, 1, 1, 0]
    >>> paired_table(a, b)
    {'fixed': 2, 'broken': 1, 'both_right': 2, 'both_wrong': 0}
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from fractions import Fraction
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from .load import Run
from .verdicts import ProblemVerdict, run_verdicts

__all__ = [
    "PairedRow",
    "RunComparison",
    "compare_runs",
    "comparison_markdown",
    "mcnemar_exact",
    "paired_bootstrap",
    "paired_table",
]


def mcnemar_exact(fixed: int, broken: int) -> float:
    """The two-sided exact McNemar p-value of ``fixed`` vs ``broken`` discordant pairs (exact binomial).

    Computed with exact fractions, so it is right for any count (no normal approximation).

    Example:
        >>> mcnemar_exact(0, 6), mcnemar_exact(2, 3)
        (0.03125, 1.0)
    """
    if fixed < 0 or broken < 0:
        raise ValueError("counts must be >= 0")
    n = fixed + broken
    if n == 0:
        return 1.0
    k = min(fixed, broken)
    tail = Fraction(sum(math.comb(n, i) for i in range(k + 1)), 2**n)
    return float(min(Fraction(1), 2 * tail))


def paired_table(a: Sequence[int | bool], b: Sequence[int | bool]) -> dict[str, int]:
    """``fixed``, ``broken``, ``both_right``, ``both_wrong`` of paired binary verdicts (A then B)."""
    if len(a) != len(b):
        raise ValueError(f"paired verdicts need equal lengths, got {len(a)} and {len(b)}")
    out = {"fixed": 0, "broken": 0, "both_right": 0, "both_wrong": 0}
    for x, y in zip(a, b, strict=True):
        key = ("both_right" if y else "broken") if x else ("fixed" if y else "both_wrong")
        out[key] += 1
    return out


def paired_bootstrap(
    a: Sequence[float], b: Sequence[float], *, n_bootstrap: int = 10000, seed: int = 0, level: float = 0.95
) -> tuple[float | None, float | None]:
    """Percentile bootstrap interval of ``mean(b) - mean(a)``, resampling pairs (problems) together.

    Example:
        >>> paired_bootstrap([0, 1, 1], [1, 1, 1], n_bootstrap=0)
        (None, None)
        >>> lo, hi = paired_bootstrap([0] * 50 + [1] * 50, [1] * 100, n_bootstrap=2000)
        >>> 0.38 < lo < 0.5 < hi < 0.62
        True
    """
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if x.shape != y.shape:
        raise ValueError(f"paired values need equal lengths, got {x.size} and {y.size}")
    if n_bootstrap <= 0 or x.size == 0:
        return None, None
    d = y - x
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, d.size, size=(n_bootstrap, d.size))
    means = d[idx].mean(axis=1)
    lo, hi = np.quantile(means, [(1 - level) / 2, 1 - (1 - level) / 2])
    return float(lo), float(hi)


class PairedRow(BaseModel):
    """The comparison over one group of problems (all, one benchmark, one level)."""

    model_config = ConfigDict(extra="forbid")

    group: str = Field(description="'all', or the benchmark or level the row covers.")
    n: int = Field(description="Problems both runs hold and can grade.")
    accuracy_a: float
    accuracy_b: float
    difference: float = Field(description="accuracy_b - accuracy_a.")
    ci_low: float | None = Field(None, description="Paired bootstrap interval of the difference.")
    ci_high: float | None = None
    fixed: int = Field(0, description="Wrong in A, right in B.")
    broken: int = Field(0, description="Right in A, wrong in B.")
    both_right: int = 0
    both_wrong: int = 0
    p_value: float | None = Field(None, description="Exact McNemar p-value (two-sided).")


class RunComparison(BaseModel):
    """Everything ``mathagent compare`` reports (its JSON)."""

    model_config = ConfigDict(extra="forbid")

    run_a: str
    run_b: str
    model_a: str = ""
    model_b: str = ""
    overall: PairedRow
    by_benchmark: list[PairedRow] = Field(default_factory=list)
    by_level: list[PairedRow] = Field(default_factory=list)
    sample_accuracy: PairedRow | None = Field(
        None, description="The mean per-sample accuracy (c/n per problem), when a run has several samples."
    )
    only_a: list[str] = Field(default_factory=list, description="Problems only run A holds.")
    only_b: list[str] = Field(default_factory=list, description="Problems only run B holds.")
    ungradable: list[str] = Field(default_factory=list, description="Common problems without a gradable verdict.")
    fixed: list[str] = Field(default_factory=list, description="Ids of the fixed problems.")
    broken: list[str] = Field(default_factory=list, description="Ids of the broken problems.")
    settings: dict[str, object] = Field(default_factory=dict)


def _row(
    group: str, a: Sequence[float], b: Sequence[float], *, n_bootstrap: int, seed: int, level: float, test: bool = True
) -> PairedRow:
    lo, hi = paired_bootstrap(a, b, n_bootstrap=n_bootstrap, seed=seed, level=level)
    acc_a = float(np.mean(a)) if len(a) else 0.0
    acc_b = float(np.mean(b)) if len(b) else 0.0
    row = PairedRow(
        group=group, n=len(a), accuracy_a=acc_a, accuracy_b=acc_b, difference=acc_b - acc_a, ci_low=lo, ci_high=hi
    )
    if test:
        table = paired_table([bool(x) for x in a], [bool(y) for y in b])
        row = row.model_copy(update={**table, "p_value": mcnemar_exact(table["fixed"], table["broken"])})
    return row


def _level_key(level: str) -> tuple:
    return (0, int(level), "") if level.isdigit() else (1, 0, level)


def compare_runs(
    run_a: Run,
    run_b: Run,
    *,
    verdicts_a: Mapping[str, ProblemVerdict] | None = None,
    verdicts_b: Mapping[str, ProblemVerdict] | None = None,
    policy: str | None = None,
    n_bootstrap: int = 10000,
    seed: int = 0,
    level: float = 0.95,
) -> RunComparison:
    """Compare two runs problem by problem (see the module docstring).

    Args:
        run_a: The baseline.
        run_b: The run compared with it (``fixed`` means right in B only).
        verdicts_a: Precomputed verdicts of A (default: :func:`~eval.runs.verdicts.run_verdicts`).
        verdicts_b: Likewise for B.
        policy: Grading policy for the vote classes (default: each run's own, else each benchmark's).
        n_bootstrap: Bootstrap resamples of the intervals (0: none).
        seed: The bootstrap's seed.
        level: The intervals' confidence level.
    """
    va = verdicts_a if verdicts_a is not None else run_verdicts(run_a, policy=policy)
    vb = verdicts_b if verdicts_b is not None else run_verdicts(run_b, policy=policy)
    common = [pid for pid in run_a.problems if pid in run_b.problems]
    gradable = [pid for pid in common if va[pid].correct is not None and vb[pid].correct is not None]
    opts: dict[str, Any] = {"n_bootstrap": n_bootstrap, "seed": seed, "level": level}

    def rows(pids: list[str], group: str) -> PairedRow:
        return _row(
            group, [float(bool(va[p].correct)) for p in pids], [float(bool(vb[p].correct)) for p in pids], **opts
        )

    by_bench: dict[str, list[str]] = {}
    by_level: dict[str, list[str]] = {}
    for pid in gradable:
        problem = run_a.problems[pid]
        by_bench.setdefault(problem.benchmark, []).append(pid)
        lv = problem.level or run_b.problems[pid].level
        if lv is not None:
            by_level.setdefault(lv, []).append(pid)
    sample_row = None
    if (run_a.samples_per_problem or 0) > 1 or (run_b.samples_per_problem or 0) > 1:

        def share(v: ProblemVerdict) -> float:
            return v.n_correct / v.n_samples if v.n_samples else 0.0

        sample_row = _row(
            "sample accuracy", [share(va[p]) for p in gradable], [share(vb[p]) for p in gradable], test=False, **opts
        )
    return RunComparison(
        run_a=str(run_a.path),
        run_b=str(run_b.path),
        model_a=run_a.model,
        model_b=run_b.model,
        overall=rows(gradable, "all"),
        by_benchmark=[rows(p, name) for name, p in sorted(by_bench.items())] if len(by_bench) > 1 else [],
        by_level=[rows(by_level[lv], lv) for lv in sorted(by_level, key=_level_key)],
        sample_accuracy=sample_row,
        only_a=[pid for pid in run_a.problems if pid not in run_b.problems],
        only_b=[pid for pid in run_b.problems if pid not in run_a.problems],
        ungradable=[pid for pid in common if pid not in set(gradable)],
        fixed=[p for p in gradable if not va[p].correct and vb[p].correct],
        broken=[p for p in gradable if va[p].correct and not vb[p].correct],
        settings={"verdict": "voted answer", "n_bootstrap": n_bootstrap, "seed": seed, "ci_level": level},
    )


def _pct(x: float | None) -> str:
    return "" if x is None else f"{100 * x:.1f}"


def _signed(x: float | None) -> str:
    return "" if x is None else f"{100 * x:+.1f}"


def _p(x: float | None) -> str:
    if x is None:
        return ""
    return f"{x:.2g}" if x < 0.001 else f"{x:.3f}"


def comparison_markdown(c: RunComparison) -> str:
    """The comparison as markdown tables (the text ``mathagent compare`` writes).

    Example:
        >>> row = PairedRow(group="all", n=4, accuracy_a=0.25, accuracy_b=0.75, difference=0.5, fixed=2,
        ...                 both_right=1, both_wrong=1, p_value=0.5)
        >>> print(comparison_markdown(RunComparison(run_a="A", run_b="B", overall=row)).splitlines()[5])
        | all | 4 | 25.0 | 75.0 | +50.0 |  | 2 | 0 | 1 | 1 | 0.500 |
    """
    head = ["group", "problems", "A (%)", "B (%)", "B - A (pts)", "95% CI", "fixed", "broken", "both right"]
    head += ["both wrong", "McNemar p"]
    lines = [f"A: `{c.run_a}` ({c.model_a})  ", f"B: `{c.run_b}` ({c.model_b})", ""]
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]

    def line(r: PairedRow, label: str | None = None) -> str:
        ci = "" if r.ci_low is None else f"[{_signed(r.ci_low)}, {_signed(r.ci_high)}]"
        cells = [label or r.group, r.n, _pct(r.accuracy_a), _pct(r.accuracy_b), _signed(r.difference), ci]
        if r.p_value is None:
            cells += ["", "", "", "", ""]
        else:
            cells += [r.fixed, r.broken, r.both_right, r.both_wrong, _p(r.p_value)]
        return "| " + " | ".join(str(x) for x in cells) + " |"

    lines.append(line(c.overall))
    lines += [line(r, f"benchmark {r.group}") for r in c.by_benchmark]
    lines += [line(r, f"level {r.group}") for r in c.by_level]
    if c.sample_accuracy is not None:
        lines.append(line(c.sample_accuracy))
    notes = []
    if c.only_a or c.only_b:
        notes.append(f"Left out: {len(c.only_a)} problem(s) only in A, {len(c.only_b)} only in B.")
    if c.ungradable:
        notes.append(f"Left out: {len(c.ungradable)} problem(s) whose reference cannot be graded.")
    notes.append(
        "Verdict of a problem: its voted answer is correct. CI: paired bootstrap over problems; "
        "p: exact two-sided McNemar test on the fixed and broken problems."
    )
    return "\n".join(lines + [""] + notes) + "\n"
