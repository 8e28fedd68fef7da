"""The grader's rules: when two extracted answers are equal under a :class:`~eval.policy.GradePolicy`.

:func:`compare_answers` applies the fast rules (strings, numbers, choices, times, bases, equations,
inequalities, tuples, sets, matrices, systems) and, for leaves no rule decides, calls ``symbolic``
(the sympy/math-verify comparison of :mod:`eval.symbolic`, run in a worker process). Without
``symbolic`` such pairs are undecided (``result`` None) and the caller sends the whole pair to a worker.

Example:
    >>> from eval.policy import get_policy
    >>> compare_answers("0.3333", r"\\frac13", get_policy("default")).result
    True
    >>> compare_answers("0.3333", r"\\frac13", get_policy("strict")).result
    False
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

from .normalize import (
    Number,
    decimal_comma_number,
    is_text_answer,
    normalize_answer,
    parse_base,
    parse_choice,
    parse_number,
    parse_time,
    split_unit,
    units_conflict,
)
from .policy import GradePolicy
from .structures import (
    Structure,
    parse_intervals,
    parse_structure,
    split_equals,
    split_top_level,
    strip_assignment,
)

__all__ = ["Verdict", "SymbolicFn", "compare_answers", "choice_text", "UNDECIDED"]


@dataclass(frozen=True, slots=True)
class Verdict:
    """One rule's decision: ``result`` None means no rule could decide."""

    result: bool | None
    method: str
    reason: str


SymbolicFn = Callable[[str, str, GradePolicy], Verdict]
UNDECIDED = Verdict(None, "undecided", "no fast rule applies")
_MAX_MATCH = 24  # unordered lists longer than this are not matched item by item
_MAX_DEPTH = 6


def choice_text(s: str) -> str:
    """Light clean-up for choice letters: keep spaces, drop ``$``, boxes and ``\\text{}``."""
    s = s.strip().strip("$").strip().rstrip(".").strip()
    s = re.sub(r"^\\(?:boxed|fbox)\{(.*)\}$", r"\1", s, flags=re.DOTALL)
    s = re.sub(r"\\(?:text|textbf|mathrm|mathbf|mbox)\{([^{}]*)\}", r"\1", s)
    s = re.sub(r"\\[ ,;:!]", " ", s)
    return s.strip().rstrip(".").strip()


def _rounds_to(exact: Fraction, approx: Fraction, places: int, truncation: bool) -> bool:
    """Whether ``exact`` rounded (half up), or with ``truncation`` cut, to ``places`` decimals gives ``approx``."""
    scale = Fraction(10) ** places
    q, d = exact * scale, approx * scale
    if d.denominator != 1:
        return False
    sign = -1 if q < 0 else 1
    q = abs(q)
    rounded = sign * math.floor(q + Fraction(1, 2))
    truncated = sign * math.floor(q)
    return int(d) == rounded or (truncation and int(d) == truncated)


def _num_verdict(pn: Number, gn: Number, pol: GradePolicy) -> Verdict:
    if pol.percent == "strict" and pn.percent != gn.percent:
        return Verdict(False, "numeric", "a percentage against a plain number (percent policy 'strict')")
    for a in pn.candidates(pol.percent):
        for b in gn.candidates(pol.percent):
            if a == b:
                if pol.simplification == "reduced" and not pn.reduced and gn.reduced:
                    return Verdict(False, "numeric", "equal value, but the fraction is not reduced (policy)")
                return Verdict(True, "numeric", "equal numbers")
            if pol.approximation == "off" or pn.decimal == gn.decimal:
                continue  # tolerance only between a decimal and an exact value
            approx, exact, av = (pn, b, a) if pn.decimal else (gn, a, b)
            if pol.approximation == "precision":
                truncation = approx.digits > pol.approx_min_digits  # a cut value needs one digit more
                if approx.digits >= pol.approx_min_digits and _rounds_to(exact, av, approx.places, truncation):
                    return Verdict(True, "numeric", f"equal to the {approx.places} decimals written")
            elif abs(a - b) <= Fraction(pol.rel_tol) * max(abs(a), abs(b)):
                return Verdict(True, "numeric", f"equal within rel_tol {pol.rel_tol:g}")
    return Verdict(False, "numeric", f"different numbers ({float(pn.value):.6g} vs {float(gn.value):.6g})")


def _cmp_base(p: str, g: str, pb: tuple[str, int] | None, gb: tuple[str, int] | None) -> Verdict | None:
    """Numbers in a base (``52_8``): equal values when both carry a base or only the prediction does (against
    a decimal gold); against a gold in base b, a prediction without subscript must have the same digits."""
    if pb is not None and gb is not None:
        eq = int(pb[0], pb[1]) == int(gb[0], gb[1])
        return Verdict(eq, "numeric", f"base-{pb[1]} {pb[0]} {'=' if eq else '!='} base-{gb[1]} {gb[0]}")
    if gb is not None and re.fullmatch(r"[0-9][0-9A-Za-z]*_\{?\d+\}?", p):
        return Verdict(False, "numeric", f"{p!r} is not a valid base-b number")
    if gb is None and pb is not None and re.fullmatch(r"\d+", g):
        eq = int(pb[0], pb[1]) == int(g)
        return Verdict(eq, "numeric", f"base-{pb[1]} {pb[0]} {'=' if eq else '!='} {g}")
    digits = gb[0] if gb is not None else pb[0]  # type: ignore[index]
    other = p if gb is not None else g
    if re.fullmatch(r"[0-9A-Za-z]+", other):
        eq = other.upper() == digits
        return Verdict(eq, "numeric", "same digits, base subscript omitted" if eq else "different digits")
    return None


def _ratio(s: str) -> tuple[Fraction, ...] | None:
    """``3:4`` (or ``1:2:3``) as its terms divided by the first; None if not a ratio of positive numbers."""
    parts = s.split(":")
    if len(parts) < 2 or not all(re.fullmatch(r"\d+(?:\.\d+)?", x) for x in parts) or float(parts[0]) == 0:
        return None
    first = Fraction(parts[0])
    return tuple(Fraction(x) / first for x in parts)


def _text_key(s: str) -> str:
    return re.sub(r"[^a-z0-9]", "", s.lower())


def _split_approx(s: str) -> str:
    """``a \\approx b``: the exact side ``a`` unless it is only a variable, else ``b``."""
    if "\\approx" not in s and "≈" not in s:
        return s
    left, _, right = re.split(r"(\\approx|≈)", s, maxsplit=1)
    left_core = split_equals(left)[-1].strip().strip("$").strip()
    if not left_core or re.fullmatch(r"[A-Za-z](?:_\{?\w+\}?)?", left_core):
        return right
    return left


def _top_eq(s: str) -> tuple[str, str] | None:
    """``L=R`` split at its only top-level ``=``; None if there is none or several."""
    parts = [p for p in split_top_level(s, "=")]
    if len(parts) != 2 or not parts[0] or not parts[1] or re.search(r"[<>!\\]$", parts[0]):
        return None
    return parts[0], parts[1]


_SET_BUILDER_RE = re.compile(r"\\\{([A-Za-z])(?:\||\\mid|:)(.+)\\\}")


def _intervals_of(s: str) -> tuple[str, ...] | None:
    """An interval, a union of intervals, an inequality or a set ``\\{x | -2 \\le x < 1\\}`` as interval strings."""
    if m := _SET_BUILDER_RE.fullmatch(s):
        s = m.group(2)
    iv = parse_intervals(s)
    if iv is not None:
        return iv
    parts = split_top_level(s, "\\cup")
    out = []
    for part in parts:
        if not (part[:1] in "([" and part[-1:] in ")]" and len(split_top_level(part[1:-1])) == 2):
            return None
        out.append(part)
    return tuple(out)


class _Engine:
    """One comparison's rules, with the policy and the symbolic fallback bound."""

    def __init__(self, pol: GradePolicy, symbolic: SymbolicFn | None) -> None:
        self.pol = pol
        self.symbolic = symbolic

    def cmp(self, p: str, g: str, depth: int = 0) -> Verdict:
        pol = self.pol
        p, g = _split_approx(p), _split_approx(g)
        raw_p, raw_g = p, g
        pv, pu = split_unit(p)
        gv, gu = split_unit(g)
        if pol.units == "strict":
            if pu != gu:
                return Verdict(False, "string", f"units differ ({pu or 'none'} vs {gu or 'none'}; policy 'strict')")
            p, g = pv, gv
        elif units_conflict(pu, gu):  # stripped when one side has them, compared when both do
            return Verdict(False, "string", f"different units ({pu} vs {gu})")
        np_, ng = normalize_answer(p), normalize_answer(g)
        if not np_:
            return Verdict(False, "empty", "the prediction is empty")
        if not ng:
            return Verdict(False, "empty", "the gold item is empty")
        if np_ == ng:
            return Verdict(True, "string", "same normalised string")
        if pol.choices != "off":
            gc = parse_choice(choice_text(raw_g), letters=pol.choice_letters)
            if gc is not None:
                pc = parse_choice(choice_text(raw_p), pred=True, letters=pol.choice_letters)
                why = f"choice {pc} vs {gc}" if pc else f"no choice letter in the prediction ({gc})"
                return Verdict(pc == gc, "choice", why)
        if is_text_answer(raw_g, ng):
            if _text_key(np_) == _text_key(ng):
                return Verdict(True, "text", "same words")
            if is_text_answer(raw_p, np_):
                return Verdict(False, "text", "different words")
        tp, tg = parse_time(choice_text(raw_p).replace(" ", "")), parse_time(choice_text(raw_g).replace(" ", ""))
        if tp is not None and tg is not None:
            return Verdict(tp == tg, "numeric", "same time of day" if tp == tg else "different times")
        rp, rg = _ratio(np_), _ratio(ng)
        if rp is not None and rg is not None:
            return Verdict(rp == rg, "numeric", "same ratio" if rp == rg else "different ratios")
        pb, gb = parse_base(np_), parse_base(ng)
        if gb is not None or pb is not None:
            v = _cmp_base(np_, ng, pb, gb)
            if v is not None:
                return v
        pn, gn = parse_number(np_), parse_number(ng)
        if pol.decimal_comma == "auto":
            if pn is None and gn is not None and not re.search(r",\s", raw_p):
                pn = decimal_comma_number(np_)
            elif gn is None and pn is not None and not re.search(r",\s", raw_g):
                gn = decimal_comma_number(ng)
        if pn is not None and gn is not None:
            return _num_verdict(pn, gn, pol)
        if depth >= _MAX_DEPTH:
            return self._leaf(np_, ng)
        v = self._equations(np_, ng, pn, gn, depth)
        if v is not None:
            return v
        v = self._intervals(np_, ng, depth)
        if v is not None:
            return v
        v = self._powers(np_, ng, depth)
        if v is not None:
            return v
        v = self._structures(np_, ng, pn, gn, depth)
        if v.result is not None:
            return v
        return self._leaf(np_, ng)

    def _leaf(self, p: str, g: str) -> Verdict:
        if self.symbolic is None:
            return UNDECIDED
        return self.symbolic(p, g, self.pol)

    # ------------------------------------------------------------ equations and assignments

    def _equations(self, p: str, g: str, pn: Number | None, gn: Number | None, depth: int) -> Verdict | None:
        pol = self.pol
        pl, p2 = strip_assignment(p)
        gl, g2 = strip_assignment(g)
        peq, geq = _top_eq(p), _top_eq(g)
        if pol.equations == "strict" and (peq is None) != (geq is None):
            return Verdict(False, "structure", "an equation against a value (equations policy 'strict')")
        if pl is not None and gl is not None:
            if pl == gl or {pl, gl} & {"y"} and any(re.fullmatch(r"[A-Za-z]\(\w\)", x) for x in (pl, gl)):
                v = self.cmp(p2, g2, depth + 1)
                return Verdict(v.result, v.method, f"{v.reason} (same left-hand side)")
            if pol.equations == "strict":
                return Verdict(False, "structure", f"different variables ({pl} vs {gl})")
            return None  # different variables: structures or the symbolic path decide
        if (pl is not None) != (gl is not None) and pol.equations == "value":
            other_eq = geq if pl is not None else peq
            if other_eq is None:  # x = 5 against 5
                v = self.cmp(p2, g2, depth + 1)
                return Verdict(v.result, v.method, f"{v.reason} (after dropping the left-hand side)")
            return None  # x = ... against 4x+2y=3: the symbolic path compares the equations
        if peq is not None and geq is not None:
            if normalize_answer(peq[0]) == normalize_answer(geq[0]):
                v = self.cmp(peq[1], geq[1], depth + 1)
                return Verdict(v.result, v.method, f"{v.reason} (same left-hand side)")
            return None
        if pol.equations == "value" and peq is not None and geq is None:
            if parse_structure(p) is None:  # 35+70=105 against 105: the value the prediction ends with
                v = self.cmp(split_equals(p)[-1], g, depth + 1)
                return Verdict(v.result, v.method, f"{v.reason} (the prediction's last right-hand side)")
        if geq is not None and peq is None and gl is None and parse_structure(g) is None:
            return Verdict(False, "structure", "a value against an equation that is not an assignment")
        return None

    # ------------------------------------------------------------ inequalities, intervals, powers

    def _intervals(self, p: str, g: str, depth: int) -> Verdict | None:
        if not re.search(r"<|>|\\le|\\ge", p + g):
            return None
        pi, gi = _intervals_of(p), _intervals_of(g)
        if pi is None or gi is None:
            return None
        v = self._items(pi, gi, False, depth)
        if v.result is None:
            return None
        return Verdict(v.result, "structure", f"as intervals: {v.reason}")

    def _powers(self, p: str, g: str, depth: int) -> Verdict | None:
        """``a^{m}`` against ``a^{n}`` with the same integer base > 1: the exponents decide (towers included)."""
        mp = re.fullmatch(r"(\d+)\^(?:\{(.+)\}|(\d))", p)
        mg = re.fullmatch(r"(\d+)\^(?:\{(.+)\}|(\d))", g)
        if not (mp and mg) or mp.group(1) != mg.group(1) or int(mp.group(1)) < 2:
            return None
        v = self.cmp(mp.group(2) or mp.group(3), mg.group(2) or mg.group(3), depth + 1)
        if v.result is None:
            return None
        return Verdict(v.result, v.method, f"same base {mp.group(1)}, exponents: {v.reason}")

    # ------------------------------------------------------------ structures

    def _items(self, ps: tuple, gs: tuple, ordered: bool, depth: int) -> Verdict:
        if len(ps) != len(gs):
            return Verdict(False, "structure", f"{len(ps)} items vs {len(gs)} in the gold answer")
        if ordered:
            results = []
            for a, b in zip(ps, gs, strict=True):
                v = self.cmp(a, b, depth + 1)
                if v.result is False:
                    return Verdict(False, "structure", f"item {a!r} differs from {b!r} ({v.method})")
                results.append(v.result)
            if all(r is True for r in results):
                return Verdict(True, "structure", f"all {len(ps)} items equal in order")
            return UNDECIDED
        if sorted(map(normalize_answer, ps)) == sorted(map(normalize_answer, gs)):
            return Verdict(True, "structure", f"same {len(ps)} items as a set")
        if len(ps) > _MAX_MATCH:
            pn = [parse_number(normalize_answer(a)) for a in ps]
            gn = [parse_number(normalize_answer(b)) for b in gs]
            if all(pn) and all(gn):
                pv = sorted(x.value for x in pn if x)
                gv = sorted(x.value for x in gn if x)
                eq = pv == gv
                return Verdict(eq, "structure", f"{len(ps)} numbers {'match' if eq else 'do not match'} as a set")
            return UNDECIDED  # too many items to match pairwise here
        verdicts = [[self.cmp(a, b, depth + 1) for b in gs] for a in ps]
        m = _match(verdicts)
        if m is None:
            return UNDECIDED
        return Verdict(m, "structure", f"{len(ps)} items {'match' if m else 'do not match'} as a set")

    def _structures(self, p: str, g: str, pn: Number | None, gn: Number | None, depth: int) -> Verdict:
        ps, gs = parse_structure(p), parse_structure(g)
        if ps is None and gs is None:
            return UNDECIDED
        if gs is None:
            if gn is not None:
                return Verdict(False, "structure", "a list or tuple against a single number")
            return UNDECIDED
        if ps is None:
            if pn is not None:
                return Verdict(False, "structure", "a single number against a list, tuple or matrix")
            return UNDECIDED
        if gs.kind == "matrix" or ps.kind == "matrix":
            return self._matrix(ps, gs, depth)
        if gs.kind == "union" or ps.kind == "union":
            if gs.kind == ps.kind:
                return self._items(ps.items, gs.items, False, depth)
            return UNDECIDED
        if gs.kind == "system" or ps.kind == "system":
            return self._items(_as_equations(ps), _as_equations(gs), False, depth)
        if ps.kind == "assign" or gs.kind == "assign":
            return self._assign(ps, gs, depth)
        unordered_list = self.pol.list_order == "unordered"
        if gs.ordered:
            if (ps.open, ps.close) == (gs.open, gs.close):
                return self._items(ps.items, gs.items, True, depth)
            if ps.ordered:
                return Verdict(False, "structure", f"brackets {ps.open}{ps.close} vs {gs.open}{gs.close}")
            return UNDECIDED
        if ps.open in ("{", "", "("):
            ordered = not unordered_list and gs.open == "" and ps.open == ""
            return self._items(ps.items, gs.items, ordered, depth)
        return UNDECIDED

    def _assign(self, ps: Structure, gs: Structure, depth: int) -> Verdict:
        if ps.kind == gs.kind == "assign":
            if set(ps.names) == set(gs.names):
                pv = dict(zip(ps.names, ps.items, strict=True))
                return self._items(tuple(pv[n] for n in gs.names), gs.items, True, depth)
            return self._items(ps.items, gs.items, True, depth)
        other = gs if ps.kind == "assign" else ps
        if other.kind != "seq":
            return UNDECIDED
        ordered = other.open in ("(", "[") or self.pol.list_order == "ordered"
        return self._items(ps.items, gs.items, ordered, depth)

    def _matrix(self, ps: Structure, gs: Structure, depth: int) -> Verdict:
        def flat_vector(s: Structure) -> tuple | None:
            if s.kind == "matrix":
                if len(s.items) == 1 or all(len(r) == 1 for r in s.items):
                    return tuple(c for r in s.items for c in r)
                return None
            return s.items if s.kind == "seq" and s.open in ("(", "[", "") else None

        if ps.kind == gs.kind == "matrix":
            if len(ps.items) != len(gs.items) or len(ps.items[0]) != len(gs.items[0]):
                return Verdict(False, "structure", "matrices of different shapes")
            pf = tuple(c for r in ps.items for c in r)
            gf = tuple(c for r in gs.items for c in r)
            return self._items(pf, gf, True, depth)
        pv, gv = flat_vector(ps), flat_vector(gs)
        if pv is None or gv is None:
            return Verdict(False, "structure", "a matrix against a non-vector")
        return self._items(pv, gv, True, depth)


def _as_equations(s: Structure) -> tuple:
    if s.kind == "assign":
        return tuple(f"{n}={v}" for n, v in zip(s.names, s.items, strict=True))
    return s.items


def _match(verdicts: list[list[Verdict]]) -> bool | None:
    """Unordered matching: True if a perfect matching of True edges exists, False if none even with
    undecided edges, else None."""
    n = len(verdicts)

    def perfect(ok: Callable[[Verdict], bool]) -> bool:
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


def compare_answers(pred: str, gold: str, policy: GradePolicy, symbolic: SymbolicFn | None = None) -> Verdict:
    """Compare two extracted answers under ``policy``; ``symbolic`` decides leaves the fast rules cannot.

    Returns:
        A :class:`Verdict`; ``result`` None when a leaf needs the symbolic path and ``symbolic`` is None.

    Example:
        >>> from eval.policy import get_policy
        >>> compare_answers("a=3,b=1;a=5,b=1", "(3,1),(5,1)", get_policy(None)).result
        True
    """
    return _Engine(policy, symbolic).cmp(pred, gold)
