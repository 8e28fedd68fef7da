"""The pipeline's non-training stages: collect trajectories, critique them, evaluate a model.

Each function is resumable on its own: the collection and the eval run skip finished problems, the
critique stage appends each chunk of critiqued trajectories (fsynced) and skips those already written.

Example:
    >>> chunks([1, 2, 3, 4, 5], 2)
    [[1, 2], [3, 4], [5]]
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from agent.config import AgentConfig
from common.jsonl import append_jsonl, read_jsonl, write_jsonl
from eval.trajectory import Trajectory

from .data.sources import read_trajectories
from .errors import TrainingError
from .pipeline_config import PipelineConfig

__all__ = ["collect_trajectories", "critique_trajectories", "evaluate_model", "trajectory_stats", "chunks"]

logger = logging.getLogger(__name__)

Progress = Callable[..., None]


def chunks(items: list, size: int) -> list[list]:
    """``items`` cut into lists of ``size`` (the last may be shorter)."""
    return [items[i : i + size] for i in range(0, len(items), size)]


def trajectory_stats(trajs: list[Trajectory]) -> dict[str, Any]:
    """Counts of a set of trajectories: problems, graded, correct, accuracy, code use, critique scores."""
    graded = [t for t in trajs if t.correct is not None]
    scores = [t.critique.score for t in trajs if t.critique is not None and t.critique.score is not None]
    return {
        "trajectories": len(trajs),
        "problems": len({t.problem_id for t in trajs}),
        "graded": len(graded),
        "correct": sum(bool(t.correct) for t in graded),
        "accuracy": round(sum(bool(t.correct) for t in graded) / len(graded), 4) if graded else None,
        "with_code": sum(t.tool_calls > 0 for t in trajs),
        "critiqued": sum(t.critique is not None for t in trajs),
        "scored": len(scores),
        "mean_score": round(sum(scores) / len(scores), 2) if scores else None,
    }


def _collect_agent(cfg: PipelineConfig) -> AgentConfig:
    """The collection's agent: the stage's, with the pipeline's ``few_shot``."""
    return cfg.collect.agent.model_copy(update={"few_shot": cfg.few_shot})


def _backend_options(threads: int | None, backend: str) -> dict[str, Any]:
    return {"n_threads": threads} if threads and backend in ("llamacpp", "transformers", "auto") else {}


def collect_trajectories(cfg: PipelineConfig, out: Path, progress: Progress) -> dict[str, Any]:
    """Sample the policy ``cfg.collect.samples`` times on each training problem into the collection ``out``."""
    from training.collect import CollectOptions, CollectSpec, run_collection

    c, p = cfg.collect, cfg.problems
    spec = CollectSpec(
        dataset=p.dataset,
        split=p.split,
        model=cfg.model,
        backend=c.backend,
        agent=_collect_agent(cfg),
        backend_options=dict(c.backend_options),
    )
    options = CollectOptions(limit=p.limit, concurrency=c.concurrency, sandbox=c.sandbox, threads=cfg.threads)

    def on_progress(pr) -> None:
        progress(pr.problems_done, pr.problems_total, {"accuracy": pr.accuracy})

    run_collection(spec, out, options, on_progress=on_progress)
    stats = trajectory_stats(list(read_trajectories(out)))
    return {"folder": str(out), **stats}


def critique_trajectories(cfg: PipelineConfig, src: Path, out: Path, progress: Progress) -> dict[str, Any]:
    """Critique every trajectory of ``src`` into ``out/trajectories.jsonl`` (resumable, chunk by chunk)."""
    try:
        from agent.critic import Critic, CriticConfig
    except ImportError as exc:
        raise TrainingError(
            "the critique stage needs agent.critic (the Math-Critique judge); set critique.enabled: false to skip it"
        ) from exc
    st = cfg.critique
    trajs = list(read_trajectories(src))
    out.mkdir(parents=True, exist_ok=True)
    path = out / "trajectories.jsonl"
    done = read_jsonl(path, Trajectory.model_validate_json, what="trajectory")
    write_jsonl(path, done)  # without a torn last line, before appending
    seen = {t.id for t in done}
    todo = [t for t in trajs if t.id not in seen]
    if done:
        logger.info("critique: resuming, %d of %d trajectories already critiqued", len(done), len(trajs))
    progress(len(done), len(trajs))
    if todo:
        model = st.model or cfg.model
        critic = Critic(
            model,
            st.backend,
            config=CriticConfig(max_tokens=st.max_tokens),
            **_backend_options(cfg.threads, st.backend),
        )
        with critic, open(path, "a") as sink:
            for chunk in chunks(todo, st.chunk):
                judge = [t for t in chunk if t.critique is None]
                refs = [t.reference if st.with_reference else None for t in judge]
                for t, crit in zip(judge, critic.critique_many(judge, refs), strict=True):
                    t.critique = crit
                append_jsonl(sink, chunk)
                done.extend(chunk)
                progress(len(done), len(trajs))
    stats = trajectory_stats(done)
    agree = [
        (t.critique.score >= 6) == bool(t.correct)
        for t in done
        if t.critique is not None and t.critique.score is not None and t.correct is not None
    ]
    stats["agreement_with_grader"] = round(sum(agree) / len(agree), 4) if agree else None
    return {"folder": str(out), **stats}


def evaluate_model(cfg: PipelineConfig, model: str | None, out: Path, progress: Progress) -> dict[str, Any]:
    """Greedy accuracy of ``model`` (None: the starting model) on ``cfg.eval.problems``, resumable in ``out``."""
    from agent.agent import Agent
    from agent.eval_run import RunSpec, run_eval
    from agent.models import model_prompt

    from .modeling import base_checkpoint

    e = cfg.eval
    if model is None:
        # the starting weights on the same backend as the trained model (a GGUF is dequantized the same way)
        model = base_checkpoint(cfg.model) if e.backend in ("transformers", "vllm") else cfg.model
    # The collection's mode and prompt (the packaged model's own, if it has one): a checkpoint path has none.
    collected = _collect_agent(cfg)
    prompt = collected.prompt or model_prompt(cfg.model, collected.mode)
    agent = e.agent.model_copy(update={"mode": collected.mode, "few_shot": cfg.few_shot, "prompt": prompt})
    p = e.problems
    spec = RunSpec(dataset=p.dataset, split=p.split, limit=p.limit, model=str(model), backend=e.backend, agent=agent)

    def factory():
        return Agent(
            str(model),
            e.backend,
            config=agent,
            sandbox=e.sandbox,
            concurrency=e.concurrency,
            backend_options={**_backend_options(cfg.threads, e.backend), **e.backend_options},
        )

    metrics = run_eval(spec, out, agent_factory=factory, on_progress=lambda d, n, a: progress(d, n, {"accuracy": a}))
    acc = metrics["overall"]["accuracy"]
    extra = metrics.get("extra", {})
    return {
        "model": str(model),
        "folder": str(out),
        "accuracy": acc["value"],
        "ci": [acc.get("ci_low"), acc.get("ci_high")],
        "n": acc.get("n"),
        "code_use": extra.get("code_use"),
        "no_answer": extra.get("no_answer"),
    }
