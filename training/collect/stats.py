"""``mathagent collect stats DIR``: counts, accuracy, pass@k and a critic score histogram of a collection.

Reads the collection with :func:`~.shards.read_collection` (files are not changed), computes pass@k
and maj@k with the eval core (:func:`eval.metrics.compute_metrics`), the agent's code use and sandbox
error rate (:func:`eval.summary.agent_stats`), and draws the critic's 1-10 scores as a PNG histogram.

Example:
    >>> score_histogram([]) == {str(s): 0 for s in range(1, 11)} | {"none": 0}
    True
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from eval.trajectory import Trajectory

from .manifest import load_manifest
from .shards import read_collection

__all__ = ["collection_stats", "plot_score_histogram", "score_histogram"]

logger = logging.getLogger(__name__)

HISTOGRAM = "critic_scores.png"


def score_histogram(trajs: Sequence[Trajectory]) -> dict[str, int]:
    """Critiqued trajectories per score 1..10, and ``none`` for critiques without a score."""
    counts = Counter(t.critique.score for t in trajs if t.critique is not None)
    out = {str(s): counts.get(s, 0) for s in range(1, 11)}
    out["none"] = counts.get(None, 0)
    return out


def plot_score_histogram(trajs: Sequence[Trajectory], path: Path) -> bool:
    """Draw the critic scores (correct and wrong trajectories stacked); False when nothing was critiqued."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    scored = [(t, t.critique.score) for t in trajs if t.critique is not None and t.critique.score is not None]
    if not scored:
        return False
    xs = list(range(1, 11))
    groups = [("correct", "#55A868", True), ("wrong", "#C44E52", False), ("ungraded", "#8C8C8C", None)]
    fig = Figure(figsize=(6, 4), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    bottom = [0] * 10
    for label, color, verdict in groups:
        counts = Counter(score for t, score in scored if t.correct is verdict)
        heights = [counts.get(x, 0) for x in xs]
        if any(heights):
            ax.bar(xs, heights, bottom=bottom, color=color, label=label)
            bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
    ax.set_xticks(xs)
    ax.set_xlabel("critic score")
    ax.set_ylabel("trajectories")
    ax.set_title(f"critic scores ({len(scored)} trajectories)")
    ax.grid(axis="y", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png")
    return True


def _problem_metadata(folder: Path) -> dict:
    """Problems of the collection's dataset (for subject/level breakdowns), when it can still be read."""
    manifest = load_manifest(folder) if (folder / "manifest.json").is_file() else None
    if manifest is None:
        return {}
    try:
        from eval.datasets import load_problems

        spec = manifest.spec
        return {p.id: p for p in load_problems(spec.dataset, split=spec.split, fields=spec.fields, skip_bad=True)}
    except Exception as exc:  # noqa: BLE001 - breakdowns are optional
        logger.info("no subject/level breakdowns: cannot read %s (%s)", manifest.spec.dataset, exc)
        return {}


def collection_stats(
    path: str | Path, *, histogram: Path | None = None, ks: Sequence[int] | None = None, n_bootstrap: int = 200
) -> dict[str, Any]:
    """Statistics of a collection (or an eval run folder).

    Args:
        path: The collection folder.
        histogram: Where to write the critic score PNG (default ``<path>/critic_scores.png``; written only
            when some trajectory has a critic score).
        ks: Budgets for pass@k / maj@k (default: powers of two up to K).
        n_bootstrap: Bootstrap resamples for the confidence intervals.

    Returns:
        A JSON-able dict: ``counts``, ``metrics`` (accuracy, pass@k, maj@k...), ``agent`` (code use,
        sandbox errors, time split), ``critic`` (histogram, mean score by correctness), ``histogram``
        (the PNG's path or None), ``manifest`` (status and spec, for collections).
    """
    from eval.metrics import compute_metrics
    from eval.summary import agent_stats, samples_from_trajectories

    folder = Path(path)
    trajs = list(read_collection(folder))
    problems = _problem_metadata(folder) if folder.is_dir() else {}
    statuses = Counter(t.status for t in trajs)
    graded = [t for t in trajs if t.correct is not None]
    counts = {
        "problems": len({t.problem_id for t in trajs}),
        "trajectories": len(trajs),
        "graded": len(graded),
        "correct": sum(bool(t.correct) for t in graded),
        "accuracy": sum(bool(t.correct) for t in graded) / len(graded) if graded else None,
        "answered": statuses.get("answered", 0),
        "model_errors": statuses.get("model_error", 0),
        "status": dict(sorted(statuses.items())),
        "critiqued": sum(t.critique is not None for t in trajs),
    }
    metrics = None
    if graded:
        m = compute_metrics(samples_from_trajectories(trajs, problems), ks=ks, n_bootstrap=n_bootstrap)
        metrics = m.model_dump(mode="json")
    scored = [(t, t.critique.score) for t in trajs if t.critique is not None and t.critique.score is not None]

    def mean_score(verdict: bool | None) -> float | None:
        s = [score for t, score in scored if t.correct is verdict]
        return sum(s) / len(s) if s else None

    target = histogram if histogram is not None else (folder / HISTOGRAM if folder.is_dir() else None)
    drawn = target is not None and plot_score_histogram(trajs, target)
    manifest = load_manifest(folder) if (folder / "manifest.json").is_file() else None
    return {
        "path": str(folder),
        "counts": counts,
        "metrics": metrics,
        "agent": agent_stats(trajs),
        "critic": {
            "histogram": score_histogram(trajs),
            "mean_score_correct": mean_score(True),
            "mean_score_wrong": mean_score(False),
        },
        "histogram": str(target) if drawn else None,
        "manifest": None
        if manifest is None
        else {
            "status": manifest.status,
            "message": manifest.message,
            "spec": manifest.spec.model_dump(mode="json"),
            "versions": manifest.versions,
            "runs": len(manifest.runs),
        },
    }
