"""Grader benchmark: agreement with the labels and comparisons per second, ours vs math-verify's default.

Two groups of pair sets, measured in one run, one thread, each grader's caches cleared before each set:

* the existing sets, from MATH500 (and GSM8K) gold answers: gold vs gold, gold vs a re-spelling (``$...$``,
  ``\\dfrac``), gold vs a perturbation (first or last digit changed), GSM8K gold vs ``1,234``-style; here
  math-verify runs as before, on ``$``-wrapped answers with its own timeouts disabled ("math-verify alone");
* the regression corpus ``tests/eval/grader_corpus.yaml``, one row per kind (whole responses, other
  languages, several answers, ...): ours with each case's policy against math-verify's default call
  ``verify(parse(gold), parse(pred))`` on the raw strings (its default timeouts on, main thread).

Ours runs through the public ``compare`` (extraction, fast path, worker with its deadline); the worker pool is
restarted and warmed before each set (start-up is not a comparison).

Run (a few minutes on one core; heavy: use the shared lock)::

    MATHAGENT_THREADS=1 OMP_NUM_THREADS=1 flock /tmp/mathagent-heavy.lock python benchmarks/grader_bench.py
    python benchmarks/grader_bench.py --limit 100 --only corpus

Example:
    >>> _perturb("\\\\frac{3}{4}")
    '\\\\frac{4}{4}'
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

__all__ = ["run_benchmark", "main", "to_markdown"]

Pair = tuple[str, str, bool, dict[str, Any]]  # pred, gold, expected, options of our compare


def _perturb(answer: str) -> str:
    for i, ch in enumerate(answer):
        if ch.isdigit():
            return answer[:i] + str((int(ch) + 1) % 10) + answer[i + 1 :]
    return answer + "+1"


def _perturb_last(answer: str) -> str:
    for i in range(len(answer) - 1, -1, -1):
        if answer[i].isdigit():
            return answer[:i] + str((int(answer[i]) + 1) % 10) + answer[i + 1 :]
    return answer + "+1"


def _ours() -> Callable[[str, str, dict[str, Any]], bool]:
    from eval.grade import _compare_cached, compare
    from eval.grade_pool import get_pool, shutdown_pool
    from eval.normalize import normalize_answer

    shutdown_pool()
    get_pool().warmup()  # worker start-up (imports, parser tables) is not a comparison
    compare("1", "2")  # nor the first call's one-time work in this process
    _compare_cached.cache_clear()
    normalize_answer.cache_clear()
    return lambda p, g, opts: compare(p, g, **opts).equal


def _clear_math_verify_caches() -> None:
    from math_verify import parser as mv_parser

    for name in ("parse_latex_cached", "parse_expr_cached", "extract_latex"):
        fn = getattr(mv_parser, name, None)
        if fn is not None and hasattr(fn, "cache_clear"):
            fn.cache_clear()


def _math_verify_alone() -> Callable[[str, str, dict[str, Any]], bool]:
    from math_verify import parse, verify

    verify(parse("$1$", parsing_timeout=None), parse("$2$", parsing_timeout=None), timeout_seconds=None)  # type: ignore[arg-type]
    _clear_math_verify_caches()

    def run(p: str, g: str, opts: dict[str, Any]) -> bool:
        gp = parse(f"${g}$", parsing_timeout=None)  # type: ignore[arg-type]
        pp = parse(f"${p}$", parsing_timeout=None)  # type: ignore[arg-type]
        return bool(verify(gp, pp, timeout_seconds=None))

    return run


def _math_verify_default() -> Callable[[str, str, dict[str, Any]], bool]:
    from math_verify import parse, verify

    verify(parse("1"), parse("2"))
    _clear_math_verify_caches()

    def run(p: str, g: str, opts: dict[str, Any]) -> bool:
        try:
            return bool(verify(parse(g), parse(p)))
        except Exception:  # noqa: BLE001 - a grader that raises counts as "not equal"
            return False

    return run


def _measure(fn: Callable[[str, str, dict[str, Any]], bool], pairs: list[Pair]) -> dict[str, float]:
    lat, agree = [], 0
    t0 = time.perf_counter()
    for p, g, expected, opts in pairs:
        t = time.perf_counter()
        got = fn(p, g, opts)
        lat.append(time.perf_counter() - t)
        agree += got == expected
    total = time.perf_counter() - t0
    lat.sort()
    return {
        "n": len(pairs),
        "per_s": len(pairs) / total if total else float("inf"),
        "p50_ms": 1000 * statistics.median(lat),
        "p99_ms": 1000 * lat[min(len(lat) - 1, int(0.99 * len(lat)))],
        "max_ms": 1000 * lat[-1],
        "correct": agree / len(pairs),
    }


def _existing_sets(limit: int | None) -> dict[str, list[Pair]]:
    from eval.datasets import load_problems

    math500 = [p.answer for p in load_problems("math500", limit=limit) if p.answer]
    gsm8k = [p.answer for p in load_problems("gsm8k", limit=limit) if p.answer]
    return {
        "MATH500 gold vs gold": [(a, a, True, {}) for a in math500],
        "MATH500 gold vs re-spelled": [
            (f"${a.replace(chr(92) + 'frac', chr(92) + 'dfrac')}$", a, True, {}) for a in math500
        ],
        "MATH500 gold vs first digit changed": [(_perturb(a), a, False, {}) for a in math500],
        "MATH500 gold vs last digit changed": [(_perturb_last(a), a, False, {}) for a in math500],
        "GSM8K gold vs 1,234-style": [(f"{int(a):,}", a, True, {}) for a in gsm8k],
    }


def _corpus_sets(limit: int | None) -> dict[str, list[Pair]]:
    sys.path.insert(0, str(REPO / "tests" / "eval"))
    from test_grader_corpus import case_policy, load_corpus  # type: ignore[import-not-found]

    sets: dict[str, list[Pair]] = {}
    for c in load_corpus():
        opts = {"policy": case_policy(c), "truncated": c.get("truncated", False)}
        sets.setdefault(f"corpus: {c['kind']}", []).append((c["pred"], c["gold"], c["expected"], opts))
    if limit:
        sets = {k: v[:limit] for k, v in sets.items()}
    sets["corpus: all kinds"] = [pair for pairs in sets.values() for pair in pairs]
    return sets


def run_benchmark(limit: int | None = None, only: str = "all") -> list[dict[str, object]]:
    """Measure both graders on the pair sets; one row per (set, grader).

    Example:
        >>> rows = run_benchmark(limit=3)  # doctest: +SKIP
    """
    rows: list[dict[str, object]] = []
    groups: list[tuple[dict[str, list[Pair]], str, Callable[[], Any]]] = []
    if only in ("all", "existing"):
        groups.append((_existing_sets(limit), "math-verify alone", _math_verify_alone))
    if only in ("all", "corpus"):
        groups.append((_corpus_sets(limit), "math-verify default", _math_verify_default))
    for sets, mv_name, mv_make in groups:
        for name, pairs in sets.items():
            for grader, make in (("mathagent", _ours), (mv_name, mv_make)):
                rows.append({"set": name, "grader": grader, **_measure(make(), pairs)})
    return rows


def to_markdown(rows: list[dict[str, object]]) -> str:
    """The rows as a markdown table, ours and math-verify side by side."""
    head = (
        "| pairs | n | ours: right | ours: comparisons/s | ours: p99 / max ms | math-verify: right "
        "| math-verify: comparisons/s | math-verify: p99 / max ms |\n" + "|---" * 8 + "|"
    )
    body = []
    for ours, mv in zip(rows[::2], rows[1::2], strict=True):
        body.append(
            f"| {ours['set']} | {ours['n']} | {100 * ours['correct']:.1f} % | {ours['per_s']:,.0f} "  # type: ignore[operator]
            f"| {ours['p99_ms']:.1f} / {ours['max_ms']:.0f} | {100 * mv['correct']:.1f} % "  # type: ignore[operator]
            f"| {mv['per_s']:,.0f} | {mv['p99_ms']:.1f} / {mv['max_ms']:.0f} |"
        )
    return "\n".join([head, *body])


def main(argv: list[str] | None = None) -> None:
    """Command-line entry: print the benchmark table."""
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--limit", type=int, default=None, help="Use only the first N problems / cases of each set.")
    ap.add_argument("--only", choices=("all", "existing", "corpus"), default="all", help="Which sets to run.")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    logging.getLogger("math_verify").setLevel(logging.CRITICAL)
    print(to_markdown(run_benchmark(args.limit, args.only)))


if __name__ == "__main__":
    main()
