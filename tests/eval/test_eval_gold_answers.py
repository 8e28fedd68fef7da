"""Every gold answer of GSM8K test and MATH500, loaded through the real loaders, equals itself (and its
common re-spellings); integers one off do not."""

from __future__ import annotations

import pytest

from eval.datasets import load_problems
from eval.extract import extract_answer
from eval.grade import compare


@pytest.fixture(scope="module")
def gsm8k(shared_data):
    return load_problems(shared_data / "gsm8k" / "test.jsonl")


@pytest.fixture(scope="module")
def math500(shared_data):
    return load_problems(shared_data / "math500" / "test.jsonl")


def _failures(pairs):
    out = []
    for pid, pred, gold in pairs:
        c = compare(pred, gold, timeout=20)
        if not c.equal:
            out.append((pid, pred, gold, c.method, c.reason))
    return out


def test_gsm8k_gold_equals_itself(gsm8k) -> None:
    assert len(gsm8k) == 1319
    assert _failures((p.id, p.answer, p.answer) for p in gsm8k) == []


def test_math500_gold_equals_itself(math500) -> None:
    assert len(math500) == 500
    assert _failures((p.id, p.answer, p.answer) for p in math500) == []


def test_math500_gold_equals_its_respellings(math500) -> None:
    spellings = [
        lambda a: f"${a}$",
        lambda a: f"\\boxed{{{a}}}",
        lambda a: f"  {a} ",
        lambda a: a.replace("\\frac", "\\dfrac"),
    ]
    pairs = [(p.id, f(p.answer), p.answer) for p in math500 for f in spellings]
    assert _failures(pairs) == []


def test_math500_gold_equals_the_solutions_last_box(math500) -> None:
    pairs = [(p.id, extract_answer(p.metadata["solution"], fallbacks=False).answer, p.answer) for p in math500]
    failures = _failures(pairs)
    # one solution boxes its answer twice (15\frac{39}{40} or \frac{639}{40}): as a string that is a list
    assert [f[0] for f in failures] == ["math500/test/number_theory/459"]


def test_math500_gold_equals_the_whole_solution(math500) -> None:
    """The grader reads the reference solution itself (boxes joined, or each box equal to the gold)."""
    assert _failures((p.id, p.metadata["solution"], p.answer) for p in math500) == []


def test_gsm8k_gold_with_commas_and_dollars(gsm8k) -> None:
    pairs = []
    for p in gsm8k:
        n = int(p.answer)
        pairs.append((p.id, f"\\${n:,}", p.answer))
        pairs.append((p.id, f"{n}.00", p.answer))
    assert _failures(pairs) == []


def test_gsm8k_off_by_one_is_wrong(gsm8k) -> None:
    wrong = [p.id for p in gsm8k if compare(str(int(p.answer) + 1), p.answer).equal]
    assert wrong == []


def _perturb_first_digit(answer: str) -> str:
    for i, ch in enumerate(answer):
        if ch.isdigit():
            return answer[:i] + str((int(ch) + 1) % 10) + answer[i + 1 :]
    return answer + "+1"


def test_math500_perturbed_gold_is_wrong(math500) -> None:
    """One digit changed (or ``+1`` appended) is never equal: no false positives on real golds."""
    wrong = []
    for p in math500:
        pred = _perturb_first_digit(p.answer)
        c = compare(pred, p.answer, timeout=20)
        if c.equal or c.timeout:
            wrong.append((p.id, pred, p.answer, c.method))
    assert wrong == []
