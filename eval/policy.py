"""What counts as equal: :class:`GradePolicy`, its named presets and :func:`get_policy`.

Graders disagree on a handful of questions (is ``7, 2, -1`` the same answer as ``2, 7, -1``? is ``5 cm``
the same as ``5``? may ``0.3333`` stand for ``\\frac13``?). A policy makes each answer a choice, written
down and recorded with every score, instead of an accident of the code. The default follows
math-verify where the published graders agree; the presets cover the standard benchmarks.

==========  =================================================================================================
preset      use
==========  =================================================================================================
default     MATH-style answers and anything unknown: unordered bare lists, units stripped, ``20\\%`` = 20
            = 0.2, a decimal stands for an exact value to the precision it is written in
math        the same as ``default`` (MATH, MATH500, Minerva, OlympiadBench, AMC, college math, ...)
gsm8k       word problems with numeric answers (GSM8K, SVAMP, ASDiv, MAWPS, GSM-Hard, CMATH): no
            multiple-choice letters, numbers only where possible
aime        integer answers (AIME): no approximation, no choice letters
choice      multiple choice (AQuA, SAT math, MMLU-STEM): the answer is a letter, read from a response
strict      the conservative reading: ordered lists, units and percent signs must match, no
            approximation, unreduced fractions (``1410/5`` vs ``282``) and bare values against equations
            are wrong
==========  =================================================================================================

Example:
    >>> get_policy("gsm8k").choices
    'off'
    >>> get_policy(None).name
    'default'
    >>> get_policy("strict").list_order
    'ordered'
    >>> GradePolicy(units="strict").units
    'strict'
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from .errors import EvalError

__all__ = ["GradePolicy", "PRESETS", "UnknownPolicyError", "get_policy", "policy_names"]


class UnknownPolicyError(EvalError, ValueError):
    """A policy name that is not one of the presets."""


class GradePolicy(BaseModel):
    """How :func:`eval.grade.compare` decides that two answers are equal (frozen, hashable).

    Every field has a default that matches math-verify where the published graders agree. Build one
    with ``GradePolicy(field=value)`` or derive it from a preset:
    ``get_policy("math").model_copy(update={"units": "strict"})``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field("custom", description="A name recorded with every score graded under this policy.")
    extraction: Literal["auto", "boxed", "bare"] = Field(
        "auto",
        description="How each side is read. 'auto': a bare answer is used as is and a whole response "
        "(a solution, a chat reply) has its final answer extracted (boxes, answer phrases, the Minerva "
        "form, the last math span, the last number); 'boxed': a response counts only through its boxes "
        "(strict answer format; bare answers still count as written); 'bare': both sides are taken as "
        "written, nothing is extracted.",
    )
    fallbacks: bool = Field(
        True,
        description="In a whole response without a box or an answer phrase, fall back to its last math "
        "span or last number. Never applied to a truncated response.",
    )
    list_order: Literal["unordered", "ordered"] = Field(
        "unordered",
        description="Bare lists (`1, 2`), several boxes and lists of tuples are sets of solutions "
        "('unordered') or sequences ('ordered'). Tuples `(a, b)` and intervals are always ordered.",
    )
    units: Literal["strip", "strict"] = Field(
        "strip",
        description="'strip': a unit on one side is dropped (`5 cm` = `5`), units on both sides must be the "
        "same measure (`5 m` != `5 cm`); 'strict': units must match "
        "(`5 cm` != `5`, `5 cm` = `5 centimeters`). A short unit glued to a number (`5m`) is never "
        "stripped: it may be a product with a variable.",
    )
    percent: Literal["either", "number", "fraction", "strict"] = Field(
        "either",
        description="What `20\\%` stands for: 'either' 20 or 0.2; 'number' 20 only; 'fraction' 0.2 only; "
        "'strict' 20 and only against another percentage.",
    )
    approximation: Literal["precision", "rel_tol", "off"] = Field(
        "precision",
        description="When a decimal equals an exact value (`12\\pi` vs `37.699`). 'precision': the exact "
        "value rounded to the decimals written gives the decimal, which needs at least `approx_min_digits` "
        "significant digits (cut instead of rounded: one digit more, `0.6666` = `2/3`; inside expressions: "
        "within half a unit of the last decimal written); 'rel_tol': within `rel_tol` of each other; "
        "'off': never (exact values only). "
        "Two decimals are compared by value. Passing `rel_tol=` to `compare` selects 'rel_tol'.",
    )
    approx_min_digits: int = Field(
        3, ge=1, le=30, description="Significant digits a decimal needs to stand for an exact value."
    )
    rel_tol: float = Field(
        1e-4, ge=0.0, lt=1.0, description="Relative tolerance between a decimal and an exact value."
    )
    simplification: Literal["value", "reduced"] = Field(
        "value",
        description="'value': any form of the same value is equal (`1410/5` = `282`); 'reduced': a "
        "prediction that is an unreduced fraction is wrong against a reduced gold answer.",
    )
    equations: Literal["value", "strict"] = Field(
        "value",
        description="'value': a simple left-hand side is dropped (`x = 5` = `5`, `f(x) = 2x+3` = `2x+3`); "
        "'strict': an equation only equals an equation.",
    )
    choices: Literal["auto", "only", "off"] = Field(
        "auto",
        description="Multiple-choice letters. 'auto': a gold answer that is a letter (`C`, `(C)`, "
        "`(C) 12`) is matched by the letter of the prediction; 'only': every gold answer is a letter and "
        "letters are read from responses ('the answer is (B)'); 'off': letters are plain symbols.",
    )
    choice_letters: str = Field(
        "ABCDE", min_length=2, max_length=26, pattern=r"^[A-Z]+$", description="The option letters."
    )
    decimal_comma: Literal["auto", "never"] = Field(
        "auto",
        description="'auto': a comma that cannot be a thousands separator is a decimal mark (`3,75` = "
        "`3.75`, `0,625`, `2500,5`; `41,206` stays 41206) when the other side is one number; 'never'.",
    )
    symbolic: bool = Field(
        True, description="Use the symbolic path (sympy, math-verify) for pairs no fast rule decides."
    )
    timeout: float = Field(
        5.0, gt=0.0, description="Hard deadline in seconds of the symbolic comparison (the worker is killed)."
    )


PRESETS: dict[str, GradePolicy] = {
    "default": GradePolicy(name="default"),
    "math": GradePolicy(name="math"),
    "gsm8k": GradePolicy(name="gsm8k", choices="off"),
    "aime": GradePolicy(name="aime", choices="off", approximation="off"),
    "choice": GradePolicy(name="choice", choices="only"),
    "strict": GradePolicy(
        name="strict",
        list_order="ordered",
        units="strict",
        percent="strict",
        approximation="off",
        simplification="reduced",
        equations="strict",
        decimal_comma="never",
    ),
}


def policy_names() -> list[str]:
    """The preset names.

    Example:
        >>> policy_names()[:3]
        ['default', 'math', 'gsm8k']
    """
    return list(PRESETS)


def get_policy(policy: str | GradePolicy | None = None) -> GradePolicy:
    """A policy from a preset name, a policy (returned as is) or None (the default).

    Raises:
        UnknownPolicyError: The name is not a preset (the message lists them).

    Example:
        >>> get_policy("choice").choices
        'only'
        >>> get_policy("nope")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        eval.policy.UnknownPolicyError: unknown grading policy 'nope' (known: default, math, gsm8k, ...)
    """
    if policy is None:
        return PRESETS["default"]
    if isinstance(policy, GradePolicy):
        return policy
    if isinstance(policy, str):
        found = PRESETS.get(policy.strip().lower())
        if found is not None:
            return found
        raise UnknownPolicyError(f"unknown grading policy {policy!r} (known: {', '.join(PRESETS)})")
    raise UnknownPolicyError(f"a grading policy is a preset name or a GradePolicy, not {type(policy).__name__}")
