"""The grader's slow path, run in a worker process (:mod:`eval.grade_worker`) under a hard deadline.

For a pair no fast rule decides, both answers are parsed with math-verify's LaTeX parser into sympy,
then, in this order:

1. **Guards**: a power tower or a literal too large to evaluate (``10^{10^{10}}``, ``2^{2^{2^{2^{2^2}}}}``)
   is never handed to sympy; such a pair is unequal unless the fast rules matched it (same string, or
   same base and equal exponents).
2. **Numbers and expressions** (no relations, sets or matrices): both sides are evaluated to 40 digits at
   three points (the same values for the same symbols; sums with symbolic bounds are summed first).
   Equal at every point -> equal; different at any point -> unequal. When a side carries decimals (and
   the policy allows approximation), the tolerance is half a unit in the last decimal written
   (``y + 1.732i`` = ``y + \\sqrt3 i``). This never calls ``simplify``, so it cannot hang on large powers.
3. **Equations** (``L = R`` on both sides): equal when ``L - R`` of one is a constant non-zero multiple of
   the other's (``4x + 2y = 3`` = ``x = -\\frac{y}{2} + \\frac34``).
4. Anything else (inequalities, sets, matrices, what the numeric test cannot evaluate): math-verify's
   ``verify(gold, pred)``.

Example:
    >>> from eval.policy import get_policy
    >>> symbolic_compare(r"\\frac{\\sqrt3}{2}", r"\\sin(60^\\circ)", get_policy(None)).result
    True
"""

from __future__ import annotations

import math
import re
from functools import lru_cache
from typing import Any

from .equivalence import Verdict, compare_answers
from .normalize import normalize_answer, parse_number
from .policy import GradePolicy

__all__ = ["slow_compare", "symbolic_compare", "too_big", "warm_up"]

_MAX_DIGITS_EVAL = 100_000  # numbers with more digits than this are never built
_POINTS = 3
_TIGHT = 1e-20
# integer test values: small ones, and squares plus one (floor(sqrt(n-1)) and floor(sqrt(n-2)) differ there)
_INTEGER_POINTS = (2, 3, 5, 7, 10, 17, 26, 37, 50, 65, 101)
_FLOAT = 1e-13  # the precision of a decimal literal once read as a float
_DECIMAL_RE = re.compile(r"(?<![\d.])(\d*)\.(\d+)(?:\\times10\^\{?([-+]?\d+)\}?)?")


def _brace_group(s: str, i: int) -> tuple[str, int]:
    """The token starting at ``s[i]`` (a braced group or one character) and the index after it."""
    if i >= len(s):
        return "", i
    if s[i] != "{":
        return s[i], i + 1
    depth = 0
    for j in range(i, len(s)):
        if s[j] == "{":
            depth += 1
        elif s[j] == "}":
            depth -= 1
            if depth == 0:
                return s[i + 1 : j], j + 1
    return s[i + 1 :], len(s)


def _log10_bound(tok: str, depth: int = 0) -> float:
    """An upper bound of log10 of a numeric power tower (``10^{10^{10}}`` -> 1e10); 0 when not numeric."""
    tok = tok.strip()
    if depth > 20:
        return math.inf
    if re.fullmatch(r"\d+(?:\.\d+)?", tok):
        return math.log10(max(1.0, float(tok))) if len(tok) < 300 else len(tok)
    m = re.match(r"(\d+)\^", tok)
    if m and m.end() < len(tok):
        exp_tok, end = _brace_group(tok, m.end())
        if end == len(tok) and not exp_tok.startswith("-") and "frac" not in exp_tok and "/" not in exp_tok:
            e = _log10_bound(exp_tok, depth + 1)
            if e > 300:
                return math.inf
            return (10.0**e) * math.log10(max(2, int(m.group(1)))) if int(m.group(1)) > 1 else 0.0
    return 0.0


def too_big(s: str) -> bool:
    """Whether an answer holds a number too large to build (a power tower, a huge factorial).

    Example:
        >>> too_big("10^{10^{10}}"), too_big("2^{65536}"), too_big(r"2^{\\frac{1}{2^{1000}}}")
        (True, False, False)
    """
    if re.search(r"\d{6,}!", s):
        return True
    for m in re.finditer(r"(\d+)\^", s):
        exp_tok, end = _brace_group(s, m.end())
        if _log10_bound(f"{m.group(1)}^{{{exp_tok}}}") > _MAX_DIGITS_EVAL:
            return True
    return False


def _readable(s: str) -> bool:
    """Whether ``s`` can be one formula: no ``@``, ``#``, ``?``, quotes, a bare ``:`` or ``&`` outside a matrix."""
    core = re.sub(r"\\begin\{(\w+\*?)\}.*?\\end\{\1\}", " ", s, flags=re.DOTALL)
    core = core.replace("\\colon", " ").replace("\\&", " ")
    return not re.search(r"[@#?\"]|(?<!\\):|&", core)


def _prepare(s: str) -> str:
    """LaTeX for the parser: degrees as radians inside expressions, ``I`` after a number as the imaginary unit."""
    s = s.replace("^\\circ", "\\cdot\\frac{\\pi}{180}")
    s = re.sub(r"(?<=[\d}])I(?![A-Za-z])", "i", s)
    return s


@lru_cache(maxsize=1)
def _extraction_config() -> tuple[Any, ...]:
    """math-verify's default extraction, without its unit stripping (``5cm`` is not ``5``; units are ours)."""
    from latex2sympy2_extended.latex2sympy2 import NormalizationConfig
    from math_verify import ExprExtractionConfig, LatexExtractionConfig

    norm = NormalizationConfig(basic_latex=True, units=False, malformed_operators=True, nits=True, boxed="all")
    return (LatexExtractionConfig(normalization_config=norm), ExprExtractionConfig())


@lru_cache(maxsize=4096)
def _parse(s: str) -> Any:
    """The first sympy object math-verify reads from ``s`` (or None); ``i`` is the imaginary unit."""
    from math_verify import parse
    from sympy import I

    text = s if "$" in s else f"${s}$"
    for item in parse(text, extraction_config=_extraction_config(), parsing_timeout=None):
        if not isinstance(item, str):
            try:
                if re.search(r"(?<![A-Za-z\\])i(?![A-Za-z])", s):
                    return item.subs({x: I for x in item.free_symbols if getattr(x, "name", "") == "i"})
                return item
            except Exception:  # noqa: BLE001 - some parsed objects do not substitute
                return item
    return None


def _decimals(s: str, pol: GradePolicy) -> tuple[int | None, int]:
    """``(places of the coarsest decimal written, number of decimals)``; places None when any decimal is too
    short to stand for an exact value (fewer significant digits than the policy asks)."""
    coarsest: int | None = None
    n = 0
    for m in _DECIMAL_RE.finditer(s):
        whole, frac, exp = m.group(1), m.group(2), int(m.group(3) or 0)
        n += 1
        digits = len((whole + frac).lstrip("0")) or 1
        if digits < pol.approx_min_digits:
            return None, n
        places = len(frac) - exp
        coarsest = places if coarsest is None else min(coarsest, places)
    return coarsest, n


def _points(symbols: list[Any], integers: frozenset[str] = frozenset()) -> list[dict[Any, Any]]:
    """Test points: the same value for every symbol of the same name (``y`` real or not is one ``y``); symbols
    in the bounds of a sum or product (``integers``) get small integers."""
    from sympy import Integer, Rational

    names = sorted({str(x) for x in symbols})
    index = {n: j for j, n in enumerate(names)}

    def value(x: Any, t: int) -> Any:
        j = index[str(x)]
        if str(x) in integers:
            return Integer(_INTEGER_POINTS[t] + j)
        return Rational(310 + 137 * j + 293 * t + 17 * (j * t % 5), 1000)

    count = len(_INTEGER_POINTS) if integers else _POINTS
    return [{x: value(x, t) for x in symbols} for t in range(count)]


def _limit_symbols(*exprs: Any) -> frozenset[str]:
    """Names of the symbols that must be integers at the test points: the bounds of sums and products, and
    every symbol of an expression with floor, ceiling, mod, factorial or binomial (whose values small
    rationals would not tell apart: at n = 0.5, floor(n/2) = floor(n/3))."""
    from sympy import Mod, Product, Sum, binomial, ceiling, factorial, floor

    names: set[str] = set()
    for e in exprs:
        for node in e.atoms(Sum, Product) if e.has(Sum, Product) else ():
            for _, lo, hi in node.limits:
                names |= {str(x) for x in lo.free_symbols | hi.free_symbols}
        if e.has(floor, ceiling, Mod, factorial, binomial):
            names |= {str(x) for x in e.free_symbols}
    return frozenset(names)


def _value(expr: Any, point: dict[Any, Any]) -> Any:
    """``expr`` at ``point`` as an mpmath number (40 digits; huge exponents are fine), or None."""
    import mpmath

    try:
        v = expr.evalf(40, subs=point) if point else expr.evalf(40)
        c = v._to_mpmath(140)
    except Exception:  # noqa: BLE001 - anything sympy cannot evaluate leaves the decision to math-verify
        return None
    if not mpmath.isfinite(c):
        return None
    return c


def _show(v: Any) -> str:
    import mpmath

    return mpmath.nstr(v, 6)


def _summed(expr: Any) -> Any:
    """Sums and products evaluated first: term by term when the bounds are numbers (at most 20000 terms;
    sympy's closed forms of ``\\sum k^{2000}`` take minutes), in closed form when a bound is symbolic."""
    import mpmath
    from sympy import Float, Product, Sum, lambdify

    if not expr.has(Sum, Product):
        return expr
    replacements = {}
    for node in expr.atoms(Sum, Product):
        if len(node.limits) != 1:
            continue
        var, lo, hi = node.limits[0]
        if lo.free_symbols or hi.free_symbols or node.function.free_symbols - {var}:
            continue
        try:
            a, b = int(lo), int(hi)
        except (TypeError, ValueError):
            continue
        if b - a > 20000:
            return expr
        try:  # term by term in 50-digit arithmetic (sympy's own Pow and Add of big numbers are slow)
            f = lambdify(var, node.function, "mpmath")
            with mpmath.workdps(50):
                terms = [f(mpmath.mpf(i)) for i in range(a, b + 1)]
                total = mpmath.fsum(terms) if isinstance(node, Sum) else mpmath.fprod(terms)
                replacements[node] = Float(mpmath.nstr(total, 48), 48)
        except Exception:  # noqa: BLE001 - left to sympy
            continue
    expr = expr.xreplace(replacements) if replacements else expr
    if expr.has(Sum, Product):
        try:
            return expr.doit()
        except Exception:  # noqa: BLE001
            return expr
    return expr


def _numeric(a: Any, b: Any, p: str, g: str, pol: GradePolicy) -> Verdict | None:
    """Evaluate both sides at a few points: equal, unequal, or None when they cannot be evaluated."""
    integers = _limit_symbols(a, b)
    if integers:  # sums with symbolic bounds are evaluated at integer bounds, term by term
        symbols = sorted(a.free_symbols | b.free_symbols, key=str)
        for point in _points(symbols, integers):
            va, vb = _value(_summed(a.subs(point)), {}), _value(_summed(b.subs(point)), {})
            if va is None or vb is None:
                return None
            if abs(va - vb) > _TIGHT * max(abs(va), abs(vb)):
                return Verdict(False, "symbolic", f"different values ({_show(va)} vs {_show(vb)})")
        return Verdict(True, "symbolic", "equal at every integer test point (40 digits)")
    a, b = _summed(a), _summed(b)
    symbols = sorted(a.free_symbols | b.free_symbols, key=str)
    if len({str(x) for x in symbols}) > 8:
        return None
    places, n_dec = _decimals(p + " " + g, pol)
    approx = n_dec > 0 and places is not None and pol.approximation == "precision"
    lone = None  # a lone decimal with a digit more than the minimum may also be a truncation
    for side, text in (("p", p), ("g", g)):
        n = parse_number(text)
        if n is not None and n.decimal and not symbols and n.digits > pol.approx_min_digits:
            lone = side
    for point in _points(symbols) if symbols else [{}]:
        va, vb = _value(a, point), _value(b, point)
        if va is None or vb is None:
            return None
        diff = abs(va - vb)
        scale = max(abs(va), abs(vb))
        ok = diff <= (_FLOAT if n_dec else _TIGHT) * scale  # decimals are read as binary floats
        ok = ok or (min(abs(va), abs(vb)) == 0 and scale < 1e-35)  # zero against 40-digit noise
        if not ok and approx and places is not None:
            ok = diff <= 0.5 * 10.0 ** (-places) * n_dec * (1 + 1e-9) + 4e-15 * scale  # + binary float error
            if not ok and lone is not None:  # a lone decimal may also be the exact value truncated: 125.663 = 40pi
                d, v = (va, vb) if lone == "p" else (vb, va)
                ok = _truncates(v, d, places)
        if not ok and n_dec and pol.approximation == "rel_tol":
            ok = diff <= pol.rel_tol * max(abs(va), abs(vb))
        if not ok:
            return Verdict(False, "symbolic", f"different values ({_show(va)} vs {_show(vb)})")
    if approx and n_dec:
        return Verdict(True, "symbolic", f"equal to the {places} decimals written")
    return Verdict(True, "symbolic", "equal at every test point (40 digits)")


def _truncates(exact: Any, approx: Any, places: int) -> bool:
    """Whether the real ``approx`` is ``exact`` cut (not rounded) after ``places`` decimals."""
    import mpmath

    if mpmath.im(exact) or mpmath.im(approx) or (exact < 0) != (approx < 0):
        return False
    gap = abs(exact) - abs(approx)
    return -4e-15 * abs(exact) <= gap < 10.0 ** (-places)


def _equations(a: Any, b: Any) -> Verdict | None:
    """Two equations: equal when ``lhs - rhs`` of one is a constant multiple of the other's."""
    d1, d2 = a.lhs - a.rhs, b.lhs - b.rhs
    symbols = sorted(d1.free_symbols | d2.free_symbols, key=str)
    if not symbols or len({str(x) for x in symbols}) > 8:
        return None
    ratio = None
    for point in _points(symbols):
        v1, v2 = _value(d1, point), _value(d2, point)
        if v1 is None or v2 is None:
            return None
        if abs(v2) < 1e-30:
            if abs(v1) < 1e-30:
                continue
            return Verdict(False, "symbolic", "different equations")
        r = v1 / v2
        if abs(r) < 1e-30 or (ratio is not None and abs(r - ratio) > 1e-12 * max(1, abs(ratio))):
            return Verdict(False, "symbolic", "different equations")
        ratio = r
    if ratio is None:
        return None
    return Verdict(True, "symbolic", "equivalent equations (one is a multiple of the other)")


def _math_verify(gp: Any, pp: Any) -> Verdict:
    from math_verify import verify

    eq = bool(verify(gp, pp, timeout_seconds=None))
    return Verdict(eq, "math-verify", "math-verify: equal" if eq else "math-verify: different")


def symbolic_compare(p: str, g: str, pol: GradePolicy) -> Verdict:
    """Compare two normalised answers with sympy and math-verify (slow: run it under a deadline).

    Returns:
        A :class:`~eval.equivalence.Verdict`; ``result`` None (with method ``skipped``) when the gold
        answer cannot be parsed at all.
    """
    from sympy import Eq, Expr, MatrixBase
    from sympy.core.relational import Relational

    if too_big(p) or too_big(g):
        return Verdict(False, "symbolic", "a number too large to evaluate (power tower), and not the same string")
    if not (_readable(p) and _readable(g)):  # the LaTeX parser would read a prefix and ignore the rest
        return Verdict(False, "string", "not readable as one formula (and not the same string)")
    gp, pp = _parse(_prepare(g)), _parse(_prepare(p))
    if gp is None:
        return Verdict(None, "skipped", "the gold answer cannot be parsed")
    if pp is None:
        return Verdict(False, "symbolic", "the prediction cannot be parsed")
    if not pol.symbolic:
        return Verdict(False, "undecided", "no fast rule decided and symbolic comparison is off")
    plain = (Expr,)
    if isinstance(gp, plain) and isinstance(pp, plain) and not isinstance(gp, (Relational, MatrixBase)):
        v = _numeric(pp, gp, p, g, pol)
        if v is not None:
            return v
    if isinstance(gp, Eq) and isinstance(pp, Eq):
        v = _equations(pp, gp)
        if v is not None:
            return v
    return _math_verify(gp, pp)


def slow_compare(pred: str, gold: str, opts: dict[str, Any]) -> dict[str, Any]:
    """The worker side of a comparison: the fast rules with :func:`symbolic_compare` at their leaves.

    Args:
        pred: The extracted predicted answer.
        gold: The extracted reference answer.
        opts: The :class:`~eval.policy.GradePolicy` as a dict (unknown keys are an error).

    Returns:
        A JSON-ready reply: ``equal``, ``method``, ``reason`` and ``skipped`` when the gold cannot be parsed.
    """
    pol = GradePolicy(**opts)
    v = compare_answers(pred, gold, pol, symbolic_compare)
    if v.result is not True:
        raw_p, raw_g = pred.strip(), gold.strip()
        changed = (raw_p, raw_g) != (normalize_answer(pred), normalize_answer(gold))
        unsure = v.method in ("undecided", "skipped")  # the normal form could not be read: try the raw one
        if changed and unsure and not (too_big(raw_p) or too_big(raw_g)):
            gp, pp = _parse(_prepare(raw_g)), _parse(_prepare(raw_p))
            if gp is not None and pp is not None and pol.symbolic and _math_verify(gp, pp).result:
                v = Verdict(True, "math-verify", "math-verify: equal (raw strings)")
    if v.result is None:
        return {"equal": False, "method": "skipped", "reason": v.reason, "skipped": True}
    return {"equal": v.result, "method": v.method, "reason": v.reason}


_WARM_UP = (
    ("1", "1"),
    ("\\frac{\\pi}{3}", "\\frac{\\sqrt{3}}{2}"),
    ("3-2i", "i(3-i)"),
    ("x^2+2x+1", "(x+1)^2"),
    ("\\sum_{k=1}^{2}k", "3"),
    ("2x+4y=3", "y=\\frac{3-2x}{4}"),
    ("x>1", "x<1"),
    ("\\begin{pmatrix}1&2\\\\3&4\\end{pmatrix}", "\\begin{pmatrix}1&2\\\\3&5\\end{pmatrix}"),
    ("\\{1,2\\}", "(1,2)"),
)


def warm_up() -> None:
    """Run one comparison of each kind so that the first real request pays no import or parser start-up."""
    for p, g in _WARM_UP:
        slow_compare(p, g, {})
    _parse.cache_clear()
