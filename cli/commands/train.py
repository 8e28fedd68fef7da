"""``mathagent train ...``: SFT, RFT, DPO, critic and verifier jobs, dataset building, and the pipeline.

Every job takes an optional YAML config (``configs/train/*.yaml``), then command-line options, then
``--set key.sub=value`` overrides. Heavy libraries load inside the commands, so ``--help`` is fast.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from common.errors import MathAgentError

from ..console import USER_ERRORS, console, fail, progress

__all__ = ["app"]

app = typer.Typer(
    help="Fine-tune the model on its own trajectories: sft, rft, dpo, critic, verifier, data, pipeline.",
    no_args_is_help=True,
)

ConfigArg = Annotated[str | None, typer.Argument(help="YAML config (configs/train/<job>.yaml); options override it.")]
ModelOpt = Annotated[str | None, typer.Option("--model", "-m", help="Model to start from (alias, file, folder).")]
DataOpt = Annotated[
    list[str] | None,
    typer.Option("--data", "-d", help="Collection / eval run folder, JSONL file (Trajectory or ToRA) or glob."),
]
OutOpt = Annotated[str | None, typer.Option("--out", "-o", help="Output folder (the model lands in OUT/model).")]
SetOpt = Annotated[list[str] | None, typer.Option("--set", "-s", help="Override a field: train.max_steps=20.")]
ForceOpt = Annotated[bool, typer.Option("--force", help="Train again even if OUT/result.json says it is done.")]

_JOBS = {
    "sft": ("training.sft_config", "SFTJobConfig", "training.sft", "run_sft"),
    "rft": ("training.sft_config", "RFTJobConfig", "training.rft", "run_rft"),
    "dpo": ("training.dpo_config", "DPOJobConfig", "training.dpo", "run_dpo"),
    "critic": ("training.critic_config", "CriticJobConfig", "training.critic", "run_critic"),
    "verifier": ("training.verifier_config", "VerifierJobConfig", "training.verifier", "run_verifier"),
}


def _quiet_libraries() -> None:
    try:
        import datasets
        import transformers

        transformers.logging.set_verbosity_error()
        transformers.utils.logging.disable_progress_bar()
        datasets.disable_progress_bars()
        datasets.logging.set_verbosity_error()
    except ImportError:
        pass
    logging.getLogger("httpx").setLevel(logging.WARNING)


def _progress():
    return progress(None, "info")


def _print_result(res) -> None:
    table = Table(title=f"{res.job}: {res.model_path}", show_header=False)
    table.add_row("data", res.report.summary())
    table.add_row("examples", str(res.examples))
    table.add_row("tokens (with loss / total)", f"{res.tokens.get('with_loss', 0)} / {res.tokens.get('total', 0)}")
    table.add_row("steps", str(res.steps))
    if res.losses:
        table.add_row("loss (first -> last)", f"{res.losses[0]:.4f} -> {res.losses[-1]:.4f}")
    table.add_row("seconds", f"{res.seconds:.1f}")
    console.print(table)
    if res.job == "critic":
        hint = f"mathagent solve '...' --samples 4 --critic-model {res.model_path}"
    elif res.job == "verifier":
        hint = f"python: Agent(..., critic=training.verifier.ValueVerifier('{res.model_path}'))"
    else:
        hint = f"mathagent solve '...' --model {res.model_path} --backend transformers"
    console.print(f"use it: [cyan]{hint}[/]")


def _run_job(kind: str, config, model, data, out, overrides, force) -> None:
    import importlib

    from training.config import load_config

    cfg_mod, cfg_cls, run_mod, run_fn = _JOBS[kind]
    _quiet_libraries()
    try:
        cls = getattr(importlib.import_module(cfg_mod), cfg_cls)
        fields = {"model": {"name": model} if model else None, "data": list(data) if data else None, "output_dir": out}
        cfg = load_config(cls, config, overrides or [], **fields)
        runner = getattr(importlib.import_module(run_mod), run_fn)
        progress = _progress()
        task = progress.add_task(kind, total=None, info="")

        def on_progress(step: int, total: int, logs: dict) -> None:
            loss = logs.get("loss")
            progress.update(task, completed=step, total=total or None, info=f"loss {loss:.4f}" if loss else "")

        with progress:
            res = runner(cfg, on_progress=on_progress, force=force)
    except USER_ERRORS as exc:
        fail(exc)
    _print_result(res)


def _job_command(kind: str, doc: str):
    def command(
        config: ConfigArg = None,
        model: ModelOpt = None,
        data: DataOpt = None,
        out: OutOpt = None,
        overrides: SetOpt = None,
        force: ForceOpt = False,
    ) -> None:
        _run_job(kind, config, model, data, out, overrides, force)

    command.__doc__ = doc
    return command


app.command("sft")(_job_command("sft", "SFT on trajectories (prompt and interpreter output masked)."))
app.command("rft")(_job_command("rft", "Rejective fine-tuning on correct, critic-accepted, de-duplicated samples."))
app.command("dpo")(_job_command("dpo", "DPO on (chosen, rejected) pairs by correctness and critic score."))
app.command("critic")(_job_command("critic", "Fine-tune a critic on the model's own critiques (critique + score)."))
app.command("verifier")(_job_command("verifier", "Train an outcome value model (verifier) for re-ranking."))


@app.command("data")
def data_cmd(
    kind: Annotated[str, typer.Argument(help="sft | rft | dpo | critic | value")],
    data: Annotated[list[str], typer.Option("--data", "-d", help="Trajectory sources (folders, files, globs).")],
    out: Annotated[str | None, typer.Option("--out", "-o", help="Write the records to this JSONL file.")] = None,
    overrides: SetOpt = None,
) -> None:
    """Build a dataset only, and print what the builder kept and why (no model needed)."""
    from pydantic import BaseModel, ConfigDict

    from training.config import load_config
    from training.data.critic import CriticOptions, build_critic_examples
    from training.data.examples import RenderOptions
    from training.data.pairs import PairOptions, build_dpo_pairs
    from training.data.select import SelectOptions, build_sft_examples
    from training.data.sources import read_trajectories
    from training.data.value import ValueOptions, build_value_examples
    from training.jobs import write_jsonl

    class Options(BaseModel):
        model_config = ConfigDict(extra="forbid")
        select: SelectOptions = SelectOptions(min_score=7) if kind == "rft" else SelectOptions()
        render: RenderOptions = RenderOptions()
        pairs: PairOptions = PairOptions()
        critic: CriticOptions = CriticOptions()
        value: ValueOptions = ValueOptions()

    records: Sequence[BaseModel]
    try:
        opts = load_config(Options, None, overrides or [])
        trajs = read_trajectories(data)
        if kind in ("sft", "rft"):
            records, report = build_sft_examples(trajs, opts.select, opts.render, builder=kind)
        elif kind == "dpo":
            records, report = build_dpo_pairs(trajs, opts.pairs, opts.render)
        elif kind == "critic":
            records, report = build_critic_examples(trajs, opts.critic)
        elif kind == "value":
            records, report = build_value_examples(trajs, opts.value)
        else:
            raise MathAgentError(f"unknown dataset kind {kind!r}: sft, rft, dpo, critic or value")
        if out:
            write_jsonl(Path(out), records)
    except USER_ERRORS as exc:
        fail(exc)
    console.print(report.summary())
    if report.notes:
        console.print(json.dumps(report.notes))
    if out:
        console.print(f"wrote {len(records)} records to {out}")


@app.command("pipeline")
def pipeline_cmd(
    config: Annotated[str, typer.Argument(help="Pipeline YAML (configs/train/pipeline.yaml).")],
    overrides: SetOpt = None,
    restart_from: Annotated[
        str | None, typer.Option("--restart-from", help="Redo this stage and every later one.")
    ] = None,
    until: Annotated[str | None, typer.Option("--until", help="Stop after this stage.")] = None,
) -> None:
    """Run (or resume) collect -> critique -> RFT -> DPO -> eval; each stage is skipped once done."""
    from training.config import load_config
    from training.pipeline import run_pipeline
    from training.pipeline_config import PipelineConfig

    _quiet_libraries()
    progress = _progress()
    tasks: dict[str, int] = {}

    def on_event(stage: str, event: str, info: dict) -> None:
        if event == "skip":
            progress.console.print(f"[dim]{stage}: done already, skipped[/]")
        elif event == "start":
            tasks[stage] = progress.add_task(stage, total=None, info="")
        elif event == "progress":
            if stage not in tasks:
                tasks[stage] = progress.add_task(stage, total=None, info="")
            task = tasks[stage]
            shown = {k: v for k, v in info.items() if k not in ("done", "total") and v is not None}
            text = " ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in shown.items())
            progress.update(task, completed=info["done"], total=info["total"] or None, info=text)
        elif event == "done":
            progress.console.print(f"[green]{stage}[/]: done in {info.get('seconds', 0):.0f} s")

    try:
        cfg = load_config(PipelineConfig, config, overrides or [])
        with progress:
            summary = run_pipeline(cfg, restart_from=restart_from, until=until, on_event=on_event)
    except USER_ERRORS as exc:
        fail(exc)
    table = Table(title=f"pipeline: {summary['workdir']}")
    for col in ("stage", "seconds", "result"):
        table.add_column(col, overflow="fold")
    for stage, res in summary["stages"].items():
        brief = {k: v for k, v in res.items() if k not in ("seconds", "folder", "dropped")}
        table.add_row(stage, str(res.get("seconds")), json.dumps(brief, default=str)[:300])
    console.print(table)
    if summary.get("accuracy_before") is not None or summary.get("accuracy_after") is not None:
        console.print(f"accuracy: before {summary.get('accuracy_before')} -> after {summary.get('accuracy_after')}")
    if summary.get("final_model"):
        console.print(f"final model: {summary['workdir']}/model")
