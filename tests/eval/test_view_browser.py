"""The run browser in headless Chromium: the page of a real run, filtered, searched and opened through its UI.

Skips when no Chromium is installed (``scripts/setup.sh`` installs Debian's ``chromium``). The clicks and
the typing are real input events sent over the DevTools protocol (:mod:`tests.headless`); the checks are
on the DOM, and the screenshot is checked against it (the table and the open trajectory's code and output
blocks are in the picture, in their colours).
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from eval.runs import load_run, run_verdicts
from tests.headless import Chromium, find_chromium

REPO = Path(__file__).resolve().parents[2]
RUNS = REPO / "tests" / "fixtures" / "runs"
QWEN = RUNS / "gsm8k-easy-qwen05-k4"
SMOL = RUNS / "gsm8k-easy-smollm-k1"

pytestmark = pytest.mark.skipif(find_chromium() is None, reason="chromium is not installed (apt-get install chromium)")


def _view(tmp_path: Path, *runs: Path) -> Path:
    out = tmp_path / "view.html"
    r = subprocess.run(
        [sys.executable, "-m", "cli", "view", *map(str, runs), "--out", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr
    return out


@pytest.fixture(scope="module")
def browser():
    with Chromium(width=1280, height=900) as b:
        yield b


def _count(b: Chromium, selector: str) -> int:
    return b.evaluate(f"document.querySelectorAll({json.dumps(selector)}).length")


def _haystack(p) -> str:
    """What the page's search looks through, as the page builds it."""
    parts = [p.id, p.question, p.reference or "", p.benchmark]
    for t in p.samples:
        parts += [t.answer or "", t.critique.text if t.critique else "", t.error]
        parts += [s.content for s in t.steps] if t.steps else [t.text]
    return "\n".join(parts).lower()


def _rgb_near(pixel: tuple, hexcolor: str, tol: int = 40) -> bool:
    want = tuple(int(hexcolor[i : i + 2], 16) for i in (1, 3, 5))
    return all(abs(int(p) - w) <= tol for p, w in zip(pixel[:3], want, strict=True))


def test_one_run_filtered_searched_opened_and_screenshot(browser: Chromium, tmp_path: Path) -> None:
    from PIL import Image

    run = load_run(QWEN)
    verdicts = run_verdicts(run)
    page = _view(tmp_path, QWEN)
    browser.open(page)
    browser.wait_for("document.body.dataset.ready === '1'")
    assert _count(browser, "tr.row") == len(run.problems) == 6
    headers = browser.evaluate("[...document.querySelectorAll('tr.labels th')].map(e => e.textContent)")
    for col in ("problem", "benchmark", "correct", "status", "answer", "reference", "code calls", "code errors"):
        assert col in headers
    assert "critic" in headers

    # filter by a column: the "correct" choice, as a user picks it
    right = [pid for pid, v in verdicts.items() if v.correct]
    browser.select("select[data-filter='ok0']", "yes")
    assert _count(browser, "tr.row") == len(right)
    assert browser.evaluate("[...document.querySelectorAll('tr.row')].map(e => e.dataset.id)") == right
    browser.click("#clear")
    assert _count(browser, "tr.row") == 6

    # search text, typed into the box
    pid = right[0] if right else next(iter(run.problems))
    word = next(w for w in run.problems[pid].question.split() if len(w) > 5 and w.isalpha())
    expected = [p.id for p in run.problems.values() if word.lower() in _haystack(p)]
    browser.type("#search", word)
    browser.wait_for(f"document.querySelectorAll('tr.row').length === {len(expected)}")
    assert pid in browser.evaluate("[...document.querySelectorAll('tr.row')].map(e => e.dataset.id)")

    # a numeric filter typed into its box (code calls >= 1) narrows within the search
    browser.type("input[data-filter='cc0']", ">=1")
    with_code = [p for p in expected if verdicts[p].code_calls >= 1]
    browser.wait_for(f"document.querySelectorAll('tr.row').length === {len(with_code)}")
    target = next(p for p in with_code) if with_code else None
    assert target is not None, "the fixture needs a problem with code"

    # open the problem with a click: its trajectories, the first one expanded
    browser.click(f"tr.row[data-id='{target}']")
    browser.wait_for("!!document.querySelector('tr.detail details.sample[open] pre.code')")
    first = run.problems[target].samples[0]
    detail = browser.evaluate(
        """(() => { const d = document.querySelector('tr.detail');
            const open = d.querySelector('details.sample[open]');
            return { samples: d.querySelectorAll('details.sample').length,
                     votes: d.querySelectorAll('table.votes tr').length - 1,
                     code: open.querySelectorAll('pre.code').length,
                     coloured: open.querySelectorAll('pre.code span').length,
                     outputs: open.querySelectorAll('pre.out').length,
                     errors: open.querySelectorAll('.output.err').length,
                     grader: open.querySelector('.box.grader').textContent,
                     critique: (open.querySelector('.box.critique') || {}).textContent || '',
                     text: open.textContent }; })()"""
    )
    assert detail["samples"] == 4 and detail["votes"] == len(verdicts[target].votes)
    assert detail["code"] == sum(s.kind == "code" for s in first.steps) >= 1
    assert detail["outputs"] == sum(s.kind == "output" for s in first.steps) >= 1
    assert detail["errors"] == sum(s.kind == "output" and s.exit_status not in (None, "ok") for s in first.steps)
    assert detail["coloured"] > 0
    assert "Grader:" in detail["grader"] and "policy" in detail["grader"]
    assert first.critique is not None and f"{first.critique.mean_score:g}/10" in detail["critique"]
    code_line = next(s.content for s in first.steps if s.kind == "code").strip().splitlines()[0]
    assert code_line.strip() in detail["text"]

    # the screenshot shows the table and the open trajectory with its code and output
    browser.evaluate("document.querySelector('tr.detail pre.out').scrollIntoView({block: 'center'})")
    boxes = browser.evaluate(
        """(() => { const r = s => { const b = document.querySelector(s).getBoundingClientRect();
                     return [b.left, b.top, b.right, b.bottom]; };
            return { row: r('tr.row.open'), code: r('tr.detail details.sample[open] pre.code'),
                     out: r('tr.detail details.sample[open] pre.out'), vw: innerWidth, vh: innerHeight }; })()"""
    )
    shot = browser.screenshot(tmp_path / "shot.png")
    image = Image.open(io.BytesIO(shot.read_bytes())).convert("RGB")
    assert image.size == (boxes["vw"], boxes["vh"])
    for name in ("code", "out"):
        left, top, right, bottom = boxes[name]
        assert 0 <= top < boxes["vh"] and left >= 0, f"{name} block not in the screenshot: {boxes}"
        y = int(min(bottom, boxes["vh"]) + top) // 2 if bottom > top else int(top)
        y = min(max(int(top) + 3, y), boxes["vh"] - 1)
        border = image.getpixel((int(left) + 1, y))
        inside = image.getpixel((int(left) + 20, y))
        colour = "#0969da" if name == "code" else "#1a7f37"
        if (
            name == "out"
            and detail["errors"]
            and browser.evaluate(
                "document.querySelector('tr.detail details.sample[open] pre.out').classList.contains('err')"
            )
        ):
            colour = "#cf222e"
        assert _rgb_near(border, colour), (name, border)
        assert not _rgb_near(inside, colour)
    assert len(set(image.getdata())) > 50  # a real page, not a blank frame


def test_two_runs_side_by_side_with_change_filters(browser: Chromium, tmp_path: Path) -> None:
    a, b = load_run(SMOL), load_run(QWEN)
    va, vb = run_verdicts(a), run_verdicts(b)
    changes = {}
    for pid in a.problems:
        x, y = va[pid].correct, vb[pid].correct
        changes[pid] = ("both right" if y else "broken") if x else ("fixed" if y else "both wrong")
    page = _view(tmp_path, SMOL, QWEN)
    browser.open(page)
    browser.wait_for("document.body.dataset.ready === '1'")
    assert browser.evaluate("[...document.querySelectorAll('tr.groups th.group')].map(e => e.textContent)") == [
        "A: gsm8k-easy-smollm-k1",
        "B: gsm8k-easy-qwen05-k4",
    ]
    for kind in ("fixed", "broken", "both right", "both wrong"):
        browser.click(f"#pairs button[data-pair='{kind}']")
        ids = browser.evaluate("[...document.querySelectorAll('tr.row')].map(e => e.dataset.id)")
        assert ids == [p for p, c in changes.items() if c == kind], kind
        label = browser.evaluate(f"document.querySelector(\"#pairs button[data-pair='{kind}']\").textContent")
        assert label == f"{kind} ({len(ids)})"
    browser.click("#pairs button[data-pair='all']")
    browser.click("tr.row")
    browser.wait_for("!!document.querySelector('tr.detail .cols.two')")
    panels = browser.evaluate("document.querySelectorAll('tr.detail section.run').length")
    samples = browser.evaluate(
        "[...document.querySelectorAll('tr.detail section.run')].map(s => s.querySelectorAll('details.sample').length)"
    )
    assert panels == 2 and samples == [1, 4]


def test_a_link_opens_its_problem(browser: Chromium, tmp_path: Path) -> None:
    page = _view(tmp_path, QWEN)
    pid = list(load_run(QWEN).problems)[-1]
    browser._events.clear()
    browser.send("Page.navigate", url=page.resolve().as_uri() + "#problem=" + pid.replace("/", "%2F"))
    browser.wait_event("Page.loadEventFired")
    browser.wait_for("!!document.querySelector('tr.detail')")
    assert browser.evaluate("document.querySelector('tr.detail').dataset.id") == pid


HIGHLIGHT_CASES = [
    # (code, [(class, token)] that must be coloured so, [tokens that must stay plain])
    ("x = 1  # one", [("n", "1"), ("c", "# one")], ["x"]),
    ('s = \'a # not a comment\' + "b\\"c"', [("s", "'a # not a comment'"), ("s", '"b\\"c"')], []),
    (
        't = f"{x}" + rb"\\d" + """multi\nline # still"""',
        [("s", 'f"{x}"'), ("s", 'rb"\\d"'), ("s", '"""multi\nline # still"""')],
        [],
    ),
    (
        "@cache\ndef fib(n):\n    return a @b if n else None",
        [("d", "@cache"), ("k", "def"), ("f", "fib"), ("k", "None")],
        ["@b"],
    ),
    ("class Point:\n    pass", [("k", "class"), ("f", "Point"), ("k", "pass")], []),
    (
        "print(len(x1), 0x1F, 3.5e-2, 2j, value2)",
        [("b", "print"), ("b", "len"), ("n", "0x1F"), ("n", "3.5e-2"), ("n", "2j")],
        ["x1", "value2"],
    ),
    ("if a<b and c>d: print('<b>&amp;')", [("k", "and"), ("s", "'<b>&amp;'")], []),
    ("s = 'unterminated\nnext = 2", [("s", "'unterminated"), ("n", "2")], []),
]


@pytest.mark.parametrize("code,coloured,plain", HIGHLIGHT_CASES)
def test_the_page_highlights_python(browser: Chromium, tmp_path: Path, code: str, coloured: list, plain: list) -> None:
    if not browser.evaluate("!!(window.mathagentView && window.mathagentView.highlight)"):
        browser.open(_view(tmp_path, QWEN))
        browser.wait_for("document.body.dataset.ready === '1'")
    spans = browser.evaluate(
        f"""(() => {{ const d = document.createElement('pre');
            d.innerHTML = window.mathagentView.highlight({json.dumps(code)});
            const spans = [...d.querySelectorAll('span')].map(s => [s.className, s.textContent]);
            return {{ text: d.textContent, spans }}; }})()"""
    )
    assert spans["text"] == code  # nothing lost, everything escaped
    for cls, token in coloured:
        assert [cls, token] in spans["spans"], (cls, token, spans["spans"])
    for token in plain:
        assert all(token != text and not text.endswith(token) for _, text in spans["spans"]), (token, spans["spans"])


def test_failed_cells_are_marked_and_named(browser: Chromium, tmp_path: Path) -> None:
    run = load_run(QWEN)
    failing = [
        (t.problem_id, t.sample_index, [s.error for s in t.steps if s.kind == "output" and s.exit_status == "error"])
        for t in run.trajectories()
        if any(s.kind == "output" and s.exit_status == "error" for s in t.steps)
    ]
    assert failing, "the fixture needs a sample whose code raised"
    pid, sample, errors = failing[0]
    page = _view(tmp_path, QWEN)
    browser.open(page)
    browser.wait_for("document.body.dataset.ready === '1'")
    browser.type("input[data-filter='id']", pid)
    browser.wait_for("document.querySelectorAll('tr.row').length === 1")
    browser.click("tr.row")
    selector = f"tr.detail details.sample[data-sample='{sample}']"
    if sample != 0:
        browser.click(f"{selector} > summary")  # open the failing sample as a user does
    browser.wait_for(f"document.querySelector(\"{selector}\").open")
    marked = browser.evaluate(
        f"""[...document.querySelectorAll("{selector} .output.err")].map(o =>
              [o.querySelector('pre.out').classList.contains('err'), o.querySelector('.badge.bad').textContent])"""
    )
    assert marked == [[True, e] for e in errors]
    assert browser.evaluate(f"document.querySelector(\"{selector} > summary\").textContent").count("code error")
