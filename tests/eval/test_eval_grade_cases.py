"""The grading policy as a table: (pred, gold, expected) for every category the grader handles."""

from __future__ import annotations

import pytest

from eval.grade import compare, grade, grader_version

T, F = True, False

CASES: dict[str, list[tuple[str, str, bool]]] = {
    "thousands": [
        ("1,000", "1000", T),
        ("1000", "1,000", T),
        ("12,345,678", "12345678", T),
        ("1,234.5", "1234.5", T),
        ("1{,}000", "1000", T),
        ("1\\,000", "1000", T),
        ("-2,500", "-2500", T),
        ("1,001", "1000", F),
        ("10,000", "1000", F),
        ("1,000", "1", F),
    ],
    "units_currency": [
        ("\\$5", "5", T),
        ("$5.00", "5", T),
        ("5 dollars", "5", T),
        ("5\\text{ dollars}", "5", T),
        ("\\$1,250", "1250", T),
        ("5\\text{ cm}", "5", T),
        ("5 \\text{cm}^2", "5", T),
        ("12 square feet", "12", T),
        ("3 hours", "3", T),
        ("60\\text{ mph}", "60", T),
        ("40 \\mbox{ inches}", "40", T),
        ("7 apples", "7", T),
        ("\\$6", "7", F),
        ("5 cm", "50", F),
        ("3 hours", "4", F),
        ("5x", "5", F),
    ],
    "percent": [
        ("20\\%", "20", T),
        ("20%", "20", T),
        ("20", "20\\%", T),
        ("0.2", "20\\%", T),
        ("20\\%", "0.2", T),
        ("12.5\\%", "12.5", T),
        ("50 percent", "50", T),
        ("20\\%", "25", F),
        ("0.2", "20", F),
        ("2\\%", "20\\%", F),
    ],
    "fractions_decimals": [
        ("0.5", "\\frac{1}{2}", T),
        ("\\frac12", "0.5", T),
        ("1/2", "\\dfrac{1}{2}", T),
        ("\\tfrac{3}{4}", "0.75", T),
        ("-\\frac{3}{4}", "-0.75", T),
        ("\\frac{-3}{4}", "-0.75", T),
        ("0.3333", "\\frac{1}{3}", T),
        ("0.33333", "\\frac13", T),
        ("0.6667", "\\frac{2}{3}", T),
        ("2.5", "2\\frac{1}{2}", T),
        ("\\frac{5}{2}", "2\\frac{1}{2}", T),
        ("1.5e3", "1500", T),
        ("1.5\\times10^{3}", "1500", T),
        ("10000000000", "10^{10}", T),
        ("1024", "2^{10}", T),
        ("\\frac{2}{4}", "\\frac{1}{2}", T),
        ("\\frac{448}{15626}", "\\frac{448}{15625}", F),
        (".35626", ".35625", F),
        ("0.35625", "\\frac{57}{160}", T),
        ("3.1416", "3.14159", F),
        ("0.333", "\\frac{1}{3}", T),  # three significant digits stand for 1/3 (GradePolicy.approx_min_digits)
        ("0.33", "\\frac{1}{3}", F),
        ("0.67", "\\frac{2}{3}", F),
        ("\\frac{1}{2}", "\\frac{1}{3}", F),
        ("2.4", "2\\frac{1}{2}", F),
        ("0.5", "-0.5", F),
        ("1/3", "3", F),
    ],
    "gsm8k_integers": [
        ("18", "18", T),
        ("18.0", "18", T),
        ("18.00", "18", T),
        ("018", "18", T),
        ("+18", "18", T),
        ("\\$18", "18", T),
        ("18.", "18", T),
        ("-7", "-7", T),
        ("1000000", "1000000", T),
        ("17", "18", F),
        ("180", "18", F),
        ("1000001", "1000000", F),
        ("-18", "18", F),
        ("18.5", "18", F),
        ("", "18", F),
    ],
    "intervals": [
        ("(1, 3]", "(1,3]", T),
        ("\\left(1, 3\\right]", "(1,3]", T),
        ("[2, \\infty)", "[2,\\infty)", T),
        ("[2, +\\infty)", "[2,\\infty)", T),
        ("[2, ∞)", "[2,\\infty)", T),
        ("(-\\infty, 0)", "(-\\infty,0)", T),
        ("[\\frac12, 2]", "[0.5, 2]", T),
        ("(2,\\infty)\\cup(-\\infty,1)", "(-\\infty,1)\\cup(2,\\infty)", T),
        ("(-\\infty, -2) \\cup (2, \\infty)", "(-\\infty,-2)\\cup(2,\\infty)", T),
        ("x \\in [1, 2]", "[1,2]", T),
        ("[1, 3]", "(1,3]", F),
        ("(1, 3)", "(1,3]", F),
        ("[2, \\infty)", "(2,\\infty)", F),
        ("(1, 4]", "(1,3]", F),
        ("(-\\infty,1)\\cup(3,\\infty)", "(-\\infty,1)\\cup(2,\\infty)", F),
    ],
    "tuples_sets": [
        ("(1, 2)", "(1,2)", T),
        ("(3, \\frac{\\pi}{2})", "\\left( 3, \\frac{\\pi}{2} \\right)", T),
        ("(0.5, 2)", "(\\frac12, 2)", T),
        ("2, 1", "1, 2", T),
        ("1, 2, 3", "3,2,1", T),
        ("\\{2, 1\\}", "\\{1,2\\}", T),
        ("\\{1, 2\\}", "1, 2", T),
        ("-2, 3", "3, -2", T),
        ("\\frac12, 3", "3, 0.5", T),
        ("x=1, y=2", "1, 2", T),
        ("(2, 1)", "(1,2)", F),
        ("(1, 2, 3)", "(1,2)", F),
        ("1, 2", "1, 2, 3", F),
        ("1, 4", "1, 2", F),
        ("\\{1, 3\\}", "\\{1,2\\}", F),
        ("2", "1, 2", F),
        ("(1, 3)", "(1,2)", F),
    ],
    "matrices": [
        ("\\begin{pmatrix}1\\\\2\\end{pmatrix}", "\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}", T),
        ("\\begin{bmatrix}1\\\\2\\end{bmatrix}", "\\begin{pmatrix}1\\\\2\\end{pmatrix}", T),
        ("\\begin{pmatrix}1&2\\\\3&4\\end{pmatrix}", "\\begin{pmatrix}1 & 2\\\\ 3 & 4\\end{pmatrix}", T),
        ("\\begin{pmatrix}0.5\\\\-1\\end{pmatrix}", "\\begin{pmatrix}\\frac12\\\\-1\\end{pmatrix}", T),
        ("(1, 2)", "\\begin{pmatrix}1\\\\2\\end{pmatrix}", T),
        ("\\begin{pmatrix}1\\\\2\\end{pmatrix}", "(1,2)", T),
        ("\\begin{pmatrix}2\\\\1\\end{pmatrix}", "\\begin{pmatrix}1\\\\2\\end{pmatrix}", F),
        ("\\begin{pmatrix}1&2\\\\3&5\\end{pmatrix}", "\\begin{pmatrix}1&2\\\\3&4\\end{pmatrix}", F),
        ("\\begin{pmatrix}1&2\\end{pmatrix}", "\\begin{pmatrix}1&2\\\\3&4\\end{pmatrix}", F),
        ("(2, 1)", "\\begin{pmatrix}1\\\\2\\end{pmatrix}", F),
        ("\\begin{pmatrix}1\\\\2\\\\3\\end{pmatrix}", "\\begin{pmatrix}1\\\\2\\end{pmatrix}", F),
    ],
    "assignment": [
        ("x = 5", "5", T),
        ("5", "x=5", T),
        ("x=5", "x = 5", T),
        ("y = 2x + 3", "2x+3", T),
        ("k = \\frac{1}{2}", "0.5", T),
        ("a_1 = 4", "4", T),
        ("\\theta = 30", "30", T),
        ("x = 6", "5", F),
        ("x = 5", "6", F),
        ("x = -5", "x=5", F),
    ],
    "degrees": [
        ("30^\\circ", "30", T),
        ("30", "30^\\circ", T),
        ("30^{\\circ}", "30^\\circ", T),
        ("30°", "30", T),
        ("45 degrees", "45", T),
        ("30^\\circ", "60^\\circ", F),
        ("90", "30^\\circ", F),
    ],
    "text": [
        ("Monday", "\\text{Monday}", T),
        ("\\text{monday}", "\\text{Monday}", T),
        ("\\textbf{Monday}", "\\text{Monday}", T),
        ("no solution", "\\text{no solution}", T),
        ("\\text{even}", "\\text{even}", T),
        ("Even", "\\text{even}", T),
        ("Tuesday", "\\text{Monday}", F),
        ("odd", "\\text{even}", F),
        ("5", "\\text{Monday}", F),
    ],
    "choice": [
        ("C", "\\text{(C)}", T),
        ("(C)", "C", T),
        ("\\text{(C)}", "C", T),
        ("(C) 12", "C", T),
        ("C) 12", "(C)", T),
        ("c", "(C)", T),
        ("B", "B", T),
        ("(D)", "\\text{(C)}", F),
        ("D", "C", F),
        ("12", "C", F),
        ("A", "E", F),
    ],
    "symbolic": [
        ("\\frac{1}{2}\\sqrt{3}", "\\frac{\\sqrt{3}}{2}", T),
        ("\\sqrt{8}", "2\\sqrt{2}", T),
        ("2\\sqrt{2}", "\\sqrt{8}", T),
        ("x^2+2x+1", "(x+1)^2", T),
        ("\\frac{\\pi}{2}", "\\pi/2", T),
        ("6\\pi", "6 \\pi", T),
        ("\\sqrt{2}/2", "\\frac{\\sqrt2}{2}", T),
        ("3+2i", "2i+3", T),
        ("x^2+2x", "(x+1)^2", F),
        ("\\sqrt{3}", "\\sqrt{2}", F),
        ("\\frac{\\pi}{3}", "\\frac{\\pi}{2}", F),
        ("3-2i", "3+2i", F),
        ("2\\pi", "\\pi", F),
    ],
    "bases": [
        ("52_8", "52_8", T),
        ("52_{8}", "52_8", T),
        ("52", "52_8", T),
        ("101_2", "5_{10}", T),
        ("52_9", "52_8", F),
        ("40_0", "40_9", F),
        ("42", "52_8", F),
        ("101_2", "5", T),
        ("101_2", "101", F),
        ("4343_7", "4343_6", F),
    ],
    "boxed_and_delimiters": [
        ("\\boxed{5}", "5", T),
        ("$\\frac{1}{2}$", "\\frac12", T),
        ("\\(5\\)", "5", T),
        ("\\boxed{\\text{(B)}}", "B", T),
        ("\\displaystyle\\frac{1}{2}", "0.5", T),
        ("\\boxed{6}", "5", F),
        ("$4$", "5", F),
        ("\\boxed{\\frac{1}{3}}", "\\frac12", F),
        ("$-5$", "5", F),
        ("\\(\\frac{2}{3}\\)", "\\frac{3}{2}", F),
    ],
}

FLAT = [(cat, p, g, e) for cat, rows in CASES.items() for p, g, e in rows]


def test_case_count() -> None:
    assert len(FLAT) >= 150
    assert sum(e for *_, e in FLAT) >= 60 and sum(not e for *_, e in FLAT) >= 60
    for cat, rows in CASES.items():
        assert {e for _, _, e in rows} == {True, False}, f"{cat} needs both equal and unequal cases"


@pytest.mark.parametrize(("category", "pred", "gold", "expected"), FLAT, ids=[f"{c}:{p}|{g}" for c, p, g, _ in FLAT])
def test_grade_table(category: str, pred: str, gold: str, expected: bool) -> None:
    c = compare(pred, gold, timeout=20)
    assert c.equal is expected, f"{category}: {pred!r} vs {gold!r}: {c}"
    assert not c.timeout
    assert c.grader == grader_version()


def test_fast_path_needs_no_worker() -> None:
    from eval.equivalence import compare_answers
    from eval.policy import get_policy

    for cat, p, g, e in FLAT:
        if cat in ("symbolic",):
            continue
        v = compare_answers(p, g, get_policy(None))
        assert v.result in (e, None), (p, g, v)


def test_skipped_gold_fails_closed() -> None:
    for gold in (None, "", "   ", "$$", "\\boxed{}"):
        c = compare("5", gold)
        assert c.skipped and not c.equal and c.correct is None, gold
        assert grade("5", gold) is None


def test_missing_prediction_is_wrong_not_skipped() -> None:
    c = compare(None, "5")
    assert c.correct is False and not c.skipped
    assert grade("", "5") is False


def test_numbers_as_python_values() -> None:
    assert grade(18, "18") and grade(18.0, "18") and grade("18", 18) and not grade(17, 18)


def test_rel_tol_option() -> None:
    assert grade("0.33", "1/3", rel_tol=1e-2)
    assert not grade("0.33", "1/3")


def test_symbolic_off_is_unequal_with_reason() -> None:
    c = compare("\\sqrt{8}", "2\\sqrt{2}", symbolic=False)
    assert not c.equal and c.method == "undecided"


@pytest.mark.parametrize(
    ("pred", "gold"),
    [
        ("\\frac{12}{3}", "\\frac{1}{23}"),  # braces matter
        ("2,500", "2, 500"),  # a list is not a thousands-separated number
        ("2^{10}", "2^1"),
        ("3x10^2", "300"),  # x is a variable, not a times sign
        ("\\sqrt{23}", "\\sqrt2 3"),
    ],
)
def test_no_false_positives(pred: str, gold: str) -> None:
    assert not grade(pred, gold, timeout=20)
