"""Eval runs: the agent over a dataset, resumable, then the eval core's report.

Each finished problem's trajectories are appended to ``trajectories.jsonl`` (flushed and fsynced) as
soon as it completes, so a killed run loses at most the problems in flight. Started again with the
same output folder and configuration, the run skips the problems already done (a torn last line is
dropped); a different configuration is refused, naming what differs.

The agent is imported lazily: ``eval`` uses the sandbox only through the agent.

Example:
    >>> RunSpec(dataset="gsm8k.jsonl", model="m").samples
    1
"""

from __future__ import annotations

import json
import logging
import os
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from .trajectory import Trajectory

__all__ = [
    "RunSpec",
    "ConfigMismatchError",
    "agent_stats",
    "config_diff",
    "read_trajectories",
    "run_eval",
    "samples_from_trajectories",
]

logger = logging.getLogger(__name__)

TRAJECTORIES = "trajectories.jsonl"
RUN_FILE = "run.json"


class ConfigMismatchError(ValueError):
    """The output folder holds a run with another configuration."""


class RunSpec(BaseModel):
    """What an eval run is: recorded in ``run.json`` and compared on resume."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    dataset: str = Field(description="Dataset path or hub name.")
    split: str | None = None
    limit: int | None = Field(None, description="First N problems only.")
    model: str
    backend: str = "auto"
    samples: int = Field(1, ge=1)
    agent: dict = Field(default_factory=dict, description="The AgentConfig fields.")
    critic: dict | None = Field(
        None, description="The critic that scores samples: {'model': ..., CriticConfig fields...}; None: no critic."
    )
    rerank: str | None = Field(None, description="How the agent chooses among samples (see agent.rerank).")
    top_clusters: int | None = Field(None, description="Clusters kept by cluster re-ranking and rerank@k (default 2).")


def read_trajectories(path: Path) -> list[Trajectory]:
    """Read a trajectories file; a torn last line (a killed writer) is dropped with a warning."""
    out: list[Trajectory] = []
    if not path.is_file():
        return out
    lines = path.read_text().splitlines()
    for i, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            out.append(Trajectory.model_validate_json(line))
        except ValueError as exc:
            if i == len(lines):
                logger.warning("%s:%d: dropping a torn last line (%s)", path, i, str(exc).splitlines()[0])
                continue
            raise ValueError(f"{path}:{i}: not a trajectory: {str(exc).splitlines()[0]}") from exc
    return out


def _rewrite_clean(path: Path, trajs: list[Trajectory]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w") as f:
        for t in trajs:
            f.write(t.model_dump_json() + "\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


_MISSING = object()


def config_diff(old: dict, new: dict, prefix: str = "") -> list[str]:
    """What differs between two configurations, one ``key: old -> new`` per changed field (nested keys dotted).

    Example:
        >>> config_diff({"samples": 1, "agent": {"mode": "tir"}}, {"samples": 2, "agent": {"mode": "cot"}})
        ['samples: 1 -> 2', "agent.mode: 'tir' -> 'cot'"]
    """
    out: list[str] = []
    for key in list(new) + [k for k in old if k not in new]:
        a, b = old.get(key, _MISSING), new.get(key, _MISSING)
        if isinstance(a, dict) and isinstance(b, dict):
            out.extend(config_diff(a, b, f"{prefix}{key}."))
        elif a != b:
            shown = ["(unset)" if v is _MISSING else repr(v) for v in (a, b)]
            out.append(f"{prefix}{key}: {shown[0]} -> {shown[1]}")
    return out


def _check_spec(out: Path, spec: RunSpec) -> None:
    run_file = out / RUN_FILE
    if run_file.is_file():
        diff = config_diff(json.loads(run_file.read_text()), spec.model_dump(mode="json"))
        if diff:
            raise ConfigMismatchError(
                f"{out} holds a run with another configuration ({'; '.join(diff)}); use another --out"
            )
    else:
        out.mkdir(parents=True, exist_ok=True)
        run_file.write_text(json.dumps(spec.model_dump(mode="json"), indent=2) + "\n")


def _check_prompt(out: Path, done: list[Trajectory], prompt_id: str) -> None:
    """Refuse to resume with another prompt (by name: an edited file of the same name may go on)."""
    name = prompt_id.split("@")[0]
    others = sorted({t.prompt_id for t in done if t.prompt_id and t.prompt_id.split("@")[0] != name})
    if others:
        raise ConfigMismatchError(
            f"{out} holds trajectories made with prompt {', '.join(others)}; this run uses {prompt_id} "
            "(pass that prompt with --prompt to resume, or use another --out)"
        )


def _verifier_score(t: Trajectory) -> float | None:
    """The score re-ranking used: ``verifier_score``, else the critique's 1-10 score scaled to 0-1."""
    if t.verifier_score is not None:
        return t.verifier_score
    mean = t.critique.mean_score if t.critique is not None else None
    return None if mean is None else (mean - 1) / 9


def samples_from_trajectories(trajs: list[Trajectory], problems: dict) -> list:
    """Per-sample records for the eval core's metrics."""
    from .metrics import SampleRecord

    records = []
    for t in trajs:
        meta = problems[t.problem_id].metadata if t.problem_id in problems else {}
        records.append(
            SampleRecord(
                problem_id=t.problem_id,
                sample=t.sample_index,
                pred=t.answer,
                correct=t.correct,
                score=_verifier_score(t),
                subject=meta.get("subject"),
                level=None if meta.get("level") is None else str(meta.get("level")),
            )
        )
    return records


def finished_trajectories(trajs: list[Trajectory], samples: int) -> list[Trajectory]:
    """The trajectories of the problems that have all ``samples`` (a run's finished problems)."""
    counts = Counter(t.problem_id for t in trajs)
    return [t for t in trajs if counts[t.problem_id] >= samples]


def summarize(trajs: list[Trajectory], problems: dict, *, top_clusters: int = 2) -> tuple:
    """``(records, metrics, agent_stats, critic_agreement or None)`` of graded trajectories, in memory."""
    from .agreement import critic_agreement
    from .metrics import compute_metrics

    records = samples_from_trajectories(trajs, problems)
    metrics = compute_metrics(records, top_clusters=top_clusters)
    return records, metrics, agent_stats(trajs), critic_agreement(trajs)


def agent_stats(trajs: list[Trajectory]) -> dict:
    """How the agent worked: code use, sandbox errors, answers, and where the time went.

    Example:
        >>> agent_stats([])["code_use"]
        0.0
    """
    n = max(len(trajs), 1)
    cells = sum(t.tool_calls for t in trajs)
    total = sum(t.timings.total for t in trajs) or 1.0
    seconds = sorted(t.timings.total for t in trajs)
    return {
        "code_use": sum(t.tool_calls > 0 for t in trajs) / n,
        "cells_per_sample": cells / n,
        "sandbox_error_rate": sum(t.sandbox_errors for t in trajs) / max(cells, 1),
        "code_error_rate": sum(t.code_errors for t in trajs) / max(cells, 1),
        "no_answer": sum(t.answer is None for t in trajs) / n,
        "median_seconds": seconds[len(seconds) // 2] if seconds else 0.0,
        "tokens_per_sample": sum(t.completion_tokens for t in trajs) / n,
        "model_time_share": sum(t.timings.model for t in trajs) / total,
        "sandbox_time_share": sum(t.timings.sandbox for t in trajs) / total,
        "other_time_share": sum(t.timings.other for t in trajs) / total,
    }


def run_eval(
    spec: RunSpec,
    out: Path,
    *,
    agent_factory: Callable[[], object] | None = None,
    problems: list | None = None,
    on_progress: Callable[[int, int, float], None] | None = None,
) -> dict:
    """Run (or resume) an eval and write the report; returns the metrics.

    Args:
        spec: What to run.
        out: Output folder (``run.json``, ``trajectories.jsonl``, then the report files).
        agent_factory: Builds the :class:`agent.Agent` (default: from ``spec``).
        problems: The problems (default: loaded from ``spec.dataset``).
        on_progress: ``callback(done, total, accuracy_so_far)`` after each problem.
    """
    from .agreement import agreement_markdown
    from .datasets import load_problems
    from .report import write_report

    out = Path(out)
    _check_spec(out, spec)
    if problems is None:
        problems = list(load_problems(spec.dataset, split=spec.split, limit=spec.limit))
    by_id = {p.id: p for p in problems}
    path = out / TRAJECTORIES
    # A problem cut off mid-way (fewer samples than asked) is run again whole; a torn line is dropped.
    done = finished_trajectories(read_trajectories(path), spec.samples)
    _rewrite_clean(path, done)
    finished = {t.problem_id for t in done}
    todo = [p for p in problems if p.id not in finished]
    if finished:
        logger.info("resuming: %d of %d problems already done", len(finished), len(problems))
    correct = [any(t.correct for t in done if t.problem_id == pid) for pid in finished]
    if todo:
        if agent_factory is None:
            from agent import Agent

            def agent_factory():
                from agent.critic import CriticConfig

                critic = dict(spec.critic or {})
                return Agent(
                    spec.model,
                    spec.backend,
                    critic=critic.pop("model", None),
                    critic_config=CriticConfig(**critic),
                    rerank=spec.rerank,
                    top_clusters=spec.top_clusters or 2,
                    **spec.agent,
                )

        with agent_factory() as agent, open(path, "a") as sink:
            _check_prompt(out, done, agent.prompt_id())

            def on_done(sol) -> None:
                for t in sol.trajectories:
                    sink.write(t.model_dump_json() + "\n")
                sink.flush()
                os.fsync(sink.fileno())
                done.extend(sol.trajectories)
                correct.append(bool(sol.correct))
                if on_progress:
                    on_progress(len(correct), len(problems), sum(correct) / len(correct))

            agent.solve_many(todo, samples=spec.samples, on_done=on_done)
    records, metrics, extra, agreement = summarize(done, by_id, top_clusters=spec.top_clusters or 2)
    sections, data = [], {}
    if agreement is not None:
        sections.append(("Critic agreement with the grader", agreement_markdown(agreement)))
        data["critic_agreement"] = agreement.model_dump(mode="json")
    return write_report(
        out, records, metrics=metrics, extra_metrics=extra, extra_sections=sections, extra_data=data, problems=by_id
    )
