"""One reader for what a run leaves behind: an eval run folder, a collection folder or a trajectories file.

An eval run folder holds ``run.json`` (the settings), ``trajectories.jsonl`` and the report files
(``metrics.json``, ``predictions.jsonl``: subjects and levels). A collection folder holds
``manifest.json`` and JSONL shards; its crash-safe reading lives above the eval core, so the caller
passes the trajectories in (``records=``, e.g. from ``training.collect.read_collection``). Either way
the result is a :class:`Run`: its settings and its problems, each with its samples in sample order.

Older and newer runs both load: missing fields take their defaults, and fields this version does not
know (written by a newer mathagent) are kept in ``Trajectory.model_extra`` instead of failing.

Example:
    >>> import tempfile, pathlib
    >>> from eval.trajectory import Trajectory
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> t = Trajectory(problem_id="gsm8k/test/0", question="1+1?", reference="2", model="m", answer="2", correct=True)
    >>> _ = (d / "trajectories.jsonl").write_text(t.model_dump_json() + "\\n")
    >>> run = load_run(d)
    >>> run.kind, [p.benchmark for p in run.problems.values()], run.samples_per_problem
    ('eval', ['gsm8k'], 1)
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import ConfigDict

from common.jsonl import JsonlError, iter_jsonl

from ..errors import EvalError
from ..trajectory import Trajectory

__all__ = [
    "LenientTrajectory",
    "Run",
    "RunError",
    "RunProblem",
    "benchmark_of",
    "load_run",
    "parse_trajectory",
    "run_from_trajectories",
    "run_kind",
]

logger = logging.getLogger(__name__)

RunKind = Literal["eval", "collection", "file"]


class RunError(EvalError):
    """A path that is not a run, or a run that cannot be read; the message says which and why."""


class LenientTrajectory(Trajectory):
    """A :class:`Trajectory` that keeps fields it does not know (a newer run's) in ``model_extra``."""

    model_config = ConfigDict(extra="allow")


def parse_trajectory(line: str | dict) -> Trajectory:
    """A trajectory from a JSON line or dict; unknown fields are kept, not refused.

    Example:
        >>> t = parse_trajectory('{"problem_id": "p", "question": "q", "model": "m", "grade_policy": "math"}')
        >>> t.problem_id, t.model_extra
        ('p', {'grade_policy': 'math'})
    """
    if isinstance(line, str):
        return LenientTrajectory.model_validate_json(line)
    return LenientTrajectory.model_validate(line)


@dataclass
class RunProblem:
    """One problem of a run and its samples.

    Attributes:
        id: The problem's stable id.
        question: The problem statement.
        reference: The reference answer (None: unknown).
        benchmark: The benchmark it belongs to (the first part of the id, else the run's dataset).
        subject: Its subject (MATH), when the run recorded one.
        level: Its difficulty level, when the run recorded one.
        samples: Its trajectories, by sample index.
    """

    id: str
    question: str
    reference: str | None
    benchmark: str
    subject: str | None = None
    level: str | None = None
    samples: list[Trajectory] = field(default_factory=list)

    @property
    def policy(self) -> str | None:
        """The grading policy its samples record having been graded with (newer runs), else None."""
        for t in self.samples:
            recorded = getattr(t, "grade_policy", None) or (t.model_extra or {}).get("grade_policy")
            if recorded:
                return str(recorded)
        return None


@dataclass
class Run:
    """A run as loaded: where it is, what it is, its settings and its problems.

    Attributes:
        path: The folder (or file) it was read from.
        kind: ``eval`` (``run.json`` + ``trajectories.jsonl``), ``collection`` (``manifest.json`` +
            shards) or ``file`` (one trajectories JSONL file).
        name: A short name for tables and headings (the folder's name).
        settings: ``run.json``, or the collection's spec from ``manifest.json`` ({} for a file).
        metrics: ``metrics.json`` when the run has one ({} otherwise).
        problems: The problems in the order of their first sample.
    """

    path: Path
    kind: RunKind
    name: str
    settings: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    problems: dict[str, RunProblem] = field(default_factory=dict)

    @property
    def model(self) -> str:
        """The model that made the samples (from the settings, else the first sample)."""
        model = self.settings.get("model")
        if model:
            return str(model)
        for p in self.problems.values():
            for t in p.samples:
                return t.model
        return ""

    @property
    def samples_per_problem(self) -> int | None:
        """The number of samples of every problem, or None when problems differ (or there are none)."""
        counts = {len(p.samples) for p in self.problems.values()}
        return counts.pop() if len(counts) == 1 else None

    @property
    def policy(self) -> str | None:
        """The grading policy the run's report records (newer runs), else None."""
        prov = self.metrics.get("provenance") or {}
        for key in ("grading policy", "grading_policy", "policy"):
            if prov.get(key):
                return str(prov[key])
        return None

    def trajectories(self) -> list[Trajectory]:
        """Every sample of every problem, problem by problem."""
        return [t for p in self.problems.values() for t in p.samples]


def run_kind(path: str | Path) -> RunKind:
    """What ``path`` holds: ``collection``, ``eval`` or ``file``.

    Raises:
        RunError: The path does not exist or holds no run.
    """
    path = Path(path)
    if path.is_file():
        return "file"
    if not path.is_dir():
        raise RunError(f"{path}: no such run folder or file")
    if (path / "manifest.json").is_file():
        return "collection"
    if (path / "trajectories.jsonl").is_file():
        return "eval"
    raise RunError(f"{path}: not a run (no trajectories.jsonl of an eval run, no manifest.json of a collection)")


def benchmark_of(problem_id: str, dataset: str | None = None) -> str:
    """The benchmark of a problem: the first part of its id (``gsm8k/test/0`` -> ``gsm8k``), else the dataset.

    Example:
        >>> benchmark_of("math500/test/algebra/1"), benchmark_of("42", "data/my-set.jsonl")
        ('math500', 'my-set')
    """
    head, sep, _ = problem_id.partition("/")
    if sep and head:
        return head
    if dataset:
        name = Path(str(dataset)).name
        for suffix in (".gz", ".jsonl", ".json", ".parquet"):
            name = name.removesuffix(suffix)
        return name or "unknown"
    return "unknown"


def _read_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise RunError(f"{path}: not readable JSON ({exc})") from None
    return data if isinstance(data, dict) else {}


def _breakdowns(path: Path) -> dict[str, tuple[str | None, str | None]]:
    """``{problem_id: (subject, level)}`` from ``predictions.jsonl`` (missing file: empty)."""
    out: dict[str, tuple[str | None, str | None]] = {}
    if not path.is_file():
        return out
    rec: Any
    for rec in iter_jsonl(path, what="prediction"):
        if not isinstance(rec, dict) or "problem_id" not in rec:
            continue
        level = rec.get("level")
        out.setdefault(rec["problem_id"], (rec.get("subject"), None if level is None else str(level)))
    return out


def load_run(path: str | Path, *, records: Iterable[Trajectory | dict] | None = None, name: str | None = None) -> Run:
    """Load a run: an eval run folder, a collection folder or a trajectories JSONL file.

    Args:
        path: The run folder or file.
        records: The trajectories, when the caller has read them (a collection's shards are read by
            ``training.collect.read_collection``); default: read ``trajectories.jsonl`` or the file.
        name: The name shown for the run (default: the folder's or file's name).

    Returns:
        A :class:`Run`; problems keep the order of their first sample, samples are sorted by index.

    Raises:
        RunError: Not a run, a collection without ``records``, or a malformed line (file and line named).
    """
    path = Path(path)
    kind = run_kind(path)
    folder = path.parent if kind == "file" else path
    if kind == "collection":
        manifest = _read_json(path / "manifest.json")
        settings = dict(manifest.get("spec") or {})
        if records is None:
            raise RunError(f"{path} is a collection: read its shards above the eval core and pass them as records=")
    else:
        settings = _read_json(path / "run.json") if kind == "eval" else {}
    if records is None:
        source = path if kind == "file" else path / "trajectories.jsonl"
        try:
            records = list(iter_jsonl(source, parse_trajectory, what="trajectory"))
        except JsonlError as exc:  # names the file and the line
            raise RunError(str(exc)) from None
    metrics = _read_json(folder / "metrics.json") if kind == "eval" else {}
    breakdowns = _breakdowns(folder / "predictions.jsonl") if kind == "eval" else {}
    return run_from_trajectories(
        records,
        path=path,
        kind=kind,
        name=name or (path.stem if kind == "file" else path.name) or str(path),
        settings=settings,
        metrics=metrics,
        breakdowns=breakdowns,
    )


def run_from_trajectories(
    records: Iterable[Trajectory | dict],
    *,
    path: str | Path = ".",
    kind: RunKind = "file",
    name: str = "run",
    settings: dict[str, Any] | None = None,
    metrics: dict[str, Any] | None = None,
    breakdowns: Mapping[str, tuple[str | None, str | None]] | None = None,
) -> Run:
    """A :class:`Run` of trajectories in memory (what :func:`load_run` builds after reading the files).

    Args:
        records: The trajectories (or their dicts).
        path, kind, name, settings, metrics: As in :class:`Run`.
        breakdowns: ``{problem_id: (subject, level)}``.

    Example:
        >>> from eval.trajectory import Trajectory
        >>> ts = [Trajectory(problem_id="p", sample_index=i, question="q", model="m") for i in (1, 0)]
        >>> [t.sample_index for t in run_from_trajectories(ts).problems["p"].samples]
        [0, 1]
    """
    settings = settings or {}
    breakdowns = breakdowns or {}
    dataset = settings.get("dataset")
    problems: dict[str, RunProblem] = {}
    for rec in records:
        t = rec if isinstance(rec, Trajectory) else parse_trajectory(rec)
        p = problems.get(t.problem_id)
        if p is None:
            subject, level = breakdowns.get(t.problem_id, (None, None))
            p = problems[t.problem_id] = RunProblem(
                id=t.problem_id,
                question=t.question,
                reference=t.reference,
                benchmark=benchmark_of(t.problem_id, dataset),
                subject=subject,
                level=level,
            )
        p.samples.append(t)
    for p in problems.values():
        p.samples.sort(key=lambda t: t.sample_index)
    return Run(path=Path(path), kind=kind, name=name, settings=settings, metrics=metrics or {}, problems=problems)
