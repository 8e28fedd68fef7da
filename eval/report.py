"""Eval reports: ``metrics.json``, ``predictions.jsonl``, ``report.md`` (markdown tables) and PNG plots.

Plots are drawn with matplotlib's object API on an Agg canvas (no pyplot, no global backend switch),
so reports can be written from any thread. Later work adds sections through ``extra_sections``
(``[(title, markdown_body), ...]``, e.g. a critic-agreement table) and numbers through
``extra_metrics``.

Example:
    >>> import tempfile
    >>> from eval.metrics import SampleRecord
    >>> recs = [SampleRecord(problem_id="p1", pred="2", correct=True, subject="Algebra", level="1")]
    >>> m = write_report(tempfile.mkdtemp(), recs, equivalent=lambda a, b: a == b, n_bootstrap=0)
    >>> m["overall"]["accuracy"]["value"]
    1.0
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from common.files import atomic_open, atomic_write_text

from .metrics import Metrics, MetricValue, SampleRecord, compute_metrics

__all__ = ["write_report", "render_markdown", "REPORT_FILES"]

logger = logging.getLogger(__name__)

REPORT_FILES = (
    "metrics.json",
    "predictions.jsonl",
    "report.md",
    "accuracy_vs_k.png",
    "per_subject.png",
    "per_level.png",
)

_FAMILIES = (("pass", "pass@k"), ("maj", "maj@k"), ("weighted_maj", "weighted maj@k"), ("rerank", "rerank@k"))


class _NoPlot(Exception):
    """A plot with nothing to draw: its temp file is dropped and an older plot left as it is."""


def _pct(v: float | None) -> str:
    return "" if v is None else f"{100 * v:.1f}"


def _ci(m: MetricValue) -> str:
    return "" if m.ci_low is None else f"[{_pct(m.ci_low)}, {_pct(m.ci_high)}]"


def _table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _breakdown(groups: Mapping[str, Mapping[str, MetricValue]], label: str, k_max: int | None) -> str:
    cols = ["accuracy"] + ([f"maj@{k_max}"] if k_max and k_max > 1 else [])
    header = [label, "problems"] + [f"{c} (%)" for c in cols] + ["95% CI (accuracy)"]
    rows = []
    for name, ms in groups.items():
        acc = ms["accuracy"]
        rows.append([name, acc.n] + [_pct(ms[c].value) if c in ms else "" for c in cols] + [_ci(acc)])
    return _table(header, rows)


def render_markdown(
    metrics: Metrics,
    *,
    title: str = "Evaluation report",
    extra_metrics: Mapping[str, Any] | None = None,
    extra_sections: Sequence[tuple[str, str]] = (),
    plots: Sequence[str] = (),
) -> str:
    """The markdown text of ``report.md``.

    Example:
        >>> m = Metrics(n_problems=1, n_samples=1, n_skipped_problems=0, n_no_answer=0, ks=[1],
        ...             overall={"accuracy": MetricValue(value=1.0, n=1)})
        >>> "| accuracy | 100.0 |" in render_markdown(m, extra_sections=[("Critic", "agrees")])
        True
    """
    out = [f"# {title}", ""]
    head = ["problems", "samples", "skipped problems (ungradable gold)", "samples without answer", "grader"]
    row = [metrics.n_problems, metrics.n_samples, metrics.n_skipped_problems, metrics.n_no_answer, metrics.grader]
    if "accuracy" in metrics.overall:
        head.insert(0, "accuracy (%)")
        row.insert(0, _pct(metrics.overall["accuracy"].value))
    if extra_metrics and "code_use" in extra_metrics:  # an agent run: how often code ran, beside accuracy
        head.insert(1, "code use (%)")
        row.insert(1, _pct(float(extra_metrics["code_use"])))
    out += [
        _table(head, [row]),
        "",
        "## Overall",
        "",
        _table(
            ["metric", "value (%)", "95% CI", "problems"],
            [[name, _pct(m.value), _ci(m), m.n] for name, m in metrics.overall.items()],
        ),
        "",
    ]
    curves = {fam: metrics.curve(fam) for fam, _ in _FAMILIES}
    curves = {fam: c for fam, c in curves.items() if c}
    if metrics.ks and curves:
        out += ["## Accuracy vs k", ""]
        out.append(
            _table(
                ["k"] + [label for fam, label in _FAMILIES if fam in curves],
                [[k] + [_pct(curves[fam].get(k)) for fam, _ in _FAMILIES if fam in curves] for k in metrics.ks],
            )
        )
        out.append("")
    k_max = max(metrics.ks) if metrics.ks else None
    if metrics.by_subject:
        out += ["## By subject", "", _breakdown(metrics.by_subject, "subject", k_max), ""]
    if metrics.by_level:
        out += ["## By level", "", _breakdown(metrics.by_level, "level", k_max), ""]
    if extra_metrics:
        out += ["## Other measures", "", _table(["measure", "value"], [[k, v] for k, v in extra_metrics.items()]), ""]
    for plot in plots:
        out += [f"![{plot}]({plot})", ""]
    for heading, body in extra_sections:
        out += [f"## {heading}", "", body.rstrip(), ""]
    return "\n".join(out)


def _plot_curves(metrics: Metrics, path: Path | IO[bytes]) -> bool:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    curves = [(label, metrics.curve(fam)) for fam, label in _FAMILIES]
    curves = [(label, c) for label, c in curves if c]
    if not curves:
        return False
    fig = Figure(figsize=(6, 4), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for label, c in curves:
        ks = sorted(c)
        ax.plot(ks, [100 * c[k] for k in ks], marker="o", label=label)
    ax.set_xscale("log", base=2)
    ax.set_xticks(metrics.ks, [str(k) for k in metrics.ks])
    ax.set_xlabel("k (samples)")
    ax.set_ylabel("accuracy (%)")
    ax.set_ylim(0, 100)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, format="png")
    return True


def _plot_groups(groups: Mapping[str, Mapping[str, MetricValue]], label: str, path: Path | IO[bytes]) -> bool:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if not groups:
        return False
    names = list(groups)
    vals = [100 * groups[n]["accuracy"].value for n in names]
    lo = [
        100 * (groups[n]["accuracy"].value - (groups[n]["accuracy"].ci_low or groups[n]["accuracy"].value))
        for n in names
    ]
    hi = [
        100 * ((groups[n]["accuracy"].ci_high or groups[n]["accuracy"].value) - groups[n]["accuracy"].value)
        for n in names
    ]
    fig = Figure(figsize=(max(5, 1 + 0.9 * len(names)), 4), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.bar(range(len(names)), vals, yerr=[lo, hi], capsize=3, color="#4C72B0")
    ax.set_xticks(range(len(names)), names, rotation=30, ha="right")
    ax.set_ylabel("accuracy (%)")
    ax.set_xlabel(label)
    ax.set_ylim(0, 100)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, format="png")
    return True


def write_report(
    out_dir: str | Path,
    records: Iterable[SampleRecord],
    *,
    metrics: Metrics | None = None,
    problems: Mapping[str, Any] | None = None,
    extra_metrics: Mapping[str, Any] | None = None,
    extra_sections: Sequence[tuple[str, str]] = (),
    extra_data: Mapping[str, Any] | None = None,
    title: str = "Evaluation report",
    ks: Sequence[int] | None = None,
    equivalent: Callable[[str, str], bool] | None = None,
    n_bootstrap: int = 1000,
    seed: int = 0,
) -> dict[str, Any]:
    """Compute the metrics (unless given) and write the report files into ``out_dir``.

    Writes ``metrics.json``, ``predictions.jsonl`` (one :class:`SampleRecord` per line),
    ``report.md`` and the plots ``accuracy_vs_k.png`` (pass/maj/rerank vs k) and
    ``per_subject.png`` / ``per_level.png`` (when the records have subjects / levels). Each file is
    written to a temporary name and renamed, so a reader never sees half a file.

    Args:
        out_dir: Output folder (created).
        records: The graded samples.
        metrics: Precomputed metrics (else :func:`~eval.metrics.compute_metrics` is called).
        problems: ``{problem_id: Problem}``, used to fill ``gold`` in ``predictions.jsonl``.
        extra_metrics: More numbers for ``metrics.json`` (under ``"extra"``) and a report table.
        extra_sections: ``(title, markdown)`` sections appended to ``report.md``.
        extra_data: More top-level entries of ``metrics.json`` (not rendered: pair them with a section),
            e.g. ``{"critic_agreement": {...}}``.
        title: The report's title.
        ks, equivalent, n_bootstrap, seed: Passed to :func:`~eval.metrics.compute_metrics`.

    Returns:
        The content of ``metrics.json`` as a dict.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    records = list(records)
    if problems:
        records = [
            r.model_copy(update={"gold": getattr(problems.get(r.problem_id), "answer", None)})
            if r.gold is None and r.problem_id in problems
            else r
            for r in records
        ]
    if metrics is None:
        metrics = compute_metrics(records, ks=ks, equivalent=equivalent, n_bootstrap=n_bootstrap, seed=seed)
    data: dict[str, Any] = metrics.model_dump(mode="json")
    if extra_metrics:
        data["extra"] = dict(extra_metrics)
    for key, value in (extra_data or {}).items():
        if key in data:
            raise ValueError(f"extra_data key {key!r} would overwrite a metrics.json entry")
        data[key] = value
    atomic_write_text(out / "metrics.json", json.dumps(data, indent=2, default=str) + "\n")
    lines = "".join(r.model_dump_json() + "\n" for r in sorted(records, key=lambda r: (r.problem_id, r.sample)))
    atomic_write_text(out / "predictions.jsonl", lines)
    plots = []
    for name, draw in (
        ("accuracy_vs_k.png", lambda p: _plot_curves(metrics, p)),
        ("per_subject.png", lambda p: _plot_groups(metrics.by_subject, "subject", p)),
        ("per_level.png", lambda p: _plot_groups(metrics.by_level, "level", p)),
    ):
        try:
            with atomic_open(out / name) as f:
                if not draw(f):
                    raise _NoPlot
            plots.append(name)
        except _NoPlot:
            pass
    md = render_markdown(metrics, title=title, extra_metrics=extra_metrics, extra_sections=extra_sections, plots=plots)
    atomic_write_text(out / "report.md", md)
    logger.info("report written to %s", out)
    return data
