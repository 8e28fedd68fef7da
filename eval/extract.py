"""Final-answer extraction: from a bare answer, a LaTeX string or a whole response, in many languages.

The order of the strategies (the first that finds something wins):

1. The text is cut at the first chat-control token (``<|im_start|>``, ``<|im_end|>``, ``</s>``, ...): what
   follows is a runaway continuation. After a ``</think>`` only the part after it is read first.
2. ``minerva``: "Final Answer: The final answer is X. I hope it is correct." (an explicit closing formula).
3. ``boxed`` / ``fbox`` / ``boxes``: the last complete ``\\boxed{...}`` or ``\\fbox{...}``; boxes that follow
   each other with only "and", "or", commas or spacing between them form one answer, joined with commas
   (``\\boxed{3}\\boxed{5}`` is ``3, 5``). An unclosed box is ignored. A "final answer is X" phrase written
   after the last box wins over it.
4. ``hashes``: GSM8K's ``#### X``.
5. ``answer_is``: the last answer phrase: "the answer is", "final answer:", "Réponse :", "la réponse
   est", "la respuesta es", "Respuesta:", "die Antwort ist", "Antwort:", "答案是", "答案：", "答えは",
   "उत्तर", "Ответ", "الإجابة", ... From the phrase's sentence the answer is its math span, bold part,
   the whole short remainder, or its first number.
6. Fallbacks (``fallbacks=True``; never for a truncated response): ``therefore`` (the last "therefore",
   "so", "donc", "por lo tanto", "also", "所以", "因此", "इसलिए", "لذا" ... near the end), ``bold`` (the
   last bold number near the end), ``last_math`` (the last ``$...$``/``\\(...\\)``/``\\[...\\]`` span, with the
   spans joined to it by "and"/commas), ``last_number``.

:func:`read_answer` (used by the grader) first decides whether a text is a bare answer (``5 cm``,
``x = 5``, ``\\text{no solution}``, ``12, 9 or 5``): a bare answer is used as written (method ``bare``).
A truncated response (``truncated=True``, or an unclosed box at its end) is answered only by a complete
box or the Minerva formula; otherwise the method is ``truncated`` and there is no answer.

Example:
    >>> extract_answer(r"so $x = \\boxed{\\frac{1}{2}}$.")
    Extraction(answer='\\\\frac{1}{2}', method='boxed')
    >>> extract_answer("The answer is 42.", fallbacks=False).method
    'none'
    >>> read_answer("Réponse : Paul paiera 220 € dans 12 mois.")
    Extraction(answer='220', method='answer_is')
    >>> read_answer("5 cm")
    Extraction(answer='5 cm', method='bare')
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

__all__ = [
    "Extraction",
    "ExtractionMethod",
    "extract_answer",
    "extract_choice",
    "find_boxed",
    "last_boxed_only",
    "looks_bare",
    "read_answer",
]

ExtractionMethod = Literal[
    "bare",
    "boxed",
    "fbox",
    "boxes",
    "minerva",
    "hashes",
    "answer_is",
    "therefore",
    "bold",
    "last_math",
    "last_number",
    "choice",
    "none",
    "truncated",
]
_FALLBACKS = ("therefore", "bold", "last_math", "last_number")

_BOX_RE = re.compile(r"\\(boxed|fbox)(?![A-Za-z])")
_STOP_RE = re.compile(
    r"<\|im_start\|>|<\|im_end\|>|<\|endoftext\|>|<\|eot_id\|>|<\|end_of_text\|>|</s>|<\|end\|>|<\|user\|>"
    r"|<\|assistant\|>|<｜end▁of▁sentence｜>|<｜User｜>|<\|start_header_id\|>"
)
_THINK_END = "</think>"
_HASHES_RE = re.compile(r"####\s*(?P<ans>[^\n]+)")
_MINERVA_RE = re.compile(
    r"final\s+answer\s+is\s*:?\s*(?P<ans>.{1,400}?)\s*\.?\s*I\s+hope\s+it\s+is\s+correct", re.IGNORECASE | re.DOTALL
)
_FINAL_IS_RE = re.compile(r"final\s+answer\s*(?:is|:)", re.IGNORECASE)

# Answer markers. Strong: the text names the answer. Weak: "therefore"-words, read only near the end.
_STRONG_MARKERS = re.compile(
    r"(?i:\b(?:final\s+)?answers?\b(?!ed\b)|\bréponse(?:\s+finale)?\b|\brespuesta(?:\s+final)?\b"
    r"|\b(?:endgültige\s+)?antwort\b|\bresposta\b|\brisposta\b|\bответ\b)"
    r"|最终答案|答案|答え|정답|답은|उत्तर|الإجابة|الجواب"
)
_WEAK_MARKERS = re.compile(
    r"(?i:\b(?:therefore|thus|hence|so|consequently|donc|ainsi|entonces|also|somit|daher|итак|значит|поэтому)\b"
    r"|\bpor\s+lo\s+tanto\b|\bas[ií]\s+que\b|\bthe\s+(?:solutions?|results?)\s+(?:is|are)\b"
    r"|\b(?:das\s+)?ergebnis\b|\ble\s+résultat\b|\bel\s+resultado\b|\bportanto\b|\bquindi\b)"
    r"|所以|因此|故|结果是|结果为|よって|したがって|따라서|इसलिए|अतः|परिणाम|لذا|لذلك|إذن"
)
# Copulas between a marker and its answer ("the answer to part (a) is 5", "la réponse est", "答案是").
_COPULA_RE = re.compile(
    r"(?i:\b(?:is|are|was|be|equals|est|sera|es|será|ist|lautet|sind|é|è|равен|равно)\b)|[:：=]|是|为|為|هو|هي|है|हैं"
)
_WEAK_REGION = 320  # weak markers and bold answers count only this close to the end
_MAX_MARKERS = 12  # the last this many answer phrases are tried

_MATH_SPAN_RE = re.compile(
    r"\$\$(?P<dd>.+?)\$\$|(?<![\\$])\$(?P<d>[^$\n]+?)(?<!\\)\$|\\\[(?P<b>.+?)\\\]|\\\((?P<p>[^\n]+?)\\\)", re.DOTALL
)
_SPAN_JOIN_RE = re.compile(
    r"^\s*(?:,\s*)?(?:(?:and|or|et|ou|y|o|und|oder|и|или)\b|和|或|及|、|,|\\text\{\s*(?:and|or)\s*\})?\s*$",
    re.IGNORECASE,
)
_BOX_GAP_RE = re.compile(
    r"^(?:\s|\$|,|;|\\quad|\\qquad|\\[,;:! ]|\\text\{\s*(?:and|or|,)?\s*\}|\\\]|\\\[|\\\)|\\\(|&|\\\\"
    r"|(?i:\band\b|\bor\b|\bet\b|\bou\b|\by\b|\bo\b|\bund\b|\boder\b)|和|或|及|、)*$"
)
# a clause giving a reason ends the answer: "the answer is 6, since 2 + 3 = 5" answers 6
_REASON_RE = re.compile(
    r",?\s+(?i:because|since|as\s+(?:shown|computed)|which\s+(?:is|gives|means)|car|parce\s+que|porque|weil|da)\b"
    r"|，?因为"
)
_FORMULA_RE = re.compile(r"\\[A-Za-z]|[=+^_<>]")  # a span holding a formula, whose letters are not prose
_BOLD_RE = re.compile(r"\*\*([^*\n]{1,80})\*\*")
_NUMBER_RE = re.compile(
    r"(?<![A-Za-z0-9_.])[-−]?(?:\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:[.,]\d+)?(?:\s*/\s*\d+)?|\.\d+)(?:\s*%)?(?![\d])"
)
_CHOICE_TOKEN = r"(?<![A-Za-z\\])\(?(?P<l>[{L}])\)?(?![A-Za-z])"
_LABEL_RE = re.compile(r"[A-Za-zÀ-ÿ]{2,}\s*[:：]")
_PROSE_WORD_RE = re.compile(r"(?<![\\A-Za-z])[A-Za-zÀ-ÿ]{2,}")
_NONLATIN_RE = re.compile(
    r"[\u0400-\u04ff\u0590-\u06ff\u0900-\u097f\u0e00-\u0e7f\u3040-\u30ff\u4e00-\u9fff\uac00-\ud7af]"
)
_BARE_WORDS = set(
    """
    and or no none not solution solutions real undefined infinity inf yes true false even odd neither both
    et und ou oder all pi sqrt frac dfrac tfrac cdot times text mbox mathrm left right cup cap in le ge leq geq
    lt gt ne neq
    infty circ degrees degree percent pct units unit sq square cubic cm mm km ft in inches inch feet miles
    mile meters meter dollars dollar cents hours hour minutes minute seconds days weeks years pm am begin
    end pmatrix bmatrix matrix cases array sin cos tan cot sec csc log ln exp arcsin arccos arctan pm mp
    ldots cdots dots approx mod pmod gcd lcm max min boxed sum prod int lim vec overline
    """.split()
)


@dataclass(frozen=True, slots=True)
class Extraction:
    """What was read from a text and how.

    Attributes:
        answer: The answer text (stripped), or None when nothing was found.
        method: Which strategy found it (see the module doc); ``none`` when nothing was found,
            ``truncated`` when the response was cut off and had no complete box.
        parts: For several boxes joined into one answer (method ``boxes``), each box's content.
    """

    answer: str | None
    method: ExtractionMethod
    parts: tuple[str, ...] = field(default=(), repr=False, compare=False)

    @property
    def found(self) -> bool:
        """Whether an answer was found."""
        return self.answer is not None

    @property
    def is_fallback(self) -> bool:
        """Whether the answer came from a phrase or a fallback rather than a box or the whole text."""
        return self.method in ("answer_is", "hashes", "minerva", *_FALLBACKS)


# ---------------------------------------------------------------- boxes


def _brace_pairs(text: str) -> dict[int, int]:
    """Index of each ``{`` -> index just past its matching ``}`` (one pass; escaped braces skipped)."""
    pairs: dict[int, int] = {}
    stack: list[int] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            i += 2  # skip escaped characters such as \{ and \}
            continue
        if ch == "{":
            stack.append(i)
        elif ch == "}" and stack:
            pairs[stack.pop()] = i + 1
        i += 1
    return pairs


def _boxes(text: str) -> tuple[list[tuple[str, str, int, int]], bool]:
    """All complete boxes as ``(kind, content, start, end)``, and whether an unclosed box ends the text."""
    found: list[tuple[str, str, int, int]] = []
    pairs: dict[int, int] | None = None
    unclosed_at_end = False
    for m in _BOX_RE.finditer(text):
        kind = m.group(1)
        i = m.end()
        while i < len(text) and text[i] in " \t":
            i += 1
        if i < len(text) and text[i] == "{":
            if pairs is None:
                pairs = _brace_pairs(text)
            end = pairs.get(i)
            if end is None:
                unclosed_at_end = True
                continue
            content = text[i + 1 : end - 1].strip()
        elif i > m.end():  # "\boxed 5": the next token, up to whitespace, "$" or end of sentence
            tok = re.match(r"[^\s$]+", text[i:])
            if tok is None:
                continue
            content = tok.group(0).rstrip(".,;")
            end = i + tok.end()
        else:
            continue
        if content:
            found.append((kind, content, m.start(), end))
            unclosed_at_end = False
    return found, unclosed_at_end


def find_boxed(text: str) -> list[tuple[str, str]]:
    """All complete boxes in order, as ``(kind, content)`` with kind ``"boxed"`` or ``"fbox"``.

    Args:
        text: Any text.

    Returns:
        The boxes' contents, stripped; unclosed boxes are left out.

    Example:
        >>> find_boxed(r"\\boxed{a{b}} and \\fbox{c} and \\boxed 7 and \\boxed{oops")
        [('boxed', 'a{b}'), ('fbox', 'c'), ('boxed', '7')]
    """
    return [(k, c) for k, c, _, _ in _boxes(text)[0]]


def last_boxed_only(text: str) -> str | None:
    """The content of the last complete ``\\boxed{}``/``\\fbox{}``, or None.

    Example:
        >>> last_boxed_only(r"\\boxed{1} then \\boxed{2}")
        '2'
    """
    boxes = find_boxed(text)
    return boxes[-1][1] if boxes else None


def _last_box_cluster(text: str, boxes: list[tuple[str, str, int, int]]) -> tuple[Extraction, int]:
    """The last box with the boxes joined to it by connectors only: (answer, method, end of the last box)."""
    cluster = [boxes[-1]]
    for prev in reversed(boxes[:-1]):
        gap = text[prev[3] : cluster[0][2]]
        if len(gap) > 60 or not _BOX_GAP_RE.match(gap):
            break
        cluster.insert(0, prev)
    contents: list[str] = []
    for _, c, _, _ in cluster:
        if c not in contents:
            contents.append(c)
    if len(contents) > 1:
        return Extraction(", ".join(contents), "boxes", tuple(contents)), boxes[-1][3]
    kind = cluster[-1][0]
    return Extraction(contents[0], "boxed" if kind == "boxed" else "fbox"), boxes[-1][3]


# ---------------------------------------------------------------- spans, sentences, numbers


def _clean(ans: str) -> str | None:
    ans = ans.strip()
    ans = re.sub(r"^\\\(|\\\)$|^\\\[|\\\]$", "", ans).strip()
    ans = ans.strip("$").strip()
    ans = re.sub(r"^\*\*|\*\*$", "", ans).strip()
    ans = re.sub(r"^\\text(?:bf)?\{\s*\}", "", ans).strip()
    ans = ans.rstrip(".;,。，：:").strip()
    return ans or None


def _math_spans(text: str) -> list[tuple[str, int, int]]:
    out = []
    for m in _MATH_SPAN_RE.finditer(text):
        body = next(g for g in m.groups() if g is not None)
        out.append((body.strip(), m.start(), m.end()))
    return out


def _join_spans(text: str, spans: list[tuple[str, int, int]], last: int) -> str:
    """The span ``spans[last]`` with the spans before it joined by "and"/"or"/commas."""
    items = [spans[last][0]]
    j = last
    while j > 0 and _SPAN_JOIN_RE.match(text[spans[j - 1][2] : spans[j][1]]):
        j -= 1
        items.insert(0, spans[j][0])
    items = [re.sub(r"[.,;]\s*$", "", x).strip() for x in items]
    return ", ".join(x for x in items if x)


def _sentence(text: str) -> str:
    """The first sentence of ``text`` (math spans, braces and decimal points do not end it)."""
    text = text.lstrip()
    depth = 0
    i = 0
    n = len(text)
    while i < n:
        m = _MATH_SPAN_RE.match(text, i) if text[i] in "$\\" else None
        if m:
            i = m.end()
            continue
        ch = text[i]
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth = max(0, depth - 1)
        elif depth == 0:
            if ch in "\n。！？!?；;" and i > 0:
                return text[:i]
            if ch == "." and (i + 1 == n or text[i + 1] in " \t\n") and i > 0:
                return text[:i]
        i += 1
    return text


def _mask_math(text: str) -> str:
    """``text`` with the inside of its math spans blanked out (same length)."""
    return _MATH_SPAN_RE.sub(lambda m: m.group(0)[0] + " " * (len(m.group(0)) - 2) + m.group(0)[-1], text)


def _strip_copula(span: str) -> str:
    """The part of a marker's sentence after its copulas ("is", ":", "est", "是", ...) within reach.

    Not when a number comes before the copula: in "$x \\ge 5$ is the solution" the answer is before it.
    """
    masked = _mask_math(span)
    start = 0
    for _ in range(3):
        m = _COPULA_RE.search(masked, start, start + 80)
        if m is None or re.search(r"\d", span[start : m.start()]):
            break
        if m.group(0) == "=" and span[start : m.start()].strip():
            break  # "x = 2 and y = 7": the equations are the answer
        if start and m.group(0) == "=":
            break
        first = m.group(0)
        start = m.end()
        if first not in ":：":
            break  # one word copula; a second round only after "Final Answer:"
    return span[start:]


def _split_equals(s: str) -> list[str]:
    """``s`` split at its ``=`` signs outside braces and brackets (not ``<=``, ``>=``, ``!=``)."""
    parts: list[str] = []
    depth = 0
    cur = 0
    for i, ch in enumerate(s):
        if ch in "{([":
            depth += 1
        elif ch in "})]":
            depth = max(0, depth - 1)
        elif ch == "=" and depth == 0 and not (i and s[i - 1] in "<>!\\"):
            parts.append(s[cur:i])
            cur = i + 1
    parts.append(s[cur:])
    return parts


def _first_number(text: str) -> str | None:
    m = _NUMBER_RE.search(text)
    return re.sub(r"\s+", "", m.group(0)).replace("−", "-") if m else None


def _answer_in_sentence(sentence: str) -> str | None:
    """The answer in a marker's sentence: its math span(s), a bold part, a short remainder or a number."""
    s = sentence.strip().lstrip(":：=,，").strip()
    reason = _REASON_RE.search(_mask_math(s))  # searched outside math spans
    if reason:
        s = s[: reason.start()]
    if not s.strip():
        return None
    spans = _math_spans(s)
    if spans:
        k = 0
        while k + 1 < len(spans) and _SPAN_JOIN_RE.match(s[spans[k][2] : spans[k + 1][1]]):
            k += 1
        joined = _join_spans(s, spans, k)
        if joined:
            return joined
    bold = _BOLD_RE.search(s)
    if bold and re.search(r"\w", bold.group(1)):
        inner = bold.group(1)
        if inner.strip() != s.strip("*. ").strip():
            return _answer_in_sentence(inner)
        return _first_number(inner) if _NONLATIN_RE.search(inner) else _clean(inner)
    frac = re.search(r"\\[dt]?frac\{[^{}]+\}\{[^{}]+\}|\\sqrt\{[^{}]+\}", s)
    assignments = len(re.findall(r"(?<![A-Za-z\\])[A-Za-z](?:_\w)?\s*=", s)) >= 2  # "x = 3 and y = 4": a list
    if "=" in s and not assignments and len(_split_equals(s)) > 1:
        *head, rhs = _split_equals(s)
        lhs = "=".join(head)
        if re.search(r"[\d+\-*/×÷]", lhs.strip("( ")) and not re.fullmatch(r"\s*[A-Za-z]\w*\s*", lhs):
            s = rhs.strip().rstrip(")").strip()
    words = _PROSE_WORD_RE.findall(s)
    if len(s) <= 40 and not [w for w in words if w.lower() not in _BARE_WORDS] and not _NONLATIN_RE.search(s):
        return _clean(s)
    if frac:
        return frac.group(0)
    return _first_number(s)


# ---------------------------------------------------------------- strategies


def _minerva(text: str) -> tuple[str, int] | None:
    hope = text.lower().rfind("i hope it is correct")
    if hope < 0:
        return None
    last = None
    for m in _MINERVA_RE.finditer(text, max(0, hope - 2000), hope + 30):
        last = m
    if last is None:
        return None
    ans = last.group("ans")
    boxes = _boxes(ans)[0]
    if boxes:
        return boxes[-1][1], last.start()
    spans = _math_spans(ans)
    got = _join_spans(ans, spans, len(spans) - 1) if spans else _answer_in_sentence(ans)
    got = _clean(got) if got else None
    return (got, last.start()) if got else None


def _marker_answer(text: str, markers: re.Pattern[str], since: int = 0) -> str | None:
    for m in reversed(list(markers.finditer(text, since))[-_MAX_MARKERS:]):
        rest = text[m.end() : m.end() + 600]
        sentence = _sentence(_strip_copula(rest))
        if not sentence.strip():
            nxt = rest.lstrip(" \t:：")
            if nxt.startswith("\n"):
                sentence = _sentence(nxt)
        got = _answer_in_sentence(sentence)
        if got:
            return got
    return None


def _bold_near_end(text: str) -> str | None:
    tail_start = max(0, len(text) - _WEAK_REGION)
    for m in reversed(list(_BOLD_RE.finditer(text))):
        if m.end() < tail_start:
            break
        if re.search(r"\d", m.group(1)):
            return _answer_in_sentence(m.group(1))
    return None


def _last_math(text: str) -> str | None:
    spans = _math_spans(text)
    for k in range(len(spans) - 1, -1, -1):
        body = spans[k][0]
        if re.fullmatch(r"[A-Za-z]", body.strip()):
            continue  # a lone variable ("where $x$ is the number") is not an answer
        plain = re.sub(r"\\(?:begin|end|text|mbox|mathrm|operatorname)\{[^{}]*\}", " ", body)
        words = [w for w in _PROSE_WORD_RE.findall(plain) if w.lower() not in _BARE_WORDS]
        if not _FORMULA_RE.search(body) and (len(words) >= 2 or any(len(w) >= 4 for w in words)):
            return _last_number(body)  # prose written inside dollars ("$? just about 1$")
        got = _join_spans(text, spans, k)
        parts = _split_equals(got)
        if len(parts) > 2 and "," not in got:
            got = parts[-1]
        return _clean(got)
    return None


def _last_number(text: str) -> str | None:
    found = None
    for m in _NUMBER_RE.finditer(text):
        found = m.group(0)
    return re.sub(r"\s+", "", found).replace("−", "-") if found else None


def _regions(text: str) -> tuple[str, str | None]:
    """The text cut at its first chat-control token, and the part after ``</think>`` if any."""
    m = _STOP_RE.search(text)
    if m and m.start() > 0:
        text = text[: m.start()]
    if _THINK_END in text:
        after = text[text.rindex(_THINK_END) + len(_THINK_END) :]
        if after.strip():
            return text, after
    return text, None


def _cascade(text: str, *, phrases: bool, fallbacks: bool, truncated: bool) -> Extraction:
    """The strategies in order on one region of a response."""
    minerva = _minerva(text) if phrases else None
    boxes, unclosed = _boxes(text)
    truncated = truncated or (unclosed and not text.rstrip().endswith("}"))
    if boxes:
        got, end = _last_box_cluster(text, boxes)
        if minerva and minerva[1] > end:
            return Extraction(minerva[0], "minerva")
        if phrases and not truncated:
            final = None
            for m in _FINAL_IS_RE.finditer(text, end):
                final = m
            if final is not None:
                ans = _marker_answer(text, _FINAL_IS_RE, final.start())
                if ans:
                    return Extraction(ans, "answer_is")
        return got
    if minerva:
        return Extraction(minerva[0], "minerva")
    if truncated:
        return Extraction(None, "truncated")
    if not phrases:
        return Extraction(None, "none")
    hashes = list(_HASHES_RE.finditer(text))
    if hashes:
        ans = _clean(hashes[-1].group("ans"))
        if ans:
            return Extraction(ans, "hashes")
    ans = _marker_answer(text, _STRONG_MARKERS)
    if ans:
        return Extraction(ans, "answer_is")
    if not fallbacks:
        return Extraction(None, "none")
    ans = _marker_answer(text, _WEAK_MARKERS, max(0, len(text) - _WEAK_REGION))
    if ans:
        return Extraction(ans, "therefore")
    for method, find in (("bold", _bold_near_end), ("last_math", _last_math), ("last_number", _last_number)):
        ans = find(text)
        if ans:
            return Extraction(ans, method)  # type: ignore[arg-type]
    return Extraction(None, "none")


def _extract(text: str, *, phrases: bool, fallbacks: bool, truncated: bool) -> Extraction:
    whole, after = _regions(text)
    if after is not None:
        got = _cascade(after, phrases=phrases, fallbacks=fallbacks, truncated=truncated)
        if got.found and got.method not in _FALLBACKS:
            return got
        explicit = _cascade(whole, phrases=phrases, fallbacks=False, truncated=truncated)
        if explicit.found:
            return explicit  # a box in the thinking beats a guess from the text after it
        if got.found:
            return got
    return _cascade(whole, phrases=phrases, fallbacks=fallbacks, truncated=truncated)


def extract_answer(text: str | None, *, fallbacks: bool = True, truncated: bool = False) -> Extraction:
    """Extract the final answer of a response (a model's output or a worked solution).

    Args:
        text: The full text; None gives ``method="none"``.
        fallbacks: Also use answer phrases, ``####``, the Minerva formula and then "therefore" phrases,
            bold numbers, the last math span and the last number when there is no box; with False only a
            box counts (a strict answer format).
        truncated: The response was cut off (token limit): only a complete box or the Minerva
            formula answers it; otherwise the method is ``truncated``.

    Returns:
        An :class:`Extraction` with the answer and the strategy that found it.

    Example:
        >>> extract_answer(r"\\fbox{3} and \\boxed{\\text{(B)}}")
        Extraction(answer='3, \\\\text{(B)}', method='boxes')
        >>> extract_answer("She pays 3 + 4 = 7 dollars.\\n#### 7")
        Extraction(answer='7', method='hashes')
        >>> extract_answer("total 1,250 apples")
        Extraction(answer='1,250', method='last_number')
        >>> extract_answer("We add 3 and 4 to get", truncated=True)
        Extraction(answer=None, method='truncated')
    """
    if not text or not text.strip():
        return Extraction(None, "none")
    return _extract(text, phrases=fallbacks, fallbacks=fallbacks, truncated=truncated)


def looks_bare(text: str) -> bool:
    """Whether a text is a bare answer (``5 cm``, ``x = 5``, ``12, 9 or 5``) rather than a response.

    Example:
        >>> looks_bare(r"\\text{no solution}"), looks_bare("12, 9 or 5"), looks_bare("The answer is 5.")
        (True, True, False)
    """
    s = text.strip()
    if not s:
        return False
    if _STRONG_MARKERS.search(s) or _MINERVA_RE.search(s) or "####" in s or _STOP_RE.search(s):
        return False
    if (m := _WEAK_MARKERS.search(s)) and m.start() == 0:  # "Thus, x = 3." is a sentence, not an answer
        return False
    if "<think>" in s or _THINK_END in s:
        return False
    if _NONLATIN_RE.search(s):
        return False
    if _LABEL_RE.search(re.sub(r"\\[A-Za-z]+|\\text\{[^{}]*\}", "", s)):
        return False
    outside_text = re.sub(r"\\(?:text|textbf|mbox|mathrm|textnormal|operatorname)\{[^{}]*\}", " ", s)
    outside_text = _MATH_SPAN_RE.sub(lambda m: " " if _FORMULA_RE.search(m.group(0)) else m.group(0), outside_text)
    if re.search(r"[a-z]\.\s+[A-Za-z]", outside_text) or re.search(r"[a-z]\s*\n", outside_text):
        return False
    words = [w for w in _PROSE_WORD_RE.findall(outside_text) if w.lower() not in _BARE_WORDS]
    if len(words) <= 1:
        return True
    return len(s) <= 40 and not re.search(r"\d|\\", s) and not re.search(r"[.!?]\s*$", s)


def read_answer(
    text: str | None, *, extraction: str = "auto", fallbacks: bool = True, truncated: bool = False
) -> Extraction:
    """The answer in one side of a comparison: a bare answer as written, or a response's final answer.

    Args:
        text: A bare answer, a LaTeX string or a whole response.
        extraction: ``auto`` (bare answers as written, responses extracted), ``boxed`` (bare answers as
            written, responses only through their boxes) or ``bare`` (the text is the answer).
        fallbacks: As in :func:`extract_answer`.
        truncated: As in :func:`extract_answer`.

    Example:
        >>> read_answer(r"\\boxed{3}\\boxed{5}")
        Extraction(answer='3, 5', method='boxes')
        >>> read_answer("x = 5"), read_answer("so we get 7", truncated=True).method
        (Extraction(answer='x = 5', method='bare'), 'truncated')
    """
    if text is None or not text.strip():
        return Extraction(None, "none")
    if extraction == "bare":
        return Extraction(text.strip(), "bare")
    boxes, unclosed = _boxes(text)
    if not truncated and not boxes and not unclosed and looks_bare(text):
        return Extraction(text.strip(), "bare")
    if extraction == "boxed":
        return _extract(text, phrases=False, fallbacks=False, truncated=truncated)
    return _extract(text, phrases=True, fallbacks=fallbacks, truncated=truncated)


# ---------------------------------------------------------------- multiple choice


def _choice_re(letters: str) -> re.Pattern[str]:
    return re.compile(_CHOICE_TOKEN.replace("{L}", re.escape(letters)))


def extract_choice(text: str | None, letters: str = "ABCDE") -> Extraction:
    """The option letter a text chooses: in a box, after an answer phrase, at the start, or the last one.

    Example:
        >>> extract_choice("It is not A, so I pick (B).").answer
        'B'
        >>> extract_choice("D. It cannot be A or B.").answer, extract_choice("答案是 C").answer
        ('D', 'C')
    """
    if not text or not text.strip():
        return Extraction(None, "none")
    whole, after = _regions(text)
    region = after or whole
    token = _choice_re(letters)
    boxes = _boxes(region)[0]
    if boxes:
        m = token.search(re.sub(r"\\(?:text|textbf|mathrm)\{([^{}]*)\}", r"\1", boxes[-1][1]))
        if m:
            return Extraction(m.group("l"), "boxed")
    for mk in reversed(list(_STRONG_MARKERS.finditer(region))[-_MAX_MARKERS:]):
        m = token.search(_sentence(region[mk.end() : mk.end() + 120].lstrip(" :：\n")))
        if m:
            return Extraction(m.group("l"), "answer_is")
    start = re.match(
        r"\s*(?:\*\*)?\(?(?P<l>[" + re.escape(letters) + r"])\)?(?:\*\*)?(?:[.):：。,]|\s|$|(?=[^\x00-\x7f]))",
        region,
    )
    if start:
        return Extraction(start.group("l"), "choice")
    last = None
    for m in token.finditer(region):
        last = m
    if last is not None:
        return Extraction(last.group("l"), "choice")
    return Extraction(None, "none")
