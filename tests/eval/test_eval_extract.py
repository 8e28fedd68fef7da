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


READ_CASES = [
    ("5 cm", "5 cm", "bare"),
    ("x = 5", "x = 5", "bare"),
    ("12, 9 or 5", "12, 9 or 5", "bare"),
    ("\\boxed{3}\\boxed{5}", "3, 5", "boxes"),
    ("so n is \\boxed{-2} and \\boxed{1}.", "-2, 1", "boxes"),
    ("First \\boxed{3}; after the second round it is \\boxed{9}.", "9", "boxed"),
    ("We get \\boxed{120}.\nFinal Answer: The final answer is $130$. I hope it is correct.", "130", "minerva"),
    ("<think>maybe \\boxed{5}</think>\nSo the total is $\\boxed{6}$.", "6", "boxed"),
    ("<think>so \\boxed{10}</think> I used 3 groups.", "10", "boxed"),
    ("Réponse : Paul paiera 220 € dans 12 mois.", "220", "answer_is"),
    ("Die Antwort ist 48.", "48", "answer_is"),
    ("答案是 35。", "35", "answer_is"),
    ("उत्तर: 42", "42", "answer_is"),
    ("Final Answer: The volume of $ABCD$ is 120. I hope it is", "120", "answer_is"),
    ("Il reste donc 12,5 litres.", "12,5", "therefore"),
    ("所以一共有 3 + 10 = 13 只鸟。", "13", "therefore"),
    ("Ich rechne: 3 mal 4 ergibt **12 Äpfel**.", "12", "bold"),
    ("We conclude the ordered pair is $(7, 6)$.", "(7, 6)", "last_math"),
    ("Checking gives $2$ and $4$ and $6$ as the roots, in some order!", "2, 4, 6", "last_math"),
    ("The number is not 10; it is 1,250.75 dollars.", "1,250.75", "last_number"),
    ("Therefore the probability is 2/3. <|im_start|>user\nThe answer is 10.", "2/3", "therefore"),
]


@pytest.mark.parametrize(("text", "answer", "method"), READ_CASES)
def test_read_answer(text: str, answer: str, method: str) -> None:
    from eval.extract import read_answer

    got = read_answer(text)
    assert (got.answer, got.method) == (answer, method)


def test_truncated_responses_are_not_guessed() -> None:
    from eval.extract import read_answer

    assert read_answer("We add 3 and 4 to get 7 and then", truncated=True) == Extraction(None, "truncated")
    assert read_answer("so \\boxed{7}. Then 3+4", truncated=True) == Extraction("7", "boxed")
    assert read_answer("so it is \\boxed{\\frac{1").method == "truncated"  # an unclosed box ends the text
    assert extract_answer("so 7 and then", truncated=True).method == "truncated"


@pytest.mark.parametrize(
    ("text", "letter"),
    [
        ("I believe the correct answer is C", "C"),
        ("It is not A; so I pick B.", "B"),
        ("The answer is for sure D, it cannot be A or B.", "D"),
        ("D. It cannot be A or B.", "D"),
        ("B。不是 A", "B"),
        ("答案是 B", "B"),
        ("$\\boxed{\\text{(E)}}$", "E"),
        ("no letter here", None),
    ],
)
def test_extract_choice(text: str, letter: str | None) -> None:
    from eval.extract import extract_choice

    assert extract_choice(text).answer == letter
