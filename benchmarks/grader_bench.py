"""Grader benchmark: comparisons per second and worst-case latency, ours vs math-verify alone.

Pairs come from MATH500 (and GSM8K) gold answers: gold vs gold, gold vs a re-spelling (``$...$``,
``\\dfrac``), and gold vs a perturbation (first digit changed). Both graders run in this process,
one thread, caches cleared before each set; math-verify runs with its own timeouts disabled.

Run (about a minute on one core)::

    python benchmarks/grader_bench.py            # prints a markdown table
    python benchmarks/grader_bench.py --limit 100

Example:
    >>> _perturb("\\\\frac{3}{4}")
    '\\\\frac{4}{4}'
"""

from __future__ import annotations

import argparse
import logging
import statistics
import time
from collections.abc import Callable

__all__ = ["run_benchmark", "main"]


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


def _ours() -> Callable[[str, str], bool]:
    from .grade import _compare_cached, compare

    _compare_cached.cache_clear()
    return lambda p, g: compare(p, g).equal


def _math_verify_alone() -> Callable[[str, str], bool]:
    from math_verify import parse, verify
    from math_verify import parser as mv_parser

    for name in ("parse_latex_cached", "parse_expr_cached"):
        fn = getattr(mv_parser, name, None)
        if fn is not None and hasattr(fn, "cache_clear"):
            fn.cache_clear()

    def run(p: str, g: str) -> bool:
        gp = parse(f"${g}$", parsing_timeout=None)
        pp = parse(f"${p}$", parsing_timeout=None)
        return bool(verify(gp, pp, timeout_seconds=None))

    return run


def _measure(fn: Callable[[str, str], bool], pairs: list[tuple[str, str, bool]]) -> dict[str, float]:
    lat, agree = [], 0
    t0 = time.perf_counter()
    for p, g, expected in pairs:
        t = time.perf_counter()
        got = fn(p, g)
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


def run_benchmark(limit: int | None = None) -> list[dict[str, object]]:
    """Measure both graders on the pair sets; one row per (set, grader).

    Example:
        >>> rows = run_benchmark(limit=3)  # doctest: +SKIP
    """
    from .datasets import load_problems
    from .grade_pool import get_pool

    math500 = [p.answer for p in load_problems("math500", limit=limit)]
    gsm8k = [p.answer for p in load_problems("gsm8k", limit=limit)]
    sets = {
        "MATH500 gold vs gold": [(a, a, True) for a in math500],
        "MATH500 gold vs re-spelled": [
            (f"${a.replace(chr(92) + 'frac', chr(92) + 'dfrac')}$", a, True) for a in math500
        ],
        "MATH500 gold vs first digit changed": [(_perturb(a), a, False) for a in math500],
        "MATH500 gold vs last digit changed": [(_perturb_last(a), a, False) for a in math500],
        "GSM8K gold vs 1,234-style": [(f"{int(a):,}", a, True) for a in gsm8k],
    }
    get_pool().warmup()  # worker start-up is not a comparison
    rows: list[dict[str, object]] = []
    for name, pairs in sets.items():
        for grader, make in (("mathagent", _ours), ("math-verify alone", _math_verify_alone)):
            rows.append({"set": name, "grader": grader, **_measure(make(), pairs)})
    return rows


def to_markdown(rows: list[dict[str, object]]) -> str:
    """The rows as a markdown table."""
    head = "| pairs | grader | n | comparisons/s | p50 ms | p99 ms | max ms | right answers |\n" + "|---" * 8 + "|"
    body = [
        f"| {r['set']} | {r['grader']} | {r['n']} | {r['per_s']:.0f} | {r['p50_ms']:.2f} | {r['p99_ms']:.1f} "
        f"| {r['max_ms']:.0f} | {100 * r['correct']:.1f} % |"  # type: ignore[operator]
        for r in rows
    ]
    return "\n".join([head, *body])


def main(argv: list[str] | None = None) -> None:
    """Command-line entry: print the benchmark table."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--limit", type=int, default=None, help="Use only the first N problems of each dataset.")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    print(to_markdown(run_benchmark(args.limit)))


if __name__ == "__main__":
    main()
