"""Running counts of a collection job: what the progress callback and the manifest report.

Counts cover the whole collection (earlier runs included) except the sandbox error rate and the
speed, which cover this run only: a job stopped for a broken sandbox and restarted after the fix
starts with a clean error count.

Example:
    >>> t = Tally(total=10)
    >>> t.add([{"correct": True, "status": "answered", "tool_calls": 2, "sandbox_errors": 1}], this_run=True)
    >>> p = t.progress()
    >>> p.problems_done, p.accuracy, p.sandbox_error_rate
    (1, 1.0, 0.5)
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from eval.trajectory import Trajectory

__all__ = ["CollectProgress", "Tally"]


@dataclass(frozen=True)
class CollectProgress:
    """A snapshot for progress displays (passed to the job's ``on_progress`` callback)."""

    problems_done: int  # whole collection
    problems_total: int
    problems_run: int  # written by this run
    trajectories: int
    graded: int
    correct: int
    accuracy: float | None  # correct / graded
    model_errors: int
    critiqued: int
    cells: int  # this run
    sandbox_errors: int  # this run
    sandbox_error_rate: float  # this run
    elapsed: float  # seconds of this run
    problems_per_min: float  # this run
    eta_seconds: float | None
    last_problem: str = ""


def _fields(x: Trajectory | dict) -> tuple[bool | None, str, int, int, bool]:
    if isinstance(x, Trajectory):
        return x.correct, x.status, x.tool_calls, x.sandbox_errors, x.critique is not None
    return (
        x.get("correct"),
        x.get("status", ""),
        int(x.get("tool_calls") or 0),
        int(x.get("sandbox_errors") or 0),
        x.get("critique") is not None,
    )


class Tally:
    """Accumulates counts over written units.

    Args:
        total: Problems the job covers.
    """

    def __init__(self, total: int) -> None:
        self.total = total
        self.problems = 0
        self.problems_run = 0
        self.trajectories = 0
        self.graded = 0
        self.correct = 0
        self.critiqued = 0
        self.cells_all = 0
        self.sandbox_errors_all = 0
        self.cells = 0
        self.sandbox_errors = 0
        self.statuses: Counter[str] = Counter()
        self.started = time.monotonic()
        self.last_problem = ""

    def add(self, unit: Iterable[Trajectory | dict], *, this_run: bool, problem_id: str = "") -> None:
        """Count one problem's trajectories (a unit)."""
        self.problems += 1
        self.problems_run += this_run
        self.last_problem = problem_id or self.last_problem
        for x in unit:
            correct, status, cells, errors, critiqued = _fields(x)
            self.trajectories += 1
            self.graded += correct is not None
            self.correct += bool(correct)
            self.critiqued += critiqued
            self.statuses[status] += 1
            self.cells_all += cells
            self.sandbox_errors_all += errors
            if this_run:
                self.cells += cells
                self.sandbox_errors += errors

    @property
    def sandbox_error_rate(self) -> float:
        """Share of this run's code cells that failed inside the sandbox."""
        return self.sandbox_errors / self.cells if self.cells else 0.0

    def progress(self) -> CollectProgress:
        elapsed = time.monotonic() - self.started
        rate = self.problems_run / elapsed * 60 if elapsed > 0 else 0.0
        left = max(0, self.total - self.problems)
        return CollectProgress(
            problems_done=self.problems,
            problems_total=self.total,
            problems_run=self.problems_run,
            trajectories=self.trajectories,
            graded=self.graded,
            correct=self.correct,
            accuracy=self.correct / self.graded if self.graded else None,
            model_errors=self.statuses["model_error"],
            critiqued=self.critiqued,
            cells=self.cells,
            sandbox_errors=self.sandbox_errors,
            sandbox_error_rate=self.sandbox_error_rate,
            elapsed=elapsed,
            problems_per_min=rate,
            eta_seconds=left / rate * 60 if rate > 0 else (0.0 if left == 0 else None),
            last_problem=self.last_problem,
        )

    def counts(self) -> dict[str, Any]:
        """The manifest's ``counts``."""
        p = self.progress()
        return {
            "problems_total": self.total,
            "problems_done": self.problems,
            "trajectories": self.trajectories,
            "graded": self.graded,
            "correct": self.correct,
            "accuracy": p.accuracy,
            "critiqued": self.critiqued,
            "cells": self.cells_all,
            "sandbox_errors": self.sandbox_errors_all,
            "sandbox_error_rate": self.sandbox_errors_all / self.cells_all if self.cells_all else 0.0,
            "status": dict(sorted(self.statuses.items())),
            "this_run": {
                k: v
                for k, v in asdict(p).items()
                if k
                in ("problems_run", "cells", "sandbox_errors", "sandbox_error_rate", "elapsed", "problems_per_min")
            },
        }
