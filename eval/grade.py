"""Answer equivalence: ``grade(pred, gold)`` and ``compare(pred, gold)`` (which also says why).

Policy (what counts as equal) — a fast path in-process, then math-verify in a worker process:

==========================  ==========================================================================
answers                     rule
==========================  ==========================================================================
strings                     equal after normalisation: ``$``, ``\\left``/``\\right``, ``\\dfrac``, spaces,
                            ``\\text{}`` wrappers, degrees (``30^\\circ`` = ``30``), currency, trailing units
                            (``5 cm`` = ``5``) and thousands separators (``1,000`` = ``1000``) removed
numbers                     exact values compare exactly (``0.5`` = ``\\frac12`` = ``1/2``, ``18`` = ``18.00``);
                            a decimal (``0.3333``) and an exact value (``\\frac13``, ``18``) are equal within
                            ``rel_tol`` (default 1e-4, so ``1/3`` = ``0.3333`` but not ``0.333``); two
                            different decimals or fractions are never equal
bases                       ``52_8`` = ``52_{8}`` = ``52`` (digits as written), ``101_2`` = ``5``; ``52_9`` != ``52_8``
percent                     ``20\\%`` = ``20`` and ``20\\%`` = ``0.2`` (a percent stands for x or x/100)
multiple choice             a gold letter A-E (``(C)``, ``\\text{(C)}``) matches ``C``, ``(C)``, ``(C) 12``
text                        ``\\text{Monday}`` = ``monday`` (case, spaces and punctuation ignored)
``x = 5``                   a simple left-hand side is dropped (``x = 5`` = ``5``), unless both sides name
                            different variables
tuples, intervals           ``(a, b)`` and ``[a, b)`` are ordered, item by item, brackets must match
sets, bare lists            ``\\{1, 2\\}`` and ``1, 2`` are unordered (``2, 1`` matches); lengths must match
unions                      ``A \\cup B`` = ``B \\cup A``
matrices                    same shape, cell by cell; a one-row/one-column matrix matches a tuple
anything else               math-verify ``parse`` + ``verify`` (symbolic, e.g. ``\\frac{\\sqrt3}{2}`` =
                            ``\\frac{1}{2}\\sqrt{3}``) in a worker process with a hard deadline (``timeout``)
==========================  ==========================================================================

Fail closed: an empty or missing gold answer gives ``skipped=True`` (``grade`` returns None, never a
silent False); a timeout, a worker crash or an undecidable pair gives ``equal=False`` with the reason.

Example:
    >>> grade("\\\\frac{1}{2}", "0.5"), grade("1,000", "1000"), grade("2, 1", "1, 2"), grade("(2, 1)", "(1, 2)")
    (True, True, True, False)
    >>> compare("$18.00", "18").method
    'numeric'
    >>> grade("7", None) is None
    True
"""

from __future__ import annotations

import logging
import re
from dataclasses import asdict, dataclass, replace
from fractions import Fraction
from functools import lru_cache
from importlib import metadata
from typing import Any, Literal

from .grade_pool import WorkerCrashed, WorkerTimeout, get_pool
from .normalize import (
    Number,
    Structure,
    is_text_answer,
    normalize_answer,
    parse_base,
    parse_choice,
    parse_number,
    parse_structure,
    strip_assignment,
)
from .policy import GradePolicy, get_policy

__all__ = [
    "Comparison",
    "GradeOptions",
    "GradePolicy",
    "Status",
    "compare",
    "get_policy",
    "grade",
    "grader_version",
    "resolve_policy",
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
    "math-verify",
    "timeout",
    "skipped",
    "empty",
    "undecided",
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
class GradeOptions:
    """Options of one comparison (frozen: hashable, so results can be cached per options).

    Attributes:
        rel_tol: Relative tolerance for numbers when either side is not an integer.
        timeout: Hard deadline in seconds for the symbolic (math-verify) comparison.
        symbolic: Use math-verify for pairs the fast path cannot decide; if False they are unequal.
    """

    rel_tol: float = 1e-4
    timeout: float = 5.0
    symbolic: bool = True


@dataclass(frozen=True, slots=True)
class Comparison:
    """The result of :func:`compare`.

    Attributes:
        equal: Whether pred and gold are equivalent (False on timeout, error or skip).
        reason: A short human-readable reason.
        method: Which rule decided (``string``, ``numeric``, ``math-verify``, ``timeout``, ...).
        grader: Grader name and version, e.g. ``mathagent-grader/0.1 + math-verify/0.9.0``.
        timeout: The symbolic comparison hit its deadline (the worker was killed).
        skipped: The gold answer cannot be graded (empty or missing): do not count this pair.
        status: One of ``equal``, ``unequal``, ``no_answer`` (nothing extractable from the prediction),
            ``timeout`` (the symbolic deadline passed), ``error`` (the comparison failed) and ``skipped``.
        pred_answer: The answer read from the prediction (None when there is none).
        pred_extraction: How it was read (``bare``, ``boxed``, ``answer_is``, ``last_number``, ...).
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


@dataclass(frozen=True, slots=True)
class _V:
    """Internal verdict: ``result`` None means the rule could not decide."""

    result: bool | None
    method: str
    reason: str


_UNDECIDED = _V(None, "undecided", "no fast rule applies")
_MAX_MATCH = 24  # unordered lists longer than this are not matched item by item


def _light(s: str) -> str:
    """Light clean-up for choice letters: keep spaces, drop ``$``, boxes and ``\\text{}``."""
    s = s.strip().strip("$").strip()
    s = re.sub(r"^\\(?:boxed|fbox)\{(.*)\}$", r"\1", s, flags=re.DOTALL)
    s = re.sub(r"\\(?:text|textbf|mathrm|mbox)\{([^{}]*)\}", r"\1", s)
    return s.strip().rstrip(".").strip()


def _num_equal(p: Number, g: Number, rel_tol: float) -> bool:
    for a in p.candidates():
        for b in g.candidates():
            if a == b:
                return True
            if p.decimal == g.decimal:
                continue  # tolerance only between a decimal and an exact value
            if abs(a - b) <= Fraction(rel_tol) * max(abs(a), abs(b)):
                return True
    return False


def _cmp_base(p: str, g: str, pb: tuple[str, int] | None, gb: tuple[str, int] | None) -> _V | None:
    """Numbers in a base (``52_8``): equal values when both carry a base or only the prediction does (against
    a decimal gold); against a gold in base b, a prediction without subscript must have the same digits."""
    if pb is not None and gb is not None:
        eq = int(pb[0], pb[1]) == int(gb[0], gb[1])
        return _V(eq, "numeric", f"base-{pb[1]} {pb[0]} {'=' if eq else '!='} base-{gb[1]} {gb[0]}")
    if gb is not None and re.fullmatch(r"[0-9][0-9A-Za-z]*_\{?\d+\}?", p):
        return _V(False, "numeric", f"{p!r} is not a valid base-b number")
    if gb is None and pb is not None and re.fullmatch(r"\d+", g):
        eq = int(pb[0], pb[1]) == int(g)
        return _V(eq, "numeric", f"base-{pb[1]} {pb[0]} {'=' if eq else '!='} {g}")
    digits = gb[0] if gb is not None else pb[0]  # type: ignore[index]
    other = p if gb is not None else g
    if re.fullmatch(r"[0-9A-Za-z]+", other):
        eq = other.upper() == digits
        return _V(eq, "numeric", "same digits, base subscript omitted" if eq else "different digits")
    return None


def _text_key(s: str) -> str:
    return re.sub(r"[^a-z0-9]", "", s.lower())


def _cmp(p: str, g: str, opts: GradeOptions, slow: bool, depth: int = 0) -> _V:
    """Compare two normalised answers; with ``slow`` fall back to math-verify for undecided pairs."""
    raw_p, raw_g = p, g
    p, g = normalize_answer(p), normalize_answer(g)
    if not p:
        return _V(False, "empty", "the prediction is empty")
    if not g:
        return _V(False, "empty", "the gold item is empty")
    if p == g:
        return _V(True, "string", "same normalised string")
    gc = parse_choice(_light(raw_g))
    if gc is not None:
        pc = parse_choice(_light(raw_p), pred=True)
        return _V(pc == gc, "choice", f"choice {pc} vs {gc}" if pc else f"no choice letter in the prediction ({gc})")
    if is_text_answer(raw_g, g):
        if _text_key(p) == _text_key(g):
            return _V(True, "text", "same words")
        if is_text_answer(raw_p, p):
            return _V(False, "text", "different words")
    pb, gb = parse_base(p), parse_base(g)
    if gb is not None or pb is not None:
        v = _cmp_base(p, g, pb, gb)
        if v is not None:
            return v
    pn, gn = parse_number(p), parse_number(g)
    if pn is not None and gn is not None:
        eq = _num_equal(pn, gn, opts.rel_tol)
        why = "equal numbers" if eq else f"different numbers ({float(pn.value):.6g} vs {float(gn.value):.6g})"
        return _V(eq, "numeric", why)
    # x = 5 vs 5
    pl, p2 = strip_assignment(p)
    gl, g2 = strip_assignment(g)
    if (pl or gl) and depth < 4:
        if pl and gl and pl != gl:
            pass  # different variables: leave it to the structure rules / math-verify
        else:
            v = _cmp(p2, g2, opts, slow, depth + 1)
            return _V(v.result, v.method, f"{v.reason} (after dropping the left-hand side)")
    if depth < 4:
        v = _cmp_structures(p, g, pn, gn, opts, slow, depth)
        if v.result is not None:
            return v
    if slow:
        return _math_verify(p, g)
    return _UNDECIDED


def _match(verdicts: list[list[_V]]) -> bool | None:
    """Unordered matching: True if a perfect matching of True edges exists, False if none even with
    undecided edges, else None."""
    n = len(verdicts)

    def perfect(ok) -> bool:
        match_of: dict[int, int] = {}

        def augment(i: int, seen: set[int]) -> bool:
            for j in range(n):
                if j not in seen and ok(verdicts[i][j]):
                    seen.add(j)
                    if j not in match_of or augment(match_of[j], seen):
                        match_of[j] = i
                        return True
            return False

        return all(augment(i, set()) for i in range(n))

    if perfect(lambda v: v.result is True):
        return True
    if not perfect(lambda v: v.result is not False):
        return False
    return None


def _cmp_items(ps: tuple, gs: tuple, ordered: bool, opts: GradeOptions, slow: bool, depth: int) -> _V:
    if len(ps) != len(gs):
        return _V(False, "structure", f"{len(ps)} items vs {len(gs)} in the gold answer")
    if ordered:
        results = []
        for a, b in zip(ps, gs, strict=True):
            v = _cmp(a, b, opts, slow, depth + 1)
            if v.result is False:
                return _V(False, "structure", f"item {a!r} differs from {b!r} ({v.method})")
            results.append(v.result)
        if all(r is True for r in results):
            return _V(True, "structure", f"all {len(ps)} items equal in order")
        return _UNDECIDED
    if sorted(map(normalize_answer, ps)) == sorted(map(normalize_answer, gs)):
        return _V(True, "structure", f"same {len(ps)} items as a set")
    if len(ps) > _MAX_MATCH:
        pn = [parse_number(normalize_answer(a)) for a in ps]
        gn = [parse_number(normalize_answer(b)) for b in gs]
        if all(pn) and all(gn):
            pv = sorted(x.value for x in pn if x)
            gv = sorted(x.value for x in gn if x)
            eq = pv == gv
            return _V(eq, "structure", f"{len(ps)} numbers {'match' if eq else 'do not match'} as a set")
        return _UNDECIDED  # too many items to match pairwise here
    verdicts = [[_cmp(a, b, opts, slow, depth + 1) for b in gs] for a in ps]
    m = _match(verdicts)
    if m is None:
        return _UNDECIDED
    return _V(m, "structure", f"{len(ps)} items {'match' if m else 'do not match'} as a set")


def _cmp_structures(
    p: str, g: str, pn: Number | None, gn: Number | None, opts: GradeOptions, slow: bool, depth: int
) -> _V:
    ps, gs = parse_structure(p), parse_structure(g)
    if ps is None and gs is None:
        return _UNDECIDED
    if gs is None:
        if gn is not None:
            return _V(False, "structure", "a list or tuple against a single number")
        return _UNDECIDED
    if ps is None:
        if pn is not None:
            return _V(False, "structure", "a single number against a list, tuple or matrix")
        return _UNDECIDED
    if gs.kind == "matrix" or ps.kind == "matrix":
        return _cmp_matrix(ps, gs, opts, slow, depth)
    if gs.kind == "union" or ps.kind == "union":
        if gs.kind == ps.kind:
            return _cmp_items(ps.items, gs.items, False, opts, slow, depth)
        return _UNDECIDED
    if gs.ordered:
        if (ps.open, ps.close) == (gs.open, gs.close):
            return _cmp_items(ps.items, gs.items, True, opts, slow, depth)
        if ps.ordered:
            return _V(False, "structure", f"brackets {ps.open}{ps.close} vs {gs.open}{gs.close}")
        return _UNDECIDED
    if ps.open in ("{", "", "("):
        return _cmp_items(ps.items, gs.items, False, opts, slow, depth)
    return _UNDECIDED


def _cmp_matrix(ps: Structure, gs: Structure, opts: GradeOptions, slow: bool, depth: int) -> _V:
    def flat_vector(s: Structure) -> tuple | None:
        if s.kind == "matrix":
            if len(s.items) == 1 or all(len(r) == 1 for r in s.items):
                return tuple(c for r in s.items for c in r)
            return None
        return s.items if s.kind == "seq" and s.open in ("(", "[", "") else None

    if ps.kind == gs.kind == "matrix":
        if len(ps.items) != len(gs.items) or len(ps.items[0]) != len(gs.items[0]):
            return _V(False, "structure", "matrices of different shapes")
        pf = tuple(c for r in ps.items for c in r)
        gf = tuple(c for r in gs.items for c in r)
        return _cmp_items(pf, gf, True, opts, slow, depth)
    pv, gv = flat_vector(ps), flat_vector(gs)
    if pv is None or gv is None:
        return _V(False, "structure", "a matrix against a non-vector")
    return _cmp_items(pv, gv, True, opts, slow, depth)


# ---------------------------------------------------------------- slow path (runs in a worker process)


@lru_cache(maxsize=4096)
def _mv_parse(s: str) -> list:
    from math_verify import parse

    text = s if "$" in s else f"${s}$"
    return parse(text, parsing_timeout=None)


def _math_verify(p: str, g: str) -> _V:
    from math_verify import verify

    gp = _mv_parse(g)
    if not gp:
        return _V(None, "skipped", "math-verify cannot parse the gold answer")
    pp = _mv_parse(p)
    if not pp:
        return _V(False, "math-verify", "math-verify cannot parse the prediction")
    eq = bool(verify(gp, pp, timeout_seconds=None))
    return _V(eq, "math-verify", "symbolically equal" if eq else "math-verify says different")


def slow_compare(pred: str, gold: str, opts: dict[str, Any]) -> dict[str, Any]:
    """The worker side of a comparison (:mod:`eval.grade_worker`): the fast rules, then math-verify.

    Math-verify runs on the normalised strings, and on the raw ones when normalising changed them.
    """
    o = GradeOptions(**opts)
    v = _cmp(pred, gold, o, slow=True)
    if v.result is not True and (pred.strip(), gold.strip()) != (normalize_answer(pred), normalize_answer(gold)):
        raw = _math_verify(pred, gold)
        if raw.result is True:
            v = _V(True, "math-verify", "symbolically equal (raw strings)")
    if v.result is None:
        return {"equal": False, "method": "skipped", "reason": v.reason, "skipped": True}
    return {"equal": v.result, "method": v.method, "reason": v.reason}


# ---------------------------------------------------------------- public API


def _compare_uncached(pred: str, gold: str, opts: GradeOptions) -> Comparison:
    """One comparison; timeouts and worker errors raise (so that the cache below never keeps them)."""
    version = grader_version()
    v = _cmp(pred, gold, opts, slow=False)
    if v.result is not None:
        return Comparison(v.result, v.reason, v.method, version)  # type: ignore[arg-type]
    if not opts.symbolic:
        return Comparison(False, "no fast rule decided and symbolic comparison is off", "undecided", version)
    reply = get_pool().request({"pred": pred, "gold": gold, "opts": asdict(opts)}, timeout=opts.timeout)
    if reply.get("method") == "error":
        raise WorkerCrashed(reply.get("reason", "unknown error"))
    return Comparison(
        bool(reply["equal"]), str(reply["reason"]), reply["method"], version, skipped=bool(reply.get("skipped"))
    )


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
    update = {k: v for k, v in (("rel_tol", rel_tol), ("timeout", timeout), ("symbolic", symbolic)) if v is not None}
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
    opts = GradeOptions(rel_tol=pol.rel_tol, timeout=pol.timeout, symbolic=pol.symbolic)
    try:
        if len(p) + len(g) > _CACHE_MAX_CHARS:
            c = _compare_uncached(p, g, opts)
        else:
            c = _compare_cached(p, g, opts)
    except WorkerTimeout:
        logger.warning("grader timeout after %.1fs: pred=%.80r gold=%.80r", pol.timeout, p, g)
        return Comparison(
            False,
            f"symbolic comparison passed its {pol.timeout:g}s deadline; worker killed",
            "timeout",
            version,
            timeout=True,
            status="timeout",
            pred_answer=p,
            gold_answer=g,
            policy=pol.name,
            truncated=truncated,
        )
    except WorkerCrashed as exc:
        logger.warning("grader worker failed: %s", exc)
        return Comparison(
            False,
            f"symbolic comparison failed: {exc}",
            "error",
            version,
            status="error",
            pred_answer=p,
            gold_answer=g,
            policy=pol.name,
            truncated=truncated,
        )
    status = "skipped" if c.skipped else "equal" if c.equal else "unequal"
    return replace(c, status=status, pred_answer=p, gold_answer=g, policy=pol.name, truncated=truncated)


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
        >>> grade("\\\\text{(C)}", "C"), grade("50\\\\%", "0.5"), grade("1/3", "0.333")
        (True, True, False)
    """
    return compare(pred, gold, **opts).correct
