"""Summaries of graded trajectories: per-sample records for the metrics, the agent's own statistics.

Pure functions of saved trajectories (no model, no sandbox), shared by eval runs, collections and the
benchmarks.

Example:
    >>> agent_stats([])["code_use"]
    0.0
"""

from __future__ import annotations

from collections import Counter

from .trajectory import Trajectory

__all__ = ["agent_stats", "finished_trajectories", "samples_from_trajectories", "summarize"]


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
    """How the agent worked: code use, sandbox errors, answers, and where the time went."""
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
