"""Structured answers: tuples, intervals, sets, lists, unions, matrices, systems, assignments, inequalities.

Pure string work on normalised answers (see :mod:`eval.normalize`), bounded by the input length.

Example:
    >>> parse_structure("(1,3]").items, strip_assignment("x=5")
    (('1', '3'), ('x', '5'))
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "Structure",
    "parse_intervals",
    "parse_structure",
    "split_equals",
    "split_top_level",
    "strip_assignment",
]

_GREEK = (
    "alpha beta gamma delta epsilon varepsilon zeta eta theta vartheta iota kappa lambda mu nu xi rho sigma tau "
    "upsilon phi varphi chi psi omega Gamma Delta Theta Lambda Xi Pi Sigma Phi Psi Omega"
).split()

_ASSIGN_RE = re.compile(
    r"^\s*(?P<lhs>[A-Za-z](?:_\{?\w+\}?)?(?:'|\^\{?\*\}?)?(?:\([^()=]{1,12}\))?|\\(?:"
    + "|".join(_GREEK)
    + r")(?![A-Za-z])(?:_\{?\w+\}?)?|\((?:[A-Za-z](?:_\{?\w+\}?)?,)+[A-Za-z](?:_\{?\w+\}?)?\))"
    r"\s*(?P<op>=|\\in)\s*(?!=)"
)


def strip_assignment(s: str) -> tuple[str | None, str]:
    """Split ``x=5`` into ``("x", "5")``; ``(None, s)`` when there is no simple left-hand side.

    A chain keeps its last right-hand side (``x=5+6=11`` -> ``("x", "11")``); the left-hand side may be a
    variable, a Greek letter, a function value ``f(x)`` or a tuple ``(p,q)``.

    Example:
        >>> strip_assignment("x=5"), strip_assignment(r"\\theta\\in[0,1]"), strip_assignment("x+y=3")
        (('x', '5'), ('\\\\theta', '[0,1]'), (None, 'x+y=3'))
        >>> strip_assignment("f(x)=2x+3"), strip_assignment("x=5+6=11")
        (('f(x)', '2x+3'), ('x', '11'))
    """
    m = _ASSIGN_RE.match(s)
    if not m:
        return None, s
    rest = s[m.end() :]
    if len(split_top_level(rest)) > 1:
        return None, s  # "x=2,y=3" is a list of assignments, not one
    if "=" in rest:
        if m.group("op") != "=" or re.search(r"[<>]|\\[lg]e|\\ne", rest):
            return None, s
        rest = split_equals(rest)[-1]
    if not rest:
        return None, s
    return m.group("lhs"), rest


@dataclass(frozen=True, slots=True)
class Structure:
    """A bracketed or comma-separated answer, a matrix, a system or a list of assignments.

    Attributes:
        kind: ``"seq"`` (brackets or a bare comma list), ``"matrix"``, ``"union"``, ``"assign"`` (``x=1, y=2``:
            ``items`` are the values, ``names`` the variables) or ``"system"`` (equations).
        open: Opening bracket: ``(``, ``[``, ``{`` (a set ``\\{...\\}``) or ``""`` (bare list).
        close: Closing bracket.
        items: Items as normalised strings (for a matrix: the rows, each a tuple of cells).
        names: The variables of an ``assign`` structure, in order.
    """

    kind: str
    open: str
    close: str
    items: tuple
    names: tuple = ()

    @property
    def ordered(self) -> bool:
        """Tuples and intervals are ordered; sets and bare lists of solutions are not."""
        return self.kind in ("matrix", "assign") or self.open in ("(", "[")


def split_equals(s: str) -> list[str]:
    """Split at ``=`` signs outside brackets and braces (not ``<=``, ``>=``, ``!=``, ``\\=``).

    Example:
        >>> split_equals(r"F_n=\\sum_{k=0}^{n}k=5")
        ['F_n', '\\\\sum_{k=0}^{n}k', '5']
    """
    parts = split_top_level(s, "=")
    out: list[str] = []
    for part in parts:
        if out and re.search(r"[<>!\\]$", out[-1]):
            out[-1] += "=" + part
        else:
            out.append(part)
    return out


def split_top_level(s: str, sep: str = ",") -> list[str]:
    """Split at ``sep`` outside brackets and braces.

    Example:
        >>> split_top_level("(1,2),[3,4],\\\\frac{1}{2}")
        ['(1,2)', '[3,4]', '\\\\frac{1}{2}']
    """
    parts: list[str] = []
    depth = 0
    cur: list[str] = []
    i = 0
    while i < len(s):
        if depth == 0 and s.startswith(sep, i):
            parts.append("".join(cur))
            cur = []
            i += len(sep)
            continue
        ch = s[i]
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        cur.append(ch)
        i += 1
    parts.append("".join(cur))
    return parts


def _matching_close(s: str, start: int) -> int | None:
    depth = 0
    for i in range(start, len(s)):
        if s[i] in "([{":
            depth += 1
        elif s[i] in ")]}":
            depth -= 1
            if depth == 0:
                return i
    return None


_MATRIX_RE = re.compile(r"^\\begin\{([pbvBV]?matrix|array)\}(?:\{[^{}]*\})?(.*)\\end\{\1\}$", re.DOTALL)
_CASES_RE = re.compile(
    r"^\\begin\{(cases|aligned|align\*?|gathered|array)\}(?:\{[^{}]*\})?(.*)\\end\{\1\}$", re.DOTALL
)


def _expand_pm(items: list[str]) -> list[str]:
    out: list[str] = []
    for it in items:
        if it.count("\\pm") == 1 and "\\mp" not in it:
            head, tail = it.split("\\pm")
            out += [f"{head}+{tail}" if head else tail, f"{head}-{tail}"]
        else:
            out.append(it)
    return out


def _assignments(items: list[str]) -> Structure | None:
    """``x=1,y=2`` as an ``assign`` structure; ``x=2,x=-3`` (one variable) as a bare list of values."""
    pairs = [strip_assignment(it) for it in items]
    if len(pairs) < 2 or any(lhs is None or lhs.startswith("(") for lhs, _ in pairs):
        return None
    names = tuple(lhs for lhs, _ in pairs)
    values = tuple(v for _, v in pairs)
    if len(set(names)) == 1:
        return Structure("seq", "", "", values)
    if len(set(names)) != len(names):
        return None
    return Structure("assign", "", "", values, names)


def parse_structure(s: str) -> Structure | None:
    """Read a normalised answer as a tuple, interval, set, bare list, union, matrix, system or assignments.

    Example:
        >>> parse_structure("(1,3]")
        Structure(kind='seq', open='(', close=']', items=('1', '3'), names=())
        >>> parse_structure(r"\\{1,2\\}").ordered, parse_structure("1,2").ordered
        (False, False)
        >>> parse_structure(r"\\begin{pmatrix}1\\\\2\\end{pmatrix}").items
        (('1',), ('2',))
        >>> parse_structure("a=3,b=1;a=5,b=1").items, parse_structure(r"1\\pm\\sqrt{2}").items
        (('(3,1)', '(5,1)'), ('1+\\\\sqrt{2}', '1-\\\\sqrt{2}'))
    """
    if not s:
        return None
    if (s[0] in "([" and s[-1] in ")]") and _MATRIX_RE.match(s[1:-1]):
        s = s[1:-1]
    if m := _MATRIX_RE.match(s):
        body = m.group(2).strip()
        rows = [r for r in re.split(r"\\\\", body) if r.strip()]
        cells = tuple(tuple(c.strip() for c in r.split("&")) for r in rows)
        if cells and len({len(r) for r in cells}) == 1:
            if m.group(1) == "array" and all(len(r) == 1 for r in cells) and any("=" in r[0] for r in cells):
                return _system([r[0] for r in cells])
            return Structure("matrix", "", "", cells)
        return None
    if m := _CASES_RE.match(s):
        rows = [re.sub(r"&", "", r).strip().rstrip(",") for r in re.split(r"\\\\", m.group(2)) if r.strip()]
        return _system(rows)
    if "\\cup" in s:
        parts = split_top_level(s, "\\cup")
        if len(parts) > 1 and all(parts):
            return Structure("union", "", "", tuple(parts))
    if ";" in s:
        groups = [g for g in split_top_level(s, ";") if g]
        if len(groups) >= 2:
            tuples = []
            for g in groups:
                a = _assignments(split_top_level(g))
                tuples.append(f"({','.join(a.items)})" if a is not None and a.kind == "assign" else g)
            return Structure("seq", "", "", tuple(tuples))
    if s.startswith("\\{") and s.endswith("\\}"):
        inner = s[2:-2]
        return Structure("seq", "{", "}", tuple(_expand_pm(split_top_level(inner))))
    if s[0] == "{" and s[-1] == "}" and _matching_close(s, 0) == len(s) - 1 and "," in s:
        items = split_top_level(s[1:-1])
        if len(items) >= 2 and all(items):
            return Structure("seq", "{", "}", tuple(items))
    if s[0] in "([" and s[-1] in ")]" and _matching_close(s, 0) == len(s) - 1:
        inner = s[1:-1]
        items = split_top_level(inner)
        if len(items) >= 2:
            return Structure("seq", s[0], s[-1], tuple(items))
        return None
    items = [x for x in split_top_level(s) for x in split_top_level(x, "\\lor")]
    if len(items) >= 2 and all(items):
        a = _assignments(items)
        if a is not None:
            return a
        return Structure("seq", "", "", tuple(_expand_pm(items)))
    if len(items) == 1 and items[0].count("\\pm") == 1 and not re.search(r"[=<>]", s):
        return Structure("seq", "", "", tuple(_expand_pm(items)))
    return None


def _system(rows: list[str]) -> Structure | None:
    rows = [r for r in rows if r]
    if not rows:
        return None
    a = _assignments(rows)
    if a is not None:
        return a
    return Structure("system", "", "", tuple(rows))


_INEQ_OP = {"<": "<", ">": ">", "\\le": "<=", "\\ge": ">="}
_INEQ_SPLIT_RE = re.compile(r"(\\le(?![a-z])|\\ge(?![a-z])|<|>)")


def _one_interval(s: str) -> tuple[str, str, str, str, str] | None:
    """``a<x\\le b``, ``x>a``, ``a\\ge x`` as ``(var, lo, lo_bracket, hi, hi_bracket)``; bounds normalised."""
    parts = [x.strip() for x in _INEQ_SPLIT_RE.split(s)]
    if len(parts) not in (3, 5) or not all(parts[::2]):
        return None
    terms, ops = parts[::2], [_INEQ_OP[o] for o in parts[1::2]]
    var_re = r"[A-Za-z](?:_\{?\w+\}?)?|\\[A-Za-z]+"
    if len(terms) == 3:
        if not re.fullmatch(var_re, terms[1]) or ops[0][0] != ops[1][0]:
            return None
        if ops[0][0] == ">":  # b > x > a
            terms, ops = terms[::-1], [o.replace(">", "<") for o in ops[::-1]]
        return (terms[1], terms[0], "[" if ops[0] == "<=" else "(", terms[2], "]" if ops[1] == "<=" else ")")
    a, op, b = terms[0], ops[0], terms[1]
    if re.fullmatch(var_re, a) and not re.fullmatch(var_re, b):
        var, bound, up = a, b, op.startswith("<")
    elif re.fullmatch(var_re, b) and not re.fullmatch(var_re, a):
        var, bound, up = b, a, op.startswith(">")
    else:
        return None
    closed = op.endswith("=")
    if up:
        return (var, "-\\infty", "(", bound, "]" if closed else ")")
    return (var, bound, "[" if closed else "(", "\\infty", ")")


def parse_intervals(s: str) -> tuple[str, ...] | None:
    """A normalised inequality in one variable as intervals (``x<-1\\lor x>2`` -> two intervals), else None.

    Example:
        >>> parse_intervals(r"-1\\le x<4"), parse_intervals("x>3")
        (('[-1,4)',), ('(3,\\\\infty)',))
        >>> parse_intervals(r"x<-1\\lor x>2")
        ('(-\\\\infty,-1)', '(2,\\\\infty)')
    """
    if not re.search(r"<|>|\\le|\\ge", s) or "=" in s.replace("\\le", "").replace("\\ge", ""):
        return None
    parts = [p for p in re.split(r"\\lor|\\vee|,", s) if p]
    out = []
    var = None
    for p in parts:
        if "\\land" in p:
            return None
        iv = _one_interval(p)
        if iv is None or (var is not None and iv[0] != var):
            return None
        var = iv[0]
        out.append(f"{iv[2]}{iv[1]},{iv[3]}{iv[4]}")
    return tuple(out) if out else None
