"""Final-answer extraction: boxes first, then the marked fallbacks."""

from __future__ import annotations

import json

import pytest

from eval.extract import Extraction, extract_answer, find_boxed, last_boxed_only

CASES = [
    ("so the answer is $\\boxed{5}$.", "5", "boxed"),
    ("\\boxed{\\frac{1}{2}}", "\\frac{1}{2}", "boxed"),
    ("\\boxed{\\left( 3, \\frac{\\pi}{2} \\right)}", "\\left( 3, \\frac{\\pi}{2} \\right)", "boxed"),
    ("first \\boxed{1} then \\boxed{2}", "2", "boxed"),
    ("nested \\boxed{\\{1, 2\\}}", "\\{1, 2\\}", "boxed"),
    ("deep \\boxed{a^{b^{c}}}", "a^{b^{c}}", "boxed"),
    ("\\fbox{7}", "7", "fbox"),
    ("\\boxed{3} and finally \\fbox{4}", "4", "fbox"),
    ("the answer is $\\boxed 5$", "5", "boxed"),
    ("\\boxed 42.", "42", "boxed"),
    ("\\boxed{1} then cut off \\boxed{\\frac{2", "1", "boxed"),
    ("\\boxed{\\text{(C)}}", "\\text{(C)}", "boxed"),
    ("The answer is 42.", "42", "answer_is"),
    ("so the final answer is $\\frac{3}{4}$.\nDone", "\\frac{3}{4}", "answer_is"),
    ("Final Answer: 12", "12", "answer_is"),
    ("Natalia sold 48 clips.\n#### 72", "72", "hashes"),
    ("total is 3 + 4 = 7 apples", "7", "last_number"),
    ("it costs $1,250 in all", "1,250", "last_number"),
    ("x = -3.5 so", "-3.5", "last_number"),
    ("no digits at all", None, "none"),
    ("", None, "none"),
]


@pytest.mark.parametrize(("text", "answer", "method"), CASES)
def test_extract(text: str, answer: str | None, method: str) -> None:
    got = extract_answer(text)
    assert (got.answer, got.method) == (answer, method)
    assert got.found is (answer is not None)


def test_fallbacks_can_be_switched_off() -> None:
    assert extract_answer("The answer is 42.", fallbacks=False) == Extraction(None, "none")
    assert extract_answer("#### 72", fallbacks=False).method == "none"
    assert extract_answer("\\boxed{3}", fallbacks=False).answer == "3"
    assert extract_answer("The answer is 42.").is_fallback


def test_none_text() -> None:
    assert extract_answer(None).method == "none"


def test_find_boxed_and_last_boxed() -> None:
    assert find_boxed("\\boxed{a} \\fbox{b} \\boxedx{c}") == [("boxed", "a"), ("fbox", "b")]
    assert last_boxed_only("nothing") is None
    assert last_boxed_only("\\boxed{}") is None  # an empty box is no answer


def test_extract_on_tora_sample(shared_data) -> None:
    """ToRA-70B's GSM8K trajectories: our extraction agrees with ToRA's own `pred` on every record."""
    path = shared_data / "trajectories_sample" / "test_tora_-1_seed0_t0.0_s0_e1319.jsonl"
    from eval.grade import grade

    disagree = []
    for line in path.read_text().splitlines():
        rec = json.loads(line)
        got = extract_answer(rec["code"][0])
        if rec["pred"][0] and not grade(got.answer, rec["pred"][0], timeout=20):
            disagree.append((rec["idx"], got, rec["pred"][0]))
    assert len(disagree) <= 3, disagree[:5]


@pytest.mark.parametrize(
    "text",
    ["\\boxed{" * 20000, "{" * 50000, "the answer is " * 20000, "1 " * 100000, "#### " * 30000],
    ids=["open-boxes", "open-braces", "answer-is", "numbers", "hashes"],
)
def test_extract_is_linear_on_adversarial_text(text: str) -> None:
    import time

    t0 = time.monotonic()
    extract_answer(text)
    assert time.monotonic() - t0 < 2.0
