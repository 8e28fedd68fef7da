"""``mathagent collect``: run a collection job (``collect DATASET ...``) and read one (``collect stats DIR``).

Only this module renders (a rich progress bar with ETA, problems per minute, accuracy so far and the
sandbox error rate); the job reports progress through a callback.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from ..console import USER_ERRORS, console, fail, progress
from ..options import (
    BackendOpt,
    BaseUrlOpt,
    CellTimeoutOpt,
    MaxTokensOpt,
    MaxToolCallsOpt,
    ModeOpt,
    SandboxOpt,
    TemperatureOpt,
    agent_config,
    configurable,
)

__all__ = ["app"]


def _is_address(text: str) -> bool:
    return text in ("local", "auto") or "://" in text or re.fullmatch(r"[\w.-]+:\d+", text) is not None


class _CollectGroup(TyperGroup):
    """``collect DATASET ...`` runs a job (the ``run`` command); ``collect stats DIR`` is a subcommand.

    ``--ray`` takes an optional value: ``--ray`` alone is ``--ray local``; the next word is taken as the
    address only when it looks like one (``auto``, ``local``, ``host:port``, ``ray://...``).
    """

    def parse_args(self, ctx, args: list[str]) -> list[str]:
        fixed: list[str] = []
        for i, a in enumerate(args):
            if a == "--ray" and (i + 1 >= len(args) or not _is_address(args[i + 1])):
                fixed.append("--ray=local")
            else:
                fixed.append(a)
        if fixed and fixed[0] not in self.commands and fixed[0] not in ("--help", "-h"):
            fixed = ["run", *fixed]
        return super().parse_args(ctx, fixed)


app = typer.Typer(
    cls=_CollectGroup,
    help="Collect graded (and critiqued) trajectories: resumable, concurrent, on Ray. "
    "'mathagent collect DATASET --model M --samples K --out DIR', 'mathagent collect stats DIR'.",
    no_args_is_help=True,
)


def _parse_opts(items: list[str], option: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise typer.BadParameter(f"{item!r}: expected KEY=VALUE", param_hint=option)
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


def _fmt_eta(seconds: float | None) -> str:
    if seconds is None:
        return "-:--:--"
    s = int(seconds)
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


@app.command("run")
@configurable
def run(
    dataset: Annotated[str, typer.Argument(help="Dataset: JSONL/JSON/Parquet file, gsm8k, math500 or hf:<name>.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Collection folder (resumable).")],
    model: Annotated[str, typer.Option("--model", "-m", help="Policy model: alias, .gguf, checkpoint, hub id.")] = (
        "qwen2.5-coder-1.5b"
    ),
    samples: Annotated[int, typer.Option("--samples", "-k", min=1, help="Trajectories per problem (K).")] = 4,
    critic: Annotated[str | None, typer.Option(help="Critic model (Math-Critique); none: no critique.")] = None,
    critic_backend: Annotated[str, typer.Option(help="Backend of the critic model.")] = "auto",
    critic_base_url: Annotated[str | None, typer.Option(help="Server URL for an openai critic.")] = None,
    critic_reference: Annotated[bool, typer.Option(help="Give the critic the reference answer.")] = True,
    critic_max_tokens: Annotated[int | None, typer.Option(help="Most tokens of one critique.")] = None,
    critic_samples: Annotated[int | None, typer.Option(help="Critiques per trajectory (score: their mean).")] = None,
    backend: BackendOpt = "auto",
    base_url: BaseUrlOpt = None,
    backend_opt: Annotated[
        list[str], typer.Option(help="Backend option KEY=VALUE (repeatable), e.g. enforce_eager=true.")
    ] = [],  # noqa: B006 - typer needs a literal default
    split: Annotated[str | None, typer.Option(help="Split, for known and hub datasets.")] = None,
    field: Annotated[
        list[str],
        typer.Option(help="Field mapping of a generic file, ROLE=FIELD (roles: question, answer, id, solution)."),
    ] = [],  # noqa: B006 - typer needs a literal default
    limit: Annotated[int | None, typer.Option(min=1, help="First N problems only (may grow on resume).")] = None,
    skip_bad: Annotated[bool, typer.Option(help="Skip malformed dataset records instead of stopping.")] = False,
    mode: ModeOpt = None,
    temperature: TemperatureOpt = None,
    seed: Annotated[int | None, typer.Option(help="Sampling seed; sample i uses seed + i.", show_default="0")] = None,
    max_tool_calls: MaxToolCallsOpt = None,
    max_tokens: MaxTokensOpt = None,
    cell_timeout: CellTimeoutOpt = None,
    concurrency: Annotated[int, typer.Option(min=1, help="Trajectories in flight (per Ray worker).")] = 4,
    sandbox: SandboxOpt = "jail",
    threads: Annotated[int | None, typer.Option(help="CPU threads for in-process models.")] = None,
    max_error_rate: Annotated[float, typer.Option(help="Stop when this share of code cells fail in the sandbox.")] = (
        0.2
    ),
    min_cells: Annotated[int, typer.Option(help="Cells run before the error-rate stop applies.")] = 50,
    model_retries: Annotated[int, typer.Option(help="Retries of a failing model call (exponential backoff).")] = 3,
    manifest_every: Annotated[float, typer.Option(help="Seconds between manifest updates while running.")] = 5.0,
    ray: Annotated[
        str | None, typer.Option(help="Run on Ray: --ray (local), --ray auto, --ray host:port, --ray ray://host:port.")
    ] = None,
    ray_workers: Annotated[int | None, typer.Option(help="Ray workers (default: cluster CPUs / --ray-cpus).")] = None,
    ray_cpus: Annotated[float, typer.Option(help="CPUs per Ray worker.")] = 1.0,
    ray_gpus: Annotated[float, typer.Option(help="GPUs per Ray worker.")] = 0.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the final manifest counts as JSON.")] = False,
) -> None:
    """Sample K trajectories per problem, grade them, critique them (--critic), write shards + manifest.json.

    Killed at any moment, the same command resumes where it stopped (nothing lost, nothing twice).
    """
    from training.collect.runner import run_collection
    from training.collect.spec import CollectOptions, CollectSpec, SandboxErrorRateExceeded

    bar = progress(
        "collect",
        "{task.fields[rate]} problems/min",
        "acc",
        "sandbox err {task.fields[err]}",
        elapsed=True,
        eta="field",
    )
    task = bar.add_task("collect", total=None, rate="-", acc="-", err="-", eta="-")

    def stop(exc: Exception, code: int = 2) -> None:
        bar.stop()
        fail(str(exc).replace("pass skip_bad=True", "use --skip-bad"), code)

    try:
        spec = CollectSpec(
            dataset=dataset,
            split=split,
            fields={k: str(v) for k, v in _parse_opts(field, "--field").items()} or None,
            model=model,
            backend=backend,
            backend_options=_parse_opts(backend_opt, "--backend-opt"),
            agent=agent_config(locals(), base={"seed": 0}),
            critic=critic,
            critic_backend=critic_backend,
            critic_reference=critic_reference,
            critic_config={
                k: v for k, v in (("max_tokens", critic_max_tokens), ("samples", critic_samples)) if v is not None
            },
        )
        options = CollectOptions(
            limit=limit,
            skip_bad=skip_bad,
            concurrency=concurrency,
            sandbox=sandbox,
            threads=threads,
            base_url=base_url,
            critic_base_url=critic_base_url,
            max_error_rate=max_error_rate,
            min_cells=min_cells,
            model_retries=model_retries,
            manifest_every=manifest_every,
            ray=ray,
            ray_workers=ray_workers,
            ray_cpus=ray_cpus,
            ray_gpus=ray_gpus,
        )
    except USER_ERRORS as exc:
        stop(exc)

    def on_progress(p) -> None:
        bar.start()  # shown once the problems are loaded and the spec checked
        bar.update(
            task,
            completed=p.problems_done,
            total=p.problems_total,
            rate=f"{p.problems_per_min:.1f}" if p.problems_run else "-",
            acc="-" if p.accuracy is None else f"{p.accuracy:.1%}",
            err=f"{p.sandbox_error_rate:.1%} of {p.cells}",
            eta=_fmt_eta(p.eta_seconds),
        )

    try:
        try:
            manifest = run_collection(spec, out, options, on_progress=on_progress)
        finally:
            bar.stop()
    except SandboxErrorRateExceeded as exc:
        stop(exc, 3)
    except USER_ERRORS as exc:
        stop(exc)
    if as_json:
        print(json.dumps(manifest.counts, indent=2))
        return
    _print_summary(manifest, out)


def _print_summary(manifest, out: Path) -> None:
    from rich.table import Table

    c = manifest.counts
    run = c.get("this_run", {})
    table = Table(title=f"collection {out} ({manifest.status})", show_header=False)
    table.add_column("what")
    table.add_column("value", justify="right")
    acc = c.get("accuracy")
    rows = [
        ("problems", f"{c['problems_done']} of {c['problems_total']}"),
        ("trajectories", str(c["trajectories"])),
        ("accuracy (graded)", "-" if acc is None else f"{acc:.1%} of {c['graded']}"),
        ("critiqued", str(c["critiqued"])),
        ("status", ", ".join(f"{k} {v}" for k, v in c["status"].items()) or "-"),
        ("sandbox errors", f"{c['sandbox_errors']} of {c['cells']} cells"),
        (
            "this run",
            f"{run.get('problems_run', 0)} problems in {run.get('elapsed', 0):.0f} s "
            f"({run.get('problems_per_min', 0):.1f}/min)",
        ),
        ("shards", ", ".join(s["name"] for s in manifest.shards) or "-"),
    ]
    for k, v in rows:
        table.add_row(k, v)
    console.print(table)
    console.print(f"stats: mathagent collect stats {out}")


@app.command("stats")
def stats(
    path: Annotated[Path, typer.Argument(help="Collection folder (or an eval run folder).")],
    histogram: Annotated[Path | None, typer.Option(help="Critic score PNG (default DIR/critic_scores.png).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print everything as JSON.")] = False,
) -> None:
    """Counts, accuracy, pass@k / maj@k, code use, sandbox errors and a critic score histogram (PNG)."""
    from rich.table import Table

    from training.collect.stats import collection_stats

    try:
        s = collection_stats(path, histogram=histogram)
    except USER_ERRORS as exc:
        fail(exc)
    if as_json:
        print(json.dumps(s, indent=2))
        return
    c = s["counts"]
    table = Table(title=f"{path}", show_header=False)
    table.add_column("what")
    table.add_column("value", justify="right")
    table.add_row("problems", str(c["problems"]))
    table.add_row("trajectories", str(c["trajectories"]))
    table.add_row("status", ", ".join(f"{k} {v}" for k, v in c["status"].items()) or "-")
    if s["metrics"]:
        for name, v in s["metrics"]["overall"].items():
            ci = "" if v["ci_low"] is None else f"  [{100 * v['ci_low']:.1f}, {100 * v['ci_high']:.1f}]"
            table.add_row(name, f"{100 * v['value']:.1f} %{ci}")
    a = s["agent"]
    table.add_row("code use", f"{100 * a['code_use']:.1f} %")
    table.add_row("sandbox error rate", f"{100 * a['sandbox_error_rate']:.1f} % of cells")
    table.add_row("critiqued", str(c["critiqued"]))
    crit = s["critic"]
    if c["critiqued"]:
        hist = " ".join(f"{k}:{v}" for k, v in crit["histogram"].items() if v)
        table.add_row("critic scores", hist or "-")
        for key, label in (("mean_score_correct", "mean score, correct"), ("mean_score_wrong", "mean score, wrong")):
            if crit[key] is not None:
                table.add_row(label, f"{crit[key]:.2f}")
    if s["manifest"]:
        table.add_row("job status", s["manifest"]["status"])
    console.print(table)
    if s["histogram"]:
        console.print(f"critic score histogram: {s['histogram']}")
