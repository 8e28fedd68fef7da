"""Answer normalisation for the grader's fast path: strings, numbers and simple structures.

Everything here is pure string work (no sympy), bounded in time by the input length: big exponents
and huge literals are refused rather than computed, so the fast path can never hang.

Example:
    >>> normalize_answer(r"\\$1,000.50")
    '1000.50'
    >>> parse_number("-\\\\frac{3}{4}").value
    Fraction(-3, 4)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

from .extract import find_boxed

__all__ = [
    "Number",
    "Structure",
    "normalize_answer",
    "parse_number",
    "parse_structure",
    "parse_choice",
    "parse_base",
    "is_text_answer",
    "split_top_level",
    "strip_assignment",
]

_MAX_DIGITS = 400  # refuse literals longer than this: Fraction(10**10**9) would hang
_MAX_EXP = 400

_TEXT_CMDS = ("text", "textbf", "textit", "textrm", "textnormal", "mathrm", "mathbf", "mbox", "mathit", "operatorname")
# currency, counting nouns, length, area, volume, mass, time and speed words that answers carry
_UNIT_WORDS = set(
    """
    dollar dollars usd cent cents euro euros pound pounds yuan mm cm m km meter meters metre metres
    centimeter centimeters kilometer kilometers inch inches in ft foot feet yard yards yd mile miles mi
    sq square cubic units unit g kg gram grams kilogram kilograms lb lbs ounce ounces oz ton tons liter
    liters litre litres ml gallon gallons s sec second seconds min minute minutes h hr hrs hour hours
    day days week weeks month months year years mph kph degree degrees percent points point times
    people students ways cups pages
    """.split()
)
_MATH_WORDS = {"pi", "sin", "cos", "tan", "log", "ln", "sqrt", "exp", "i", "e", "x", "y", "z", "n", "k", "a", "b", "c"}

_NUM_RE = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_THOUSANDS_RE = re.compile(r"[-+]?\d{1,3}(?:,\d{3})+(?:\.\d+)?")
_FRAC_RE = re.compile(r"([-+]?)\\frac\{([^{}]+)\}\{([^{}]+)\}")
_FRAC_SHORT_RE = re.compile(r"([-+]?)\\frac(\d)(\d)")
_SLASH_RE = re.compile(r"([-+]?[\d.]+)/([-+]?[\d.]+)")
_SCI_RE = re.compile(r"([-+]?[\d.]+)(?:\\times|\\cdot|\*)10\^\{?([-+]?\d+)\}?")
_POW_RE = re.compile(r"([-+]?\d+)\^\{?(\d+)\}?")
_MIXED_RE = re.compile(r"([-+]?)(\d+)\\frac\{(\d+)\}\{(\d+)\}")
_ASSIGN_RE = re.compile(r"^\s*([A-Za-z](?:_\{?\w+\}?)?|\\[A-Za-z]+(?:_\{?\w+\}?)?)\s*(=|\\in)\s*(?!=)")
_CHOICE_RE = re.compile(r"^\(?([A-Ea-e])\)?$")
_PRED_CHOICE_RE = re.compile(r"^(?:\\text\{)?\(?([A-E])\)?(?:\}|\s*[:.)]|\s+\S.*)?$", re.DOTALL)
_PRED_CHOICE_LOWER_RE = re.compile(r"^\(?([a-e])\)?$")


def _unwrap_cmd(s: str, cmd: str) -> str:
    """Replace ``\\cmd{X}`` by ``X`` (balanced braces), for every occurrence."""
    pat = "\\" + cmd + "{"
    out = s
    guard = 0
    while pat in out and guard < 100:
        guard += 1
        i = out.index(pat)
        j = i + len(pat) - 1
        depth, k = 0, j
        while k < len(out):
            if out[k] == "{":
                depth += 1
            elif out[k] == "}":
                depth -= 1
                if depth == 0:
                    break
            k += 1
        if k >= len(out):
            break
        out = out[:i] + out[j + 1 : k] + out[k + 1 :]
    return out


def _strip_units(s: str) -> str:
    """Drop trailing unit words after a leading number: ``5 cm`` -> ``5``, ``12 square feet`` -> ``12``."""
    m = re.match(r"^([-+]?[\d.,/]+(?:\^\{?\d\}?)?)\s*([A-Za-z][A-Za-z .^{}23]*)$", s)
    if not m:
        return s
    words = re.findall(r"[A-Za-z]+", m.group(2))
    if len(words[0]) <= 2 and not s[len(m.group(1)) :].startswith(" "):
        return s  # "5m", "3s": a short word glued to a number may be a variable
    if words and all(w.lower() in _UNIT_WORDS or (len(w) >= 3 and w.lower() not in _MATH_WORDS) for w in words):
        return m.group(1)
    return s


def normalize_answer(s: str) -> str:
    """Canonical string form of an answer (no spaces, no ``$``, units and LaTeX spacing removed).

    Percent signs are kept (as ``%``) so that callers can read them; degrees, currency, ``\\text{}``
    wrappers, ``\\left``/``\\right``, ``\\dfrac`` and thousands separators are normalised away.

    Args:
        s: A raw answer string (e.g. the content of a box or a dataset's reference answer).

    Returns:
        The canonical form; ``""`` for an empty answer.

    Example:
        >>> normalize_answer(r"\\left( 3, \\dfrac{\\pi}{2} \\right)")
        '(3,\\\\frac{\\\\pi}{2})'
        >>> normalize_answer(r"30^\\circ"), normalize_answer(r"5\\text{ cm}^2"), normalize_answer("50\\\\%")
        ('30', '5', '50%')
    """
    s = s.strip()
    boxes = find_boxed(s)
    if boxes and re.fullmatch(r"\$*\s*\\(?:boxed|fbox)\s*\{.*\}\s*\$*\.?", s, re.DOTALL):
        s = boxes[-1][1]
    s = s.replace("\n", " ").strip()
    # math delimiters
    s = re.sub(r"^\\\(|\\\)$|^\\\[|\\\]$", "", s).strip()
    s = s.strip("$").strip()
    s = s.rstrip(".").strip()
    s = re.sub(r"\\(?:displaystyle|left|right|big|Big|bigg|Bigg)(?![A-Za-z])", "", s)
    s = re.sub(r"\\[dt]frac", r"\\frac", s)
    s = s.replace("∞", "\\infty").replace("+\\infty", "\\infty").replace("\\inf)", "\\infty)")
    s = re.sub(r"(?<!\\)\\[,;:! ]|~|\\quad|\\qquad", " ", s)
    s = s.replace("{,}", ",") if re.search(r"\d\{,\}\d", s) else s
    # degrees
    s = re.sub(r"\^\s*\{?\s*\\circ\s*\}?|°|\\degree|\\circ$", "", s)
    # units in \text{} / \mbox{} after a number: "5 \text{ cm}^2", "\$5\text{ dollars}"
    s = re.sub(r"(?<=[\d}])\s*\\(?:text|mbox|mathrm|textrm)\{\s*[A-Za-z][A-Za-z .]*\}(?:\^\{?\d\}?)?\s*$", "", s)
    for cmd in _TEXT_CMDS:
        s = _unwrap_cmd(s, cmd)
    # currency
    s = re.sub(r"\\\$|\$|\\euro|€|£|\bUSD\b|\bRs\.?", "", s)
    s = s.replace("\\%", "%").replace("\\percent", "%")
    s = re.sub(r"\s+", " ", s).strip()
    s = _strip_units(s)
    s = re.sub(r"\s*percent$", "%", s)
    s = s.rstrip(".").strip()
    # thousands separators only in a lone number, before spaces go: "2, 500" is a list, "2,500" a number
    if _THOUSANDS_RE.fullmatch(s.rstrip("%").strip()):
        s = s.replace(",", "")
    # drop spaces, except one that ends a command before a letter: "\\pi r" must not become "\\pir"
    s = re.sub(r"(\\[A-Za-z]+) (?=[A-Za-z])", "\\1\x00", s).replace(" ", "").replace("\x00", " ")
    # one canonical spelling of single-token arguments: \frac12 -> \frac{1}{2}, \sqrt2 -> \sqrt{2}, ^{2} -> ^2
    s = re.sub(r"\\frac(\d)(\d)", r"\\frac{\1}{\2}", s)
    s = re.sub(r"\\frac(\d)\{", r"\\frac{\1}{", s)
    s = re.sub(r"\\frac(\{[^{}]*\})(\d)", r"\\frac\1{\2}", s)
    s = re.sub(r"\\sqrt(\d)", r"\\sqrt{\1}", s)
    s = re.sub(r"([\^_])\{(\w)\}", r"\1\2", s)
    # 0.50 and 0.5 stay different strings: numbers are compared numerically, not here
    return s


def strip_assignment(s: str) -> tuple[str | None, str]:
    """Split ``x=5`` into ``("x", "5")``; ``(None, s)`` when there is no simple left-hand side.

    Example:
        >>> strip_assignment("x=5"), strip_assignment(r"\\theta\\in[0,1]"), strip_assignment("x+y=3")
        (('x', '5'), ('\\\\theta', '[0,1]'), (None, 'x+y=3'))
    """
    m = _ASSIGN_RE.match(s)
    if not m or "=" in s[m.end() :]:
        return None, s
    rest = s[m.end() :]
    if not rest:
        return None, s
    return m.group(1), rest


@dataclass(frozen=True, slots=True)
class Number:
    """An exact rational value read from an answer.

    Attributes:
        value: The value.
        integer: The literal was an integer (no point, fraction or percent).
        percent: The literal ended in ``%``: ``value`` is the number as written (``20`` for ``20%``).
        decimal: The literal was written with a decimal point or an exponent (``0.3333``, ``1.5e3``):
            the grader's tolerance applies between such a value and an exact one.
    """

    value: Fraction
    integer: bool = False
    percent: bool = False
    decimal: bool = False

    def candidates(self) -> tuple[Fraction, ...]:
        """Values this answer may stand for: ``20%`` is 20 or 0.2."""
        return (self.value, self.value / 100) if self.percent else (self.value,)


def _frac(text: str) -> Fraction | None:
    if len(text) > _MAX_DIGITS:
        return None
    m = re.fullmatch(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE]([-+]?\d+))?", text)
    if not m:
        return None
    if m.group(1) is not None and abs(int(m.group(1))) > _MAX_EXP:
        return None
    return Fraction(text)


def parse_number(s: str) -> Number | None:
    """Read a normalised answer as an exact number, or None if it is not a plain number.

    Handles integers, decimals, scientific notation, ``a/b``, ``\\frac{a}{b}``, ``\\frac12``, mixed
    numbers ``2\\frac{1}{2}``, small integer powers ``2^{10}`` and a trailing ``%``.

    Example:
        >>> parse_number("2\\\\frac{1}{2}").value, parse_number("12.5%").percent, parse_number("x") is None
        (Fraction(5, 2), True, True)
    """
    s = s.strip()
    if not s or len(s) > _MAX_DIGITS:
        return None
    percent = s.endswith("%")
    if percent:
        s = s[:-1]
    if s.startswith("+"):
        s = s[1:]
    if s.startswith("{") and s.endswith("}") and s.count("{") == 1:
        s = s[1:-1]
    value: Fraction | None = None
    integer = False
    if re.fullmatch(r"-?\d+", s):
        value, integer = Fraction(int(s)), True
    elif (v := _frac(s)) is not None:
        value = v
    elif m := _MIXED_RE.fullmatch(s):
        whole_den = int(m.group(4))
        if whole_den:
            value = int(m.group(2)) + Fraction(int(m.group(3)), whole_den)
            value = -value if m.group(1) == "-" else value
    elif m := (_FRAC_RE.fullmatch(s) or _FRAC_SHORT_RE.fullmatch(s)):
        num, den = _frac(m.group(2)), _frac(m.group(3))
        if num is None and (inner := re.fullmatch(r"-(\d+\.?\d*)", m.group(2))):
            num = -Fraction(inner.group(1))
        if num is not None and den:
            value = num / den
            value = -value if m.group(1) == "-" else value
    elif m := _SLASH_RE.fullmatch(s):
        num, den = _frac(m.group(1)), _frac(m.group(2))
        if num is not None and den:
            value = num / den
    elif m := _SCI_RE.fullmatch(s):
        mant, exp = _frac(m.group(1)), int(m.group(2))
        if mant is not None and abs(exp) <= _MAX_EXP:
            value = mant * Fraction(10) ** exp
    elif m := _POW_RE.fullmatch(s):
        base, exp = int(m.group(1)), int(m.group(2))
        if abs(base) <= 10**6 and exp <= 64:
            value, integer = Fraction(base) ** exp, True
    if value is None:
        return None
    decimal = "." in s or bool(re.search(r"\d[eE][-+]?\d", s))
    return Number(value, integer and not percent, percent, decimal)


_BASE_RE = re.compile(r"([0-9][0-9A-Za-z]*)_\{?(\d{1,3})\}?")


def parse_base(s: str) -> tuple[str, int] | None:
    """A number written in a base, ``52_8`` or ``4210_{5}``: ``(digits, base)``, or None.

    Example:
        >>> parse_base("4210_{5}"), parse_base("52_8"), parse_base("x_1"), parse_base("19_8")
        (('4210', 5), ('52', 8), None, None)
    """
    m = _BASE_RE.fullmatch(s.strip())
    if not m:
        return None
    digits, base = m.group(1).upper(), int(m.group(2))
    if not 2 <= base <= 36:
        return None
    try:
        int(digits, base)
    except ValueError:
        return None
    return digits, base


@dataclass(frozen=True, slots=True)
class Structure:
    """A bracketed or comma-separated answer, or a matrix.

    Attributes:
        kind: ``"seq"`` (brackets or a bare comma list), ``"matrix"`` or ``"union"``.
        open: Opening bracket: ``(``, ``[``, ``{`` (a set ``\\{...\\}``) or ``""`` (bare list).
        close: Closing bracket.
        items: Items as normalised strings (for a matrix: the rows, each a tuple of cells).
    """

    kind: str
    open: str
    close: str
    items: tuple

    @property
    def ordered(self) -> bool:
        """Tuples and intervals are ordered; sets and bare lists of solutions are not."""
        return self.kind == "matrix" or self.open in ("(", "[")


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
        if s.startswith(sep, i) and depth == 0:
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


def parse_structure(s: str) -> Structure | None:
    """Read a normalised answer as a tuple, interval, set, bare list, union or matrix.

    Example:
        >>> parse_structure("(1,3]")
        Structure(kind='seq', open='(', close=']', items=('1', '3'))
        >>> parse_structure(r"\\{1,2\\}").ordered, parse_structure("1,2").ordered
        (False, False)
        >>> parse_structure(r"\\begin{pmatrix}1\\\\2\\end{pmatrix}").items
        (('1',), ('2',))
    """
    if not s:
        return None
    if m := _MATRIX_RE.match(s):
        body = m.group(2).strip()
        rows = [r for r in re.split(r"\\\\", body) if r.strip()]
        cells = tuple(tuple(c.strip() for c in r.split("&")) for r in rows)
        if cells and len({len(r) for r in cells}) == 1:
            return Structure("matrix", "", "", cells)
        return None
    if "\\cup" in s:
        parts = split_top_level(s, "\\cup")
        if len(parts) > 1 and all(parts):
            return Structure("union", "", "", tuple(parts))
    if s.startswith("\\{") and s.endswith("\\}"):
        inner = s[2:-2]
        return Structure("seq", "{", "}", tuple(x for x in split_top_level(inner)))
    if s[0] in "([" and s[-1] in ")]" and _matching_close(s, 0) == len(s) - 1:
        inner = s[1:-1]
        items = split_top_level(inner)
        if len(items) >= 2:
            return Structure("seq", s[0], s[-1], tuple(items))
        return None
    items = split_top_level(s)
    if len(items) >= 2 and all(items):
        return Structure("seq", "", "", tuple(items))
    return None


def parse_choice(s: str, *, pred: bool = False) -> str | None:
    """A multiple-choice letter: ``"C"`` from ``C``, ``(C)`` or (for predictions) ``(C) 12``.

    Gold answers must be exactly a letter A-E (optionally in parentheses); predictions may add text.

    Example:
        >>> parse_choice("(B)"), parse_choice("(C) 12", pred=True), parse_choice("x+1")
        ('B', 'C', None)
    """
    s = s.strip()
    m = (_PRED_CHOICE_RE if pred else _CHOICE_RE).match(s)
    if m is None and pred:
        m = _PRED_CHOICE_LOWER_RE.match(s)
    if not m:
        return None
    letter = m.group(1)
    if not pred and letter.islower() and not s.startswith("("):
        return None
    return letter.upper()


def is_text_answer(raw: str, norm: str) -> bool:
    """Whether an answer is words (``\\text{Monday}``, ``no solution``) rather than math.

    Example:
        >>> is_text_answer(r"\\text{Monday}", "Monday"), is_text_answer("x", "x"), is_text_answer("ab", "ab")
        (True, False, False)
    """
    if not re.fullmatch(r"[A-Za-z][A-Za-z' -]*", norm):
        return False
    if re.search(r"\\(?:text|textbf|mbox|mathrm|textnormal)\{", raw):
        return len(norm) >= 2
    words = re.findall(r"[A-Za-z]+", raw)
    return (len(words) >= 2 or len(norm) >= 4) and not any(w.lower() in _MATH_WORDS for w in words)
