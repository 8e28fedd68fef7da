"""Answer normalisation for the grader's fast path: strings, numbers, units, choices, times and bases.

Everything here is pure string work (no sympy), bounded in time by the input length: big exponents
and huge literals are refused rather than computed, so the fast path can never hang.

Example:
    >>> normalize_answer(r"\\$1,000.50")
    '1000.50'
    >>> parse_number("-\\\\frac{3}{4}").value
    Fraction(-3, 4)
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache

from .extract import find_boxed

__all__ = [
    "Number",
    "normalize_answer",
    "parse_number",
    "parse_choice",
    "parse_base",
    "parse_time",
    "is_text_answer",
    "split_unit",
    "units_conflict",
    "decimal_comma_number",
]

_MAX_DIGITS = 400  # refuse literals longer than this: Fraction(10**10**9) would hang
_MAX_EXP = 400

_TEXT_CMDS = (
    "text",
    "textbf",
    "textit",
    "textrm",
    "textnormal",
    "mathrm",
    "mathbf",
    "mbox",
    "mathit",
    "operatorname",
    "textsf",
    "mathsf",
)
# currency, counting nouns, length, area, volume, mass, time and speed words that answers carry
_UNIT_WORDS = set(
    """
    dollar dollars usd cent cents euro euros pound pounds yuan mm cm m km meter meters metre metres
    centimeter centimeters centimetre centimetres kilometer kilometers millimeter millimeters inch inches in ft
    foot feet yard yards yd mile miles mi sq square cubic units unit g kg gram grams kilogram kilograms lb lbs
    ounce ounces oz ton tons liter liters litre litres ml gallon gallons s sec second seconds min minute minutes
    h hr hrs hour hours day days week weeks month months year years mph kph kmh degree degrees percent points
    point times people students ways cups pages apples
    """.split()
)
# one spelling per unit, for policies that compare units
_UNIT_CANON = {
    "centimeter": "cm",
    "centimeters": "cm",
    "centimetre": "cm",
    "centimetres": "cm",
    "meter": "m",
    "meters": "m",
    "metre": "m",
    "metres": "m",
    "kilometer": "km",
    "kilometers": "km",
    "millimeter": "mm",
    "millimeters": "mm",
    "inches": "in",
    "inch": "in",
    "feet": "ft",
    "foot": "ft",
    "miles": "mi",
    "mile": "mi",
    "yards": "yd",
    "yard": "yd",
    "dollars": "dollar",
    "cents": "cent",
    "euros": "euro",
    "grams": "g",
    "gram": "g",
    "kilograms": "kg",
    "kilogram": "kg",
    "liters": "l",
    "liter": "l",
    "litres": "l",
    "litre": "l",
    "seconds": "s",
    "second": "s",
    "sec": "s",
    "minutes": "min",
    "minute": "min",
    "hours": "h",
    "hour": "h",
    "hr": "h",
    "hrs": "h",
    "days": "day",
    "weeks": "week",
    "years": "year",
    "degrees": "degree",
    "units": "unit",
    "square": "sq",
}
# measures (canonical spellings) whose mismatch makes two answers different even when units are stripped
_MEASURES = set(
    "cm m km mm in ft mi yd g kg lb lbs oz ton tons l ml gallon gallons s min h day week month months year "
    "mph kph kmh dollar cent euro yuan degree".split()
)
_MATH_WORDS = {"pi", "sin", "cos", "tan", "log", "ln", "sqrt", "exp", "i", "e", "x", "y", "z", "n", "k", "a", "b", "c"}
_NUM_RE = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_THOUSANDS_RE = re.compile(r"[-+]?[1-9]\d{0,2}(?:,\d{3})+(?:\.\d+)?")
_FRAC_RE = re.compile(r"([-+]?)\\frac\{([^{}]+)\}\{([^{}]+)\}")
_FRAC_SHORT_RE = re.compile(r"([-+]?)\\frac(\d)(\d)")
_SLASH_RE = re.compile(r"([-+]?[\d.]+)/([-+]?[\d.]+)")
_SCI_RE = re.compile(r"([-+]?[\d.]+)(?:\\times|\\cdot|\*)10\^\{?([-+]?\d+)\}?")
_POW_RE = re.compile(r"([-+]?\d+)\^\{?(-?\d+)\}?")
_REPEATING_RE = re.compile(r"(-?)(\d*)\.(\d*)\\overline\{(\d{1,12})\}")
_MIXED_RE = re.compile(r"([-+]?)(\d+)\\frac\{(\d+)\}\{(\d+)\}")
_CHOICE_RE = re.compile(r"^\(?([A-Za-z])\)?$")
_GOLD_CHOICE_RE = re.compile(
    r"^\(([A-Z])\)\s*(?:[.:]\s*)?[^\\=+*/^]*$|^([A-Z])(?:[.:)]\s*|\s+)[A-Za-z0-9][^\\=+*/^]*$"
)
_PRED_CHOICE_RE = re.compile(r"^(?:\\text\{)?\(?([A-Z])\)?(?:\}|\s*[:.)]|\s+\S.*)?$", re.DOTALL)
_PRED_CHOICE_LOWER_RE = re.compile(r"^\(?([a-z])\)?$")
_TIME_RE = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?(?:(a|p)\.?m\.?)?$", re.IGNORECASE)
_DEGREE_RE = re.compile(r"\^\s*\{?\s*\\circ\s*\}?|°|\\degree|\\circ(?![A-Za-z])")


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


_UNIT_TAIL_RE = re.compile(r"^([-+]?[\d.,/]+(?:\^\{?\d\}?)?)\s*([A-Za-z][A-Za-z .^{}23²³]*)$")


def _unit_words(s: str) -> tuple[str, str] | None:
    """``(number, unit)`` when ``s`` is a number followed by unit words, else None."""
    m = _UNIT_TAIL_RE.match(s)
    if not m:
        return None
    words = re.findall(r"[A-Za-z]+", m.group(2))
    if not words:
        return None
    if len(words[0]) <= 2 and not s[len(m.group(1)) :].startswith(" "):
        return None  # "5m", "3s": a short word glued to a number may be a variable
    if all(w.lower() in _UNIT_WORDS or (len(w) >= 3 and w.lower() not in _MATH_WORDS) for w in words):
        return m.group(1), m.group(2)
    return None


def split_unit(s: str) -> tuple[str, str]:
    """A raw answer's value and its unit, canonical (``5 centimeters`` -> ``("5", "cm")``); unit ``""`` if none.

    Example:
        >>> split_unit(r"5\\text{ cm}^2"), split_unit("12 square feet"), split_unit("7")
        (('5', 'cm^2'), ('12', 'ft^2'), ('7', ''))
    """
    t = s.replace("$", " ").strip()
    t = re.sub(r"\\(?:text|mbox|mathrm|textrm|textnormal)\{([^{}]*)\}", r" \1 ", t)
    t = t.replace("\\,", " ").replace("\\ ", " ").replace("~", " ")
    t = re.sub(r"\s+", " ", t).strip().rstrip(".")
    got = _unit_words(t)
    if got is None:
        return s, ""
    value, unit = got
    power = re.search(r"\^\{?([23])\}?|([²³])", unit)
    words = [_UNIT_CANON.get(w.lower(), w.lower()) for w in re.findall(r"[A-Za-z]+", unit)]
    exponent = power.group(1) or ("2" if power.group(2) == "²" else "3") if power else ""
    if words and words[0] in ("sq", "cubic") and len(words) > 1:  # square feet = ft^2, cubic cm = cm^3
        exponent = "2" if words[0] == "sq" else "3"
        words = words[1:]
    canon = " ".join(words) + (f"^{exponent}" if exponent else "")
    return value, canon


def units_conflict(a: str, b: str) -> bool:
    """Whether two canonical units (from :func:`split_unit`) are different measures (``cm^3`` vs ``cm^2``, ``m``
    vs ``cm``); counting words (``apples``, ``people``) never conflict.

    Example:
        >>> units_conflict("cm^3", "cm^2"), units_conflict("cm", "cm"), units_conflict("apples", "people")
        (True, False, False)
    """
    ua, ub = _measure(a), _measure(b)
    return bool(ua and ub and ua != ub)


def _measure(unit: str) -> str:
    base, _, power = unit.partition("^")
    words = [w for w in base.split() if w in _MEASURES]
    return " ".join(words) + (f"^{power}" if power and words else "")


def _strip_units(s: str) -> str:
    """Drop trailing unit words after a leading number: ``5 cm`` -> ``5``, ``12 square feet`` -> ``12``."""
    got = _unit_words(s)
    return got[0] if got else s


def _connectors(s: str) -> str:
    """Spelled-out connectors between list items: "and"/"or" become ``,`` (``\\lor`` between inequalities)."""
    s = re.sub(r"\\text\{\s*(and|or)\s*\}", r" \1 ", s)
    s = re.sub(r"\\(?:quad|qquad)", " ", s)
    s = re.sub(r"\s(?:et|und)\s", " and ", re.sub(r"\s(?:ou|oder)\s", " or ", s))
    if not re.search(r"\b(?:and|or)\b", s):
        return s
    ineq = bool(re.search(r"<|>|\\[lg]e(?:q)?(?![a-z])|\\[lg]t(?![a-z])", s))
    s = re.sub(r"\s*,?\s*\bor\b\s*", "\\\\lor " if ineq else ",", s)
    s = re.sub(r"\s*,?\s*\band\b\s*", "\\\\land " if ineq else ",", s)
    return re.sub(r",\s*,", ",", s).strip(", ")


_PLAIN_NUMBER_RE = re.compile(r"-?\d{1,30}(?:\.\d{1,30})?")


@lru_cache(maxsize=32768)
def normalize_answer(s: str) -> str:
    """Canonical string form of an answer (no spaces, no ``$``, units and LaTeX spacing removed).

    Percent signs are kept (as ``%``) so that callers can read them; currency, ``\\text{}``
    wrappers, ``\\left``/``\\right``, ``\\dfrac`` and thousands separators are normalised away; a degree
    sign is dropped from a lone number (``30^\\circ`` -> ``30``) and kept as ``^\\circ`` elsewhere.

    Args:
        s: A raw answer string (e.g. the content of a box or a dataset's reference answer).

    Returns:
        The canonical form; ``""`` for an empty answer.

    Example:
        >>> normalize_answer(r"\\left( 3, \\dfrac{\\pi}{2} \\right)")
        '(3,\\\\frac{\\\\pi}{2})'
        >>> normalize_answer(r"30^\\circ"), normalize_answer(r"5\\text{ cm}^2"), normalize_answer("50\\\\%")
        ('30', '5', '50%')
        >>> normalize_answer("2 1/4"), normalize_answer("12 and 13"), normalize_answer("1 000")
        ('2\\\\frac{1}{4}', '12,13', '1000')
    """
    s = s.strip()
    if _PLAIN_NUMBER_RE.fullmatch(s):
        return s
    if re.search(r"(?<!\\)\\\\(?=[a-zA-Z])", s):  # doubly escaped LaTeX ("\\\\frac", from a JSON dump)
        s = s.replace("\\\\", "\\")
    boxes = find_boxed(s)
    if boxes and re.fullmatch(r"\$*\s*\\(?:boxed|fbox)\s*\{.*\}\s*\$*\.?", s, re.DOTALL):
        s = boxes[-1][1]
    s = s.replace("\n", " ").replace("−", "-").replace("–", "-").replace("×", "\\times ").replace("÷", "/")
    s = s.strip()
    # math delimiters
    s = re.sub(r"^\\\(|\\\)$|^\\\[|\\\]$", "", s).strip()
    s = s.strip("$").strip()
    s = s.rstrip(".,;").strip()
    s = re.sub(r"\\(?:displaystyle|left|right|big|Big|bigg|Bigg)(?![A-Za-z])\.?", "", s)
    s = re.sub(r"\\[dtc]frac", r"\\frac", s)
    s = s.replace("∞", "\\infty").replace("+\\infty", "\\infty").replace("\\inf)", "\\infty)")
    s = s.replace("\\le ", "\\le ").replace("\\leqslant", "\\le").replace("\\geqslant", "\\ge")
    s = re.sub(r"\\(le|ge)q(?![a-z])", r"\\\1", s)
    s = s.replace("<=", "\\le ").replace(">=", "\\ge ").replace("≤", "\\le ").replace("≥", "\\ge ")
    s = s.replace("\\lt", "<").replace("\\gt", ">").replace("!=", "\\ne ").replace("\\neq", "\\ne")
    s = re.sub(r"(?<=\d),\\!\s*(?=\d{3})", ",", s)  # 11,\!111 (a thousands comma with a negative space)
    s = re.sub(r"(?<!\\)\\[,;:! ]|~|\\quad|\\qquad", " ", s)
    s = s.replace("{,}", ",") if re.search(r"\d\{,\}\d", s) else s
    # degrees: dropped from a lone number, one spelling elsewhere
    if re.fullmatch(r"[-+]?[\d.,]+\s*(?:\^\s*\{?\s*\\circ\s*\}?|°|\\degree)\s*(?:\\text\{[^{}]*\})?", s):
        s = _DEGREE_RE.sub("", s)
        s = re.sub(r"\\text\{[^{}]*\}", "", s)
    else:
        s = _DEGREE_RE.sub("^\\\\circ", s)
    # units in \text{} / \mbox{} after a number: "5 \text{ cm}^2", "\$5\text{ dollars}"
    s = re.sub(r"(?<=[\d}])\s*\\(?:text|mbox|mathrm|textrm)\{\s*[A-Za-z][A-Za-z .]*\}(?:\^\{?\d\}?)?\s*$", "", s)
    for cmd in _TEXT_CMDS:
        s = _unwrap_cmd(s, cmd)
    # currency
    s = re.sub(r"\\\$|\$|\\euro|€|£|¥|₹|\bUSD\b|\bRs\.?|\bEUR\b", "", s)
    s = s.replace("\\%", "%").replace("\\percent", "%")
    s = re.sub(r"\s+", " ", s).strip()
    s = _connectors(s)
    s = _strip_units(s)
    s = re.sub(r"\s*(?:percent|pct|per cent)$", "%", s)
    s = s.rstrip(".").strip()
    # thousands separators only in a lone number, before spaces go: "2, 500" is a list, "2,500" a number
    if _THOUSANDS_RE.fullmatch(s.rstrip("%").strip()):
        s = s.replace(",", "")
    elif re.fullmatch(r"[-+]?[1-9]\d{0,2}(?: \d{3})+(?:[.,]\d+)?%?", s):
        s = s.replace(" ", "")
    elif m := re.fullmatch(r"([-+]?\d+)\s+(\d+)\s*/\s*(\d+)\s*(%?)", s):  # a mixed number "2 1/4"
        if 0 <= int(m.group(2)) < int(m.group(3)):  # "11 6/6" and "4 4/0" are not mixed numbers
            s = f"{m.group(1)}\\frac{{{m.group(2)}}}{{{m.group(3)}}}{m.group(4)}"
        else:
            s = f"{m.group(1)}\\,{m.group(2)}/{m.group(3)}{m.group(4)}"
    s = re.sub(r"(\^\{?\d+\}?) (?=\d)", r"\1\\cdot ", s)  # 2^6 3^5 is a product, not 2^{63}...
    # drop spaces, except one that ends a command before a letter: "\\pi r" must not become "\\pir"
    s = re.sub(r"(\\[A-Za-z]+) (?=[A-Za-z])", "\\1\x00", s).replace(" ", "").replace("\x00", " ")
    # one canonical spelling of single-token arguments: \frac12 -> \frac{1}{2}, \sqrt2 -> \sqrt{2}, ^{2} -> ^2
    s = re.sub(r"\\frac(\d)(\d)", r"\\frac{\1}{\2}", s)
    s = re.sub(r"\\frac(\d)\{", r"\\frac{\1}{", s)
    s = re.sub(r"\\frac(\{[^{}]*\})(\d)", r"\\frac\1{\2}", s)
    s = re.sub(r"\\sqrt(\d)", r"\\sqrt{\1}", s)
    s = re.sub(r"([\^_])\{(\w)\}", r"\1\2", s)
    s = s.replace("\\cdots", "\\dots").replace("\\ldots", "\\dots").replace("\\varnothing", "\\emptyset")
    s = re.sub(r"\\overline\{([A-Za-z]+)\}", r"\1", s)  # a segment \overline{AB} is AB
    # 0.50 and 0.5 stay different strings: numbers are compared numerically, not here
    return s


@dataclass(frozen=True, slots=True)
class Number:
    """An exact rational value read from an answer.

    Attributes:
        value: The value.
        integer: The literal was an integer (no point, fraction or percent).
        percent: The literal ended in ``%``: ``value`` is the number as written (``20`` for ``20%``).
        decimal: The literal was written with a decimal point or an exponent (``0.3333``, ``1.5e3``):
            it may stand for an exact value to the precision written.
        places: Decimal places of the value as written (``0.3333`` -> 4, ``2.31\\times10^{-3}`` -> 5).
        digits: Significant digits written (``0.3333`` -> 4, ``37.70`` -> 4).
        reduced: A fraction literal is in lowest terms with a denominator above 1 (True for non-fractions).
    """

    value: Fraction
    integer: bool = False
    percent: bool = False
    decimal: bool = False
    places: int = 0
    digits: int = 0
    reduced: bool = True

    def candidates(self, mode: str = "either") -> tuple[Fraction, ...]:
        """Values this answer may stand for: ``20%`` is 20 or 0.2 ('either'), 20 ('number'), 0.2 ('fraction')."""
        if not self.percent or mode in ("number", "strict"):
            return (self.value,)
        if mode == "fraction":
            return (self.value / 100,)
        return (self.value, self.value / 100)


def _frac(text: str) -> Fraction | None:
    if len(text) > _MAX_DIGITS:
        return None
    m = re.fullmatch(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE]([-+]?\d+))?", text)
    if not m:
        return None
    if m.group(1) is not None and abs(int(m.group(1))) > _MAX_EXP:
        return None
    return Fraction(text)


def _precision(literal: str, exp: int = 0) -> tuple[int, int]:
    """``(decimal places, significant digits)`` of a decimal literal, shifted by a power of ten."""
    m = re.search(r"(\d*)\.(\d*)", literal)
    if not m:
        digits = len(literal.strip("-+").lstrip("0")) or 1
        return max(0, -exp), digits
    whole, frac = m.group(1), m.group(2)
    sig = (whole + frac).lstrip("0")
    return len(frac) - exp, len(sig) or 1


def parse_number(s: str) -> Number | None:
    """Read a normalised answer as an exact number, or None if it is not a plain number.

    Handles integers, decimals, scientific notation, ``a/b``, ``\\frac{a}{b}``, ``\\frac12``, mixed
    numbers ``2\\frac{1}{2}``, small integer powers ``2^{10}``, an arithmetic series written with dots
    (``1+2+\\dots+100``) and a trailing ``%``.

    Example:
        >>> parse_number("2\\\\frac{1}{2}").value, parse_number("12.5%").percent, parse_number("x") is None
        (Fraction(5, 2), True, True)
        >>> n = parse_number("37.70"); n.places, n.digits
        (2, 4)
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
    reduced = True
    places = digits = 0
    if re.fullmatch(r"-?\d+", s):
        value, integer = Fraction(int(s)), True
    elif (v := _frac(s)) is not None:
        value = v
        mant, _, e = s.lower().partition("e")
        places, digits = _precision(mant, int(e) if e else 0)
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
            reduced = _is_reduced(num, den)
    elif m := _SLASH_RE.fullmatch(s):
        num, den = _frac(m.group(1)), _frac(m.group(2))
        if num is not None and den:
            value = num / den
            reduced = _is_reduced(num, den)
    elif m := _SCI_RE.fullmatch(s):
        mantissa, exp = _frac(m.group(1)), int(m.group(2))
        if mantissa is not None and abs(exp) <= _MAX_EXP:
            value = mantissa * Fraction(10) ** exp
            places, digits = _precision(m.group(1), exp)
    elif m := _POW_RE.fullmatch(s):
        base, exp = int(m.group(1)), int(m.group(2))
        if abs(base) <= 10**6 and abs(exp) <= 64 and (base or exp >= 0):
            value, integer = Fraction(base) ** exp, exp >= 0
    elif m := _REPEATING_RE.fullmatch(s):  # 0.1\overline{6} = 1/6
        sign, whole, fixed, rep = m.groups()
        value = Fraction(int(whole or 0)) + (Fraction(int(fixed), 10 ** len(fixed)) if fixed else Fraction(0))
        value += Fraction(int(rep), (10 ** len(rep) - 1) * 10 ** len(fixed))
        value = -value if sign else value
    elif m := re.fullmatch(r"(-?\d+)\+(-?\d+)\+(-?\d+)\+\\dots\+(-?\d+)", s):
        a, b, c, last = (int(x) for x in m.groups())
        step = b - a
        if step and c - b == step and (last - a) % step == 0 and 0 < (last - a) // step < 10**7:
            n = (last - a) // step + 1
            value, integer = Fraction(n * (a + last), 2), True
    if value is None:
        return None
    decimal = "." in s or bool(re.search(r"\d[eE][-+]?\d", s)) or bool(_SCI_RE.fullmatch(s) and "." in s)
    return Number(value, integer and not percent, percent, decimal, places, digits, reduced)


def _is_reduced(num: Fraction, den: Fraction) -> bool:
    if num.denominator != 1 or den.denominator != 1:
        return True  # decimals inside a fraction: not a question of reducing
    n, d = int(num), int(den)
    return d > 1 and math.gcd(n, d) == 1


def decimal_comma_number(s: str) -> Number | None:
    """A normalised answer with a decimal comma (``3,75``, ``0,625``, ``2500,5``) as a number, else None.

    A comma followed by exactly three digits after a group of one to three digits that does not start
    with 0 is a thousands separator, never a decimal mark (``41,206``).

    Example:
        >>> decimal_comma_number("3,75").value, decimal_comma_number("0,625").value
        (Fraction(15, 4), Fraction(5, 8))
        >>> decimal_comma_number("41,206") is None, decimal_comma_number("1,2,3") is None
        (True, True)
    """
    m = re.fullmatch(r"([-+]?)(\d+),(\d+)(%?)", s.strip())
    if not m:
        return None
    whole, frac = m.group(2), m.group(3)
    if len(frac) == 3 and len(whole) <= 3 and not whole.startswith("0"):
        return None
    return parse_number(f"{m.group(1)}{whole}.{frac}{m.group(4)}")


def parse_time(s: str) -> int | None:
    """A time of day ``h:mm[:ss]`` with an optional am/pm, in seconds after midnight; None otherwise.

    Example:
        >>> parse_time("9:15") == parse_time("9:15:00"), parse_time("8:34PM") == parse_time("20:34")
        (True, True)
    """
    m = _TIME_RE.fullmatch(s.strip().replace(" ", ""))
    if not m:
        return None
    h, mi, sec = int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)
    if mi > 59 or sec > 59 or h > 24:
        return None
    ap = (m.group(4) or "").lower()
    if ap:
        if not 1 <= h <= 12:
            return None
        h = h % 12 + (12 if ap == "p" else 0)
    return h * 3600 + mi * 60 + sec


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


def parse_choice(s: str, *, pred: bool = False, letters: str = "ABCDE") -> str | None:
    """A multiple-choice letter: ``"C"`` from ``C``, ``(C)``, ``(C) 12`` or (for predictions) ``C) 12``.

    Gold answers are a letter, alone, in parentheses, or followed by the option's text; predictions
    may also be a lower-case letter.

    Example:
        >>> parse_choice("(B)"), parse_choice("(C) 12", pred=True), parse_choice("x+1")
        ('B', 'C', None)
        >>> parse_choice("(D) Alina"), parse_choice("C Cecile"), parse_choice(r"A \\cup B")
        ('D', 'C', None)
    """
    s = s.strip()
    if pred:
        m = _PRED_CHOICE_RE.match(s) or _PRED_CHOICE_LOWER_RE.match(s)
    else:
        m = _CHOICE_RE.match(s) or _GOLD_CHOICE_RE.match(s)
    if not m:
        return None
    letter = next(g for g in m.groups() if g)
    if not pred and letter.islower() and not s.startswith("("):
        return None
    letter = letter.upper()
    return letter if letter in letters else None


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
