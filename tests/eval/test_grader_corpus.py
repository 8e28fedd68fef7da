"""The grader's regression corpus (``grader_corpus.yaml``): every case, with its policy, decided as labelled."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from eval.grade import compare
from eval.policy import GradePolicy, get_policy

CORPUS = Path(__file__).with_name("grader_corpus.yaml")
KINDS = {
    "response",
    "locale",
    "multi_answer",
    "tuple_set",
    "decimal_comma",
    "approximation",
    "notation",
    "choice",
    "policy",
    "hang",
    "bare",
}


def load_corpus() -> list[dict[str, Any]]:
    """The corpus cases (also read by ``benchmarks/grader_bench.py``)."""
    return yaml.safe_load(CORPUS.read_text(encoding="utf-8"))["cases"]


def case_policy(case: dict[str, Any]) -> GradePolicy:
    """A case's policy: a preset name, a mapping laid over the default, or the default."""
    pol = case.get("policy")
    if isinstance(pol, dict):
        return GradePolicy(**{**get_policy(None).model_dump(), **pol, "name": "custom"})
    return get_policy(pol)


CASES = load_corpus()


def test_corpus_covers_every_kind_both_ways() -> None:
    assert {c["kind"] for c in CASES} == KINDS
    for kind in KINDS:
        outcomes = Counter(c["expected"] for c in CASES if c["kind"] == kind)
        assert outcomes[True] >= 3 and outcomes[False] >= 2, (kind, outcomes)
    assert len(CASES) >= 250
    for c in CASES:
        assert set(c) <= {"kind", "pred", "gold", "expected", "policy", "truncated", "status", "note"}, c


@pytest.mark.parametrize(
    "case", CASES, ids=[f"{i}-{c['kind']}-{str(c['pred'])[:30]}|{str(c['gold'])[:20]}" for i, c in enumerate(CASES)]
)
def test_corpus_case(case: dict[str, Any]) -> None:
    c = compare(
        case["pred"], case["gold"], policy=case_policy(case), truncated=case.get("truncated", False), timeout=30
    )
    assert c.equal is case["expected"], c
    assert c.status not in ("timeout", "error"), c
    if "status" in case:
        assert c.status == case["status"], c
    else:
        assert c.status == ("equal" if case["expected"] else "unequal"), c
