"""The run browser page: one self-contained HTML file (styles, script and data inlined; no server, no network).

The page is rendered with Jinja2 from ``assets/page.html.j2``; its script (``assets/page.js``, plain
JavaScript, no library) builds the problem table from the JSON data of :mod:`eval.view.payload` and
highlights a problem's Python code when the problem is opened (a small tokenizer: comments, strings,
numbers, keywords, builtins, definitions, decorators), so a page of thousands of problems is built in
seconds and tokenizes only what is looked at. A Content-Security-Policy
meta tag forbids every network request, so the file behaves the same offline, from an e-mail or from
a CI artifact.

Example:
    >>> from eval.trajectory import Trajectory
    >>> from eval.runs.load import run_from_trajectories
    >>> t = Trajectory(problem_id="g/1", question="1+1?", reference="2", model="m", answer="2", correct=True)
    >>> run = run_from_trajectories([t])
    >>> page = render_view([run], reasons=False)
    >>> page.startswith("<!doctype html>"), "src=" in page, '"g/1"' in page
    (True, False, True)
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from common.files import atomic_write_text

from ..runs.load import Run
from ..runs.verdicts import ProblemVerdict
from .payload import build_payload

__all__ = ["VIEW_FILE", "page_json", "render_view", "write_view"]

#: The page's default file name inside a run folder.
VIEW_FILE = "view.html"


@lru_cache(maxsize=1)
def _asset(name: str) -> str:
    return resources.files(__package__).joinpath("assets", name).read_text(encoding="utf-8")


def page_json(data: Any) -> str:
    """``data`` as JSON that is safe inside a ``<script>`` element (no ``</`` or ``<!--`` in it).

    Example:
        >>> page_json({"x": "</script><!--"})
        '{"x":"<\\\\/script><\\\\u0021--"}'
    """
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return text.replace("</", "<\\/").replace("<!--", "<\\u0021--")


def render_view(
    runs: Sequence[Run],
    *,
    title: str | None = None,
    verdicts: Sequence[Mapping[str, ProblemVerdict]] | None = None,
    policy: str | None = None,
    reasons: bool = True,
) -> str:
    """The HTML of the browser of one run, or of two runs side by side.

    Args:
        runs: One or two runs.
        title: The page title (default: the runs' names).
        verdicts: Their problem verdicts, if already computed.
        policy: Grading policy for vote classes and the grader's reasons (default: each run's or benchmark's).
        reasons: Include today's grader's reason for each sample.
    """
    from jinja2 import Environment
    from markupsafe import Markup

    from ..grade import grader_version

    data = build_payload(runs, verdicts=verdicts, policy=policy, reasons=reasons)
    env = Environment(autoescape=True, keep_trailing_newline=True)
    template = env.from_string(_asset("page.html.j2"))
    name = title or " vs ".join(r.name for r in runs)
    return template.render(
        title=name if title else f"Run browser: {name}",
        generator=f"mathagent view ({grader_version()})",
        css=Markup(_asset("page.css")),
        js=Markup(_asset("page.js")),
        data=Markup(page_json(data)),
    )


def write_view(
    runs: Sequence[Run],
    out: str | Path | None = None,
    *,
    title: str | None = None,
    verdicts: Sequence[Mapping[str, ProblemVerdict]] | None = None,
    policy: str | None = None,
    reasons: bool = True,
) -> Path:
    """Write the browser page (default: ``view.html`` in the first run's folder) and return its path."""
    if out is None:
        first = runs[0]
        folder = first.path.parent if first.kind == "file" else first.path
        out = folder / VIEW_FILE
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    html = render_view(runs, title=title, verdicts=verdicts, policy=policy, reasons=reasons)
    atomic_write_text(out, html)
    return out
