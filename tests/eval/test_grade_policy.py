"""GradePolicy and its presets, the Comparison record (status, what was read from each side), truncation."""

from __future__ import annotations

import pydantic
import pytest

from eval import GradePolicy, UnknownPolicyError, compare, get_policy, grade
from eval.grade import resolve_policy
from eval.policy import PRESETS, policy_names
from eval.symbolic import slow_compare


def test_presets_exist_and_are_named() -> None:
    for name in ("default", "math", "gsm8k", "aime", "choice", "strict"):
        assert get_policy(name).name == name
    assert policy_names() == list(PRESETS)
    assert get_policy(None) is PRESETS["default"]
    assert get_policy(" Strict ").name == "strict"


def test_unknown_name_is_a_clear_error() -> None:
    with pytest.raises(UnknownPolicyError, match="unknown grading policy 'mathh'.*default, math, gsm8k"):
        get_policy("mathh")
    with pytest.raises(UnknownPolicyError):
        compare("1", "1", policy="nope")
    with pytest.raises(UnknownPolicyError):
        get_policy(3)  # type: ignore[arg-type]


def test_policy_is_frozen_strict_and_hashable() -> None:
    pol = GradePolicy(units="strict")
    with pytest.raises(pydantic.ValidationError):
        pol.units = "strip"  # type: ignore[misc]
    with pytest.raises(pydantic.ValidationError, match="extra"):
        GradePolicy(unit="strict")  # type: ignore[call-arg]
    with pytest.raises(pydantic.ValidationError):
        GradePolicy(list_order="sorted")  # type: ignore[arg-type]
    assert hash(GradePolicy(units="strict")) == hash(pol) and GradePolicy(units="strict") == pol
    assert get_policy(pol) is pol


def test_keyword_options_lay_over_the_policy() -> None:
    pol = resolve_policy("strict", timeout=7)
    assert (pol.name, pol.timeout, pol.list_order) == ("strict", 7.0, "ordered")
    assert resolve_policy(rel_tol=0.01).approximation == "rel_tol"  # an explicit tolerance asks for the rule
    assert resolve_policy("aime", rel_tol=0.01).approximation == "off"
    assert grade("0.33", "1/3", rel_tol=0.01) and not grade("0.33", "1/3")


def test_policy_changes_the_verdict_and_is_recorded() -> None:
    assert compare("7, 2, -1", "2, 7, -1").equal
    c = compare("7, 2, -1", "2, 7, -1", policy="strict")
    assert not c.equal and c.policy == "strict" and c.status == "unequal"
    assert compare("1410/5", "282").equal and not compare("1410/5", "282", policy="strict").equal
    assert compare("5 cm", "5").equal and not compare("5 cm", "5", policy=GradePolicy(units="strict")).equal


def test_comparison_says_what_was_read_and_how() -> None:
    c = compare("So the answer is $\\boxed{84}$. Another thought: 12 rows?", "The total is $\\boxed{84}$.")
    assert (c.status, c.pred_answer, c.pred_extraction, c.gold_answer, c.gold_extraction) == (
        "equal", "84", "boxed", "84", "boxed"
    )  # fmt: skip
    assert c.to_dict()["pred_extraction"] == "boxed"
    d = compare("x = 5", "5")
    assert (d.pred_answer, d.pred_extraction) == ("x = 5", "bare")


def test_statuses() -> None:
    assert compare("5", "5").status == "equal"
    assert compare("6", "5").status == "unequal"
    assert compare("", "5").status == "no_answer"
    assert compare("I could not finish.", "5").status == "no_answer"
    assert compare("5", None).status == "skipped" and grade("5", None) is None


def test_a_truncated_response_is_not_answered_by_a_guess() -> None:
    cut = "We add 3 and 4 to get 7, then multiply by"
    assert compare(cut, "7").equal  # complete: the last number is the fallback answer
    c = compare(cut, "7", truncated=True)
    assert not c.equal and c.status == "no_answer" and c.pred_extraction == "truncated" and c.truncated
    assert "cut off" in c.reason
    boxed = compare("So $\\boxed{7}$. Let me check: 3 + 4 = ", "7", truncated=True)
    assert boxed.equal and boxed.pred_extraction == "boxed"
    assert compare("so it is \\boxed{\\frac{1", "1").status == "no_answer"  # an unclosed box ends the text


def test_worker_entry_accepts_old_and_new_options() -> None:
    assert slow_compare("\\sqrt{8}", "2\\sqrt{2}", {"rel_tol": 1e-4, "timeout": 5.0, "symbolic": True})["equal"]
    assert slow_compare("0.3333", "\\frac13", get_policy("default").model_dump())["equal"]
    assert not slow_compare("0.3333", "\\frac13", get_policy("strict").model_dump())["equal"]
