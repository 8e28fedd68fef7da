"""Looking at runs: ``mathagent view``, ``compare``, ``rescore`` and ``audit``.

Each reads an eval run folder (``mathagent eval --out``) or a collection folder (``mathagent collect
--out``; its shards are read here, above the eval core, and passed in). None of them loads a model.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ..console import USER_ERRORS, console, err_console, fail

if TYPE_CHECKING:
    from eval.runs import Run

__all__ = ["audit_cmd", "compare_cmd", "load_any_run", "rescore_cmd", "view_cmd"]

PolicyOpt = Annotated[
    str | None,
    typer.Option(
        help="Grading policy preset (default, math, gsm8k, aime, choice, strict). "
        "Default: the policy the run recorded, else each benchmark's own."
    ),
]


def load_any_run(path: str | Path) -> Run:
    """An eval run folder, a collection folder or a trajectories file, as a :class:`eval.runs.Run`."""
    from eval.runs import load_run
    from eval.runs.load import run_kind

    if run_kind(path) == "collection":
        from training.collect import read_collection

        return load_run(path, records=read_collection(path))
    return load_run(path)


def _size(path: Path) -> str:
    n = path.stat().st_size
    return f"{n / 1e6:.1f} MB" if n >= 1e6 else f"{n / 1e3:.0f} kB"


def view_cmd(
    run: Annotated[str, typer.Argument(help="An eval run folder, a collection folder or a trajectories file.")],
    run2: Annotated[str | None, typer.Argument(help="A second run, shown side by side with the first.")] = None,
    out: Annotated[
        str | None,
        typer.Option("--out", "-o", help="The HTML file (default: RUN/view.html, or RUN/view-vs-RUN2.html)."),
    ] = None,
    title: Annotated[str | None, typer.Option(help="The page title.")] = None,
    policy: PolicyOpt = None,
    reasons: Annotated[
        bool, typer.Option("--reasons/--no-reasons", help="Ask today's grader why each sample is right or wrong.")
    ] = True,
) -> None:
    """Write a self-contained HTML browser of a run (or two side by side): filter, search, open trajectories."""
    from eval.runs import run_verdicts
    from eval.view import VIEW_FILE, write_view

    try:
        runs = [load_any_run(run)] + ([load_any_run(run2)] if run2 else [])
        if out is None:
            first = runs[0]
            folder = first.path.parent if first.kind == "file" else first.path
            out = str(folder / (VIEW_FILE if run2 is None else f"view-vs-{runs[1].name}.html"))
        verdicts = [run_verdicts(r, policy=policy) for r in runs]
        path = write_view(runs, out, title=title, verdicts=verdicts, policy=policy, reasons=reasons)
    except USER_ERRORS as exc:
        fail(exc)
    n = len({pid for r in runs for pid in r.problems})
    console.print(f"{path} ({_size(path)}, {n} problems): open it in a browser", highlight=False, soft_wrap=True)


def compare_cmd(
    run_a: Annotated[str, typer.Argument(help="The baseline run (A).")],
    run_b: Annotated[str, typer.Argument(help="The run compared with it (B): 'fixed' means right in B only.")],
    json_out: Annotated[
        str | None, typer.Option("--json", help="Also write the numbers as JSON to this file.")
    ] = None,
    out: Annotated[
        str | None, typer.Option("--out", "-o", help="Also write the markdown tables to this file.")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="What to print: markdown | json.")] = "markdown",
    policy: PolicyOpt = None,
    bootstrap: Annotated[int, typer.Option(min=0, help="Bootstrap resamples of the interval (0: none).")] = 10000,
    seed: Annotated[int, typer.Option(help="The bootstrap's seed.")] = 0,
) -> None:
    """Compare two runs problem by problem: fixed / broken / both, exact McNemar p, paired bootstrap CI."""
    from common.files import atomic_write_text
    from eval.runs import compare_runs, comparison_markdown

    if fmt not in ("markdown", "json"):
        fail(f"--format must be markdown or json, not {fmt!r}")
    try:
        a, b = load_any_run(run_a), load_any_run(run_b)
        result = compare_runs(a, b, policy=policy, n_bootstrap=bootstrap, seed=seed)
        data = result.model_dump(mode="json")
        text = comparison_markdown(result)
        if json_out:
            atomic_write_text(Path(json_out), json.dumps(data, indent=2) + "\n")
        if out:
            atomic_write_text(Path(out), f"# {a.name} vs {b.name}\n\n" + text)
    except USER_ERRORS as exc:
        fail(exc)
    if not result.overall.n:
        err_console.print("[yellow]warning:[/] the runs share no gradable problem")
    if fmt == "json":
        console.print_json(data=data)
    else:
        console.print(text, markup=False, highlight=False, soft_wrap=True)


def rescore_cmd(
    run: Annotated[str, typer.Argument(help="An eval run folder, a collection folder or a trajectories file.")],
    out: Annotated[
        str | None, typer.Option("--out", "-o", help="The rescored run's folder (default: RUN/rescored).")
    ] = None,
    policy: PolicyOpt = None,
    reextract: Annotated[
        bool, typer.Option(help="Read each answer again from the stored response with today's extractor.")
    ] = False,
    bootstrap: Annotated[int, typer.Option(min=0, help="Bootstrap resamples of the report's intervals.")] = 1000,
    show: Annotated[int, typer.Option(min=0, help="Changed verdicts to print (all are in changes.jsonl).")] = 50,
) -> None:
    """Re-grade a run's stored trajectories with today's grader and policy (no generation); list what changed."""
    from eval.runs import rescore_run, write_rescore
    from eval.runs.rescore import RESCORED, changes_markdown

    try:
        source = load_any_run(run)
        result = rescore_run(source, policy=policy, reextract=reextract)
        new = write_rescore(source, result, out, policy=policy, reextract=reextract, n_bootstrap=bootstrap)
    except USER_ERRORS as exc:
        fail(exc)
    folder = Path(out) if out else (source.path / RESCORED if source.kind != "file" else None)
    before = (source.metrics.get("overall") or {}).get("accuracy", {}).get("value")
    after = new["overall"].get("accuracy", {}).get("value")
    acc = f"accuracy {after:.1%}" if after is not None else "no gradable sample"
    if before is not None and after is not None:
        acc = f"accuracy {before:.1%} -> {after:.1%} ({100 * (after - before):+.1f} pts)"
    console.print(
        f"{len(result.trajectories)} samples re-graded with {result.grader}: "
        f"{len(result.changes)} verdict(s) changed; {acc}",
        highlight=False,
        soft_wrap=True,
    )
    if result.changes:
        console.print(changes_markdown(result.changes, limit=show), markup=False, highlight=False, soft_wrap=True)
    where = folder if folder is not None else source.path.with_name(source.path.name + ".rescored")
    console.print(
        f"written: {where} (report.md, metrics.json, changes.jsonl, trajectories.jsonl)",
        highlight=False,
        soft_wrap=True,
    )


def audit_cmd(
    run: Annotated[str, typer.Argument(help="An eval run or collection folder with several samples per problem.")],
    min_share: Annotated[
        float, typer.Option(min=0.5, max=1.0, help="Share of all samples the majority answer needs.")
    ] = 0.75,
    min_samples: Annotated[int, typer.Option(min=2, help="Samples a problem needs to be audited.")] = 4,
    min_critic: Annotated[
        float | None, typer.Option(min=1.0, max=10.0, help="Keep only majorities the critic scores at least this.")
    ] = None,
    policy: PolicyOpt = None,
    out: Annotated[
        str | None, typer.Option("--out", "-o", help="Folder of audit.md, audit.json and view.html (default: RUN).")
    ] = None,
    view: Annotated[bool, typer.Option("--view/--no-view", help="Also write the browser the links open.")] = True,
) -> None:
    """List problems whose reference answer is suspect: a clear majority of samples agrees on another answer."""
    from common.files import atomic_write_text
    from eval.runs import AuditSettings, audit_labels, audit_markdown, run_verdicts
    from eval.view import VIEW_FILE, write_view

    try:
        settings = AuditSettings(min_share=min_share, min_samples=min_samples, min_critic=min_critic)
        source = load_any_run(run)
        folder = Path(out) if out else (source.path.parent if source.kind == "file" else source.path)
        verdicts = run_verdicts(source, policy=policy)
        suspects = audit_labels(source, settings, verdicts=verdicts)
        audited = sum(v.n_samples >= settings.min_samples for v in verdicts.values())
        body = audit_markdown(suspects, settings, view=VIEW_FILE if view else None)
        folder.mkdir(parents=True, exist_ok=True)
        atomic_write_text(folder / "audit.md", f"# Suspect references: {source.name}\n\n{body}\n")
        payload = {
            "run": str(source.path),
            "settings": settings.model_dump(),
            "audited_problems": audited,
            "suspects": [s.model_dump() for s in suspects],
        }
        atomic_write_text(folder / "audit.json", json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
        if view:
            write_view([source], folder / VIEW_FILE, verdicts=[verdicts], policy=policy)
    except USER_ERRORS as exc:
        fail(exc)
    if not audited:
        err_console.print(f"[yellow]warning:[/] no problem has {settings.min_samples} samples: nothing to audit")
    console.print(
        f"{len(suspects)} suspect reference(s) among {audited} audited problems", highlight=False, soft_wrap=True
    )
    console.print(audit_markdown(suspects, settings), markup=False, highlight=False, soft_wrap=True)
    console.print(
        f"written: {folder / 'audit.md'}, {folder / 'audit.json'}" + (f", {folder / VIEW_FILE}" if view else ""),
        highlight=False,
        soft_wrap=True,
    )
