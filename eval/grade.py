"""Answer equivalence: ``grade(pred, gold)`` and ``compare(pred, gold)`` (which also says why).

Each side may be a bare answer, a LaTeX string or a whole response: the final answer is read first
(:func:`eval.extract.read_answer`; the order is documented there and in ``docs/grading.md``), then the two
answers are compared under a :class:`~eval.policy.GradePolicy` (``policy=``, default ``default``):

==========================  ==========================================================================
answers                     rule (default policy)
==========================  ==========================================================================
strings                     equal after normalisation: ``$``, ``\\left``/``\\right``, ``\\dfrac``, spaces,
                            ``\\text{}`` wrappers, degrees (``30^\\circ`` = ``30``), currency, trailing units
                            (``5 cm`` = ``5``) and thousands separators (``1,000`` = ``1000``) removed
numbers                     exact values compare exactly (``0.5`` = ``\\frac12``, ``18`` = ``18.00``); a
                            decimal stands for an exact value to the precision written (``0.3333`` =
                            ``\\frac13``, ``37.699`` = ``12\\pi``; at least 3 significant digits); two
                            decimals compare by value; a decimal comma that cannot be a thousands
                            separator is a decimal mark (``3,75`` = ``3.75``, ``41,206`` = ``41206``)
bases                       ``52_8`` = ``52_{8}`` = ``52`` (digits as written), ``101_2`` = ``5``; ``52_9`` != ``52_8``
percent                     ``20\\%`` = ``20`` and ``20\\%`` = ``0.2`` (a percent stands for x or x/100)
multiple choice             a gold letter (``(C)``, ``\\text{(C)}``, ``(C) 12``) matches the letter the
                            prediction chooses (``C``, ``(C) 12``, "the answer is C")
text                        ``\\text{Monday}`` = ``monday`` (case, spaces and punctuation ignored)
times                       ``9:15`` = ``9:15:00``, ``8:34 PM`` = ``20:34``
``x = 5``                   a simple left-hand side is dropped (``x = 5`` = ``5``, ``f(x) = 2x`` = ``2x``);
                            ``35 + 70 = 105`` against ``105`` counts its last value; two equations are
                            equal when one is a multiple of the other
inequalities                ``-1 \\le x \\le 4`` = ``x \\in [-1, 4]``, ``x > 3 or x < 1`` = a union
tuples, intervals           ``(a, b)`` and ``[a, b)`` are ordered, item by item, brackets must match
sets, bare lists            ``\\{1, 2\\}``, ``1, 2``, ``1 and 2``, several boxes, ``1 \\pm 2`` are unordered;
                            ``a=3,b=1;a=5,b=1`` = ``(3,1),(5,1)``; ``m = 12, n = 3`` = ``(12, 3)``
matrices, systems           same shape, cell by cell; ``cases`` systems equation by equation
anything else               sympy through math-verify's parser (numeric identity at test points, then
                            math-verify ``verify``) in a worker process with a hard deadline (``timeout``)
==========================  ==========================================================================

Each comparison ends in one ``status``: ``equal``, ``unequal``, ``no_answer`` (nothing could be read from
the prediction, or it was truncated without a complete box), ``timeout``, ``error`` or ``skipped`` (the gold
answer is missing or unreadable: ``grade`` returns None, never a silent False).

Example:
    >>> grade("\\\\frac{1}{2}", "0.5"), grade("1,000", "1000"), grade("2, 1", "1, 2"), grade("(2, 1)", "(1, 2)")
    (True, True, True, False)
    >>> compare("$18.00", "18").method
    'numeric'
    >>> grade("7", None) is None
    True
    >>> c = compare("Réponse : 105", "105"); c.status, c.pred_answer, c.pred_extraction
    ('equal', '105', 'answer_is')
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, replace
from functools import lru_cache
from importlib import metadata
from typing import Any, Literal

from .equivalence import choice_text, compare_answers
from .extract import Extraction, extract_choice, looks_bare, read_answer
from .grade_pool import WorkerCrashed, WorkerTimeout, get_pool
from .normalize import normalize_answer, parse_choice
from .policy import GradePolicy, get_policy
from .symbolic import slow_compare

__all__ = [
    "Comparison",
    "GradePolicy",
    "Status",
    "compare",
    "get_policy",
    "grade",
    "grader_version",
    "resolve_policy",
    "slow_compare",
    "GRADER_NAME",
    "GRADER_VERSION",
]

logger = logging.getLogger(__name__)

GRADER_NAME = "mathagent-grader"
GRADER_VERSION = "0.2"

Status = Literal["equal", "unequal", "no_answer", "timeout", "error", "skipped"]

Method = Literal[
    "string",
    "numeric",
    "choice",
    "text",
    "structure",
    "symbolic",
    "math-verify",
    "timeout",
    "skipped",
    "empty",
    "undecided",
    "no_answer",
    "error",
]


@lru_cache(maxsize=1)
def grader_version() -> str:
    """The grader's name and version, and the math-verify version it runs on.

    Example:
        >>> grader_version().startswith("mathagent-grader/0.2 + math-verify/")
        True
    """
    try:
        mv = metadata.version("math-verify")
    except metadata.PackageNotFoundError:  # pragma: no cover - a hard dependency
        mv = "missing"
    return f"{GRADER_NAME}/{GRADER_VERSION} + math-verify/{mv}"


@dataclass(frozen=True, slots=True)
class Comparison:
    """The result of :func:`compare`.

    Attributes:
        equal: Whether pred and gold are equivalent (False on timeout, error, no answer or skip).
        reason: A short human-readable reason.
        method: Which rule decided (``string``, ``numeric``, ``symbolic``, ``math-verify``, ``timeout``, ...).
        grader: Grader name and version, e.g. ``mathagent-grader/0.2 + math-verify/0.9.0``.
        timeout: The symbolic comparison hit its deadline (the worker was killed).
        skipped: The gold answer cannot be graded (empty, missing or unreadable): do not count this pair.
        status: One of ``equal``, ``unequal``, ``no_answer`` (nothing extractable from the prediction),
            ``timeout`` (the symbolic deadline passed), ``error`` (the comparison failed) and ``skipped``.
        pred_answer: The answer read from the prediction (None when there is none).
        pred_extraction: How it was read (``bare``, ``boxed``, ``answer_is``, ``last_number``, ``truncated``, ...).
        gold_answer: The answer read from the reference.
        gold_extraction: How it was read.
        policy: The name of the :class:`~eval.policy.GradePolicy` used.
        truncated: The prediction was marked truncated (so no fallback guess was taken from it).
    """

    equal: bool
    reason: str
    method: Method
    grader: str
    timeout: bool = False
    skipped: bool = False
    status: Status = "unequal"
    pred_answer: str | None = None
    pred_extraction: str = "bare"
    gold_answer: str | None = None
    gold_extraction: str = "bare"
    policy: str = "default"
    truncated: bool = False

    @property
    def correct(self) -> bool | None:
        """``equal``, or None when the pair was skipped."""
        return None if self.skipped else self.equal

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


def _bare_letter(text: str, pol: GradePolicy) -> bool:
    t = choice_text(text)
    return len(t) <= 3 and parse_choice(t, pred=True, letters=pol.choice_letters) is not None


def _read_choice(text: str, pol: GradePolicy, truncated: bool) -> Extraction:
    """The letter a prediction chooses (bare letters as written; responses by :func:`extract_choice`)."""
    if looks_bare(text):
        letter = parse_choice(choice_text(text), pred=True, letters=pol.choice_letters)
        return Extraction(letter or text.strip(), "bare")
    if truncated:
        got = read_answer(text, extraction="boxed")
        letter = parse_choice(choice_text(got.answer), pred=True, letters=pol.choice_letters) if got.answer else None
        return Extraction(letter, "boxed") if letter else Extraction(None, "truncated")
    return extract_choice(text, pol.choice_letters)


def _no_answer(pol: GradePolicy, px: Extraction, gx: Extraction, truncated: bool) -> Comparison:
    why = {
        "truncated": "the response was cut off and holds no complete box: no answer is guessed from it",
        "none": "no answer could be read from the prediction",
    }.get(px.method, "no predicted answer")
    return Comparison(
        False, why, "no_answer", grader_version(), status="no_answer", pred_extraction=px.method,
        gold_answer=gx.answer, gold_extraction=gx.method, policy=pol.name, truncated=truncated,
    )  # fmt: skip


def _compare_uncached(pred: str, gold: str, pol: GradePolicy, truncated: bool) -> Comparison:
    """One comparison; timeouts and worker errors raise (so that the cache below never keeps them)."""
    version = grader_version()
    if pred.strip() == gold.strip() and not truncated:
        return Comparison(
            True, "identical text", "string", version, status="equal", pred_answer=pred.strip(),
            gold_answer=gold.strip(), policy=pol.name,
        )  # fmt: skip
    gx = read_answer(gold, extraction="bare" if pol.extraction == "bare" else "auto", fallbacks=False)
    response = gx.method != "bare"
    if pol.choices != "off" and pol.extraction != "bare" and response and _bare_letter(pred, pol):
        letter = extract_choice(gold, pol.choice_letters)  # a reference that is a response, against a letter
        if letter.found and (gx.answer is None or parse_choice(choice_text(gx.answer), letters=pol.choice_letters)):
            gx = Extraction(f"({letter.answer})", letter.method)
    if not gx.found:  # a reference in prose with no box or answer phrase is compared as written, never guessed
        gx = Extraction(gold.strip(), "bare")
    if gx.answer is None or not normalize_answer(gx.answer):
        return Comparison(
            False, "no answer could be read from the gold answer", "skipped", version, skipped=True,
            status="skipped", gold_extraction=gx.method, policy=pol.name, truncated=truncated,
        )  # fmt: skip
    common = {"policy": pol.name, "truncated": truncated, "gold_answer": gx.answer, "gold_extraction": gx.method}
    gold_letter = None
    if pol.choices != "off" and pol.extraction != "bare":
        gold_letter = parse_choice(choice_text(gx.answer), letters=pol.choice_letters)
        if gold_letter is None and pol.choices == "only":
            gold_letter = extract_choice(gold, pol.choice_letters).answer
    if gold_letter is not None:
        px = _read_choice(pred, pol, truncated)
        if px.answer is None:
            return _no_answer(pol, px, gx, truncated)
        eq = px.answer == gold_letter
        return Comparison(
            eq, f"choice {px.answer} vs {gold_letter}", "choice", version, status="equal" if eq else "unequal",
            pred_answer=px.answer, pred_extraction=px.method, **common,  # type: ignore[arg-type]
        )  # fmt: skip
    px = read_answer(pred, extraction=pol.extraction, fallbacks=pol.fallbacks, truncated=truncated)
    if px.answer is None or not normalize_answer(px.answer):
        return _no_answer(pol, px, gx, truncated)
    common.update(pred_answer=px.answer, pred_extraction=px.method)
    v = compare_answers(px.answer, gx.answer, pol)
    if v.result is False and px.parts:  # several boxes holding one answer twice: 15\frac{39}{40} or \frac{639}{40}
        each = [compare_answers(part, gx.answer, pol) for part in px.parts]
        if all(e.result is True for e in each):
            v = replace(each[0], reason=f"every box equals the gold answer ({each[0].reason})")
    if v.result is not None:
        status = "equal" if v.result else "unequal"
        return Comparison(v.result, v.reason, v.method, version, status=status, **common)  # type: ignore[arg-type]
    if not pol.symbolic:
        return Comparison(
            False, "no fast rule decided and symbolic comparison is off", "undecided", version, status="unequal",
            **common,  # type: ignore[arg-type]
        )  # fmt: skip
    payload = {"pred": px.answer, "gold": gx.answer, "opts": pol.model_dump()}
    reply = get_pool().request(payload, timeout=pol.timeout)
    if reply.get("method") == "error":
        raise WorkerCrashed(reply.get("reason", "unknown error"))
    skipped = bool(reply.get("skipped"))
    equal = bool(reply["equal"])
    status = "skipped" if skipped else "equal" if equal else "unequal"
    return Comparison(
        equal, str(reply["reason"]), reply["method"], version, skipped=skipped, status=status,  # type: ignore[arg-type]
        **common,  # type: ignore[arg-type]
    )  # fmt: skip


_compare_cached = lru_cache(maxsize=65536)(_compare_uncached)
_CACHE_MAX_CHARS = 4096  # longer inputs are compared without caching


def _as_text(x: object) -> str | None:
    if x is None:
        return None
    if isinstance(x, float) and x.is_integer():
        return str(int(x))
    return str(x)


def resolve_policy(
    policy: str | GradePolicy | None = None,
    *,
    rel_tol: float | None = None,
    timeout: float | None = None,
    symbolic: bool | None = None,
) -> GradePolicy:
    """The policy of one call: a preset name or a policy, with the keyword options laid over it.

    Example:
        >>> resolve_policy("gsm8k", timeout=20).timeout, resolve_policy().name
        (20.0, 'default')
    """
    pol = get_policy(policy)
    update: dict[str, Any] = {
        k: v for k, v in (("rel_tol", rel_tol), ("timeout", timeout), ("symbolic", symbolic)) if v is not None
    }
    if rel_tol is not None and pol.approximation == "precision":
        update["approximation"] = "rel_tol"  # an explicit tolerance asks for the tolerance rule
    return GradePolicy.model_validate({**pol.model_dump(), **update}) if update else pol


def compare(
    pred: object,
    gold: object,
    *,
    policy: str | GradePolicy | None = None,
    rel_tol: float | None = None,
    timeout: float | None = None,
    symbolic: bool | None = None,
    truncated: bool = False,
) -> Comparison:
    """Compare a predicted answer with a reference answer and say why they are (not) equal.

    Safe to call from many threads and from worker processes: the slow symbolic comparison runs in
    a separate process that is killed when it passes ``timeout``.

    Args:
        pred: The predicted answer: a bare answer, a LaTeX string or a whole response (numbers are accepted).
        gold: The reference answer (likewise).
        policy: A :class:`~eval.policy.GradePolicy` or a preset name (``default``, ``math``, ``gsm8k``, ...).
        rel_tol: Overrides the policy's relative tolerance.
        timeout: Overrides the policy's hard deadline in seconds for the symbolic comparison.
        symbolic: Overrides whether the symbolic path runs for pairs the fast rules cannot decide.
        truncated: The prediction was cut off (token limit): no fallback answer is guessed from it.

    Returns:
        A :class:`Comparison`. ``skipped`` is True when the gold answer is missing or empty.

    Raises:
        UnknownPolicyError: ``policy`` names no preset.

    Example:
        >>> c = compare("x = 5.0", "5")
        >>> c.equal, c.method, c.status
        (True, 'numeric', 'equal')
        >>> compare("3", "").status
        'skipped'
    """
    pol = resolve_policy(policy, rel_tol=rel_tol, timeout=timeout, symbolic=symbolic)
    version = grader_version()
    g = _as_text(gold)
    if g is None or not normalize_answer(g):
        return Comparison(
            False,
            "the gold answer is missing or empty",
            "skipped",
            version,
            skipped=True,
            status="skipped",
            policy=pol.name,
            truncated=truncated,
        )
    p = _as_text(pred)
    if p is None or not normalize_answer(p):
        return Comparison(
            False,
            "no predicted answer",
            "empty",
            version,
            status="no_answer",
            gold_answer=g,
            policy=pol.name,
            truncated=truncated,
        )
    try:
        if len(p) + len(g) > _CACHE_MAX_CHARS:
            return _compare_uncached(p, g, pol, truncated)
        return _compare_cached(p, g, pol, truncated)
    except (WorkerTimeout, WorkerCrashed) as exc:
        px = read_answer(p, extraction=pol.extraction, fallbacks=pol.fallbacks, truncated=truncated)
        gx = read_answer(g)
        where = Comparison(
            False, "", "error", version, status="error", pred_answer=px.answer, pred_extraction=px.method,
            gold_answer=gx.answer, gold_extraction=gx.method, policy=pol.name, truncated=truncated,
        )  # fmt: skip
        if isinstance(exc, WorkerTimeout):
            logger.warning("grader timeout after %.1fs: pred=%.80r gold=%.80r", pol.timeout, px.answer, gx.answer)
            why = f"symbolic comparison passed its {pol.timeout:g}s deadline; worker killed"
            return replace(where, reason=why, method="timeout", timeout=True, status="timeout")
        logger.warning("grader worker failed: %s", exc)
        return replace(where, reason=f"symbolic comparison failed: {exc}")


def grade(pred: object, gold: object, **opts: Any) -> bool | None:
    """Whether ``pred`` is equivalent to ``gold`` (see :func:`compare` and the policy table above).

    Args:
        pred: The predicted answer.
        gold: The reference answer.
        **opts: ``policy``, ``rel_tol``, ``timeout``, ``symbolic``, ``truncated`` as in :func:`compare`.

    Returns:
        True or False; None when the gold answer cannot be graded (missing or empty): fail closed,
        do not count it as wrong.

    Example:
        >>> grade("\\\\text{(C)}", "C"), grade("50\\\\%", "0.5"), grade("1/3", "0.33")
        (True, True, False)
    """
    return compare(pred, gold, **opts).correct
