"""The collection job: resume, run problems, write each problem's trajectories as one unit, stop when the
sandbox looks broken.

``run_collection(spec, out, options)``:

1. takes ``out/.lock`` (one writer per collection), loads the problems (a malformed record stops the
   job with ``<file>:<line>: <reason>`` unless ``skip_bad``), and compares the spec and the dataset
   file's sha256 with the manifest's (a different one is refused, naming every difference);
2. cuts the shards back to their last complete unit (a killed run's leftovers) and skips the problems
   already written;
3. runs the rest (in this process, or on Ray workers with ``options.ray``), appending each finished
   problem's K trajectories with one fsynced write, and reports progress through a callback;
4. stops with :class:`SandboxErrorRateExceeded` once more than ``max_error_rate`` of this run's code
   cells failed inside the sandbox (after ``min_cells`` cells);
5. records how the run ended in the manifest (``complete``, ``stopped``, ``failed``, ``interrupted``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from agent.interrupts import signals_deferred
from eval.records import Problem

from .manifest import (
    DatasetInfo,
    Manifest,
    RunRecord,
    Status,
    check_resume,
    collection_lock,
    file_sha256,
    load_manifest,
    remove_stale_temp_files,
    save_manifest,
    versions,
)
from .shards import SHARDS, ShardWriter, list_shards, repair_shards
from .spec import CollectError, CollectOptions, CollectSpec, SandboxErrorRateExceeded
from .tally import CollectProgress, Tally

__all__ = ["run_collection", "load_job_problems"]

logger = logging.getLogger(__name__)

ProgressCallback = Callable[[CollectProgress], None]


def load_job_problems(spec: CollectSpec, options: CollectOptions) -> tuple[list[Problem], DatasetInfo]:
    """The job's problems and a fingerprint of where they came from.

    Raises:
        eval.errors.MalformedRecordError: A malformed record (``<file>:<line>: <reason>``), unless ``skip_bad``.
    """
    from eval.datasets import load_problems

    problems = load_problems(
        spec.dataset, split=spec.split, fields=spec.fields, limit=options.limit, skip_bad=options.skip_bad
    )
    source = Path(problems.source)
    sha = file_sha256(source) if source.is_file() else None
    return list(problems), DatasetInfo(
        source=problems.source, sha256=sha, problems=len(problems), skipped=problems.skipped
    )


def _shard_list(folder: Path) -> list[dict]:
    return [{"name": p.name, "bytes": p.stat().st_size} for p in list_shards(folder)]


def _make_executor(spec: CollectSpec, options: CollectOptions, solver_factory):
    if options.ray:
        from .ray_runner import RayExecutor

        return RayExecutor(spec, options)
    from .worker import LocalExecutor, ProblemSolver

    solver = solver_factory() if solver_factory is not None else ProblemSolver.load(spec, options)
    return LocalExecutor(solver)


def run_collection(
    spec: CollectSpec,
    out: str | Path,
    options: CollectOptions | None = None,
    *,
    on_progress: ProgressCallback | None = None,
    solver_factory: Callable[[], object] | None = None,
    problems: Sequence[Problem] | None = None,
) -> Manifest:
    """Run (or resume) a collection job into ``out``; returns the final manifest.

    Args:
        spec: What to collect (must match the manifest's to resume).
        out: The collection folder.
        options: How to run (default :class:`CollectOptions`).
        on_progress: ``callback(CollectProgress)`` at the start and after each problem written.
        solver_factory: Builds the :class:`~training.collect.worker.ProblemSolver` (default: from the spec).
        problems: The problems (default: loaded from ``spec.dataset``).

    Raises:
        ConfigMismatchError: ``out`` holds a collection with another spec or dataset content.
        CollectionBusyError: Another job writes to ``out``.
        SandboxErrorRateExceeded: Too many sandbox failures; the job resumes where it stopped.
        CollectError: A problem kept failing, or the output folder is not a collection.
        eval.errors.MalformedRecordError: A malformed dataset record (file and line named).
    """
    options = options or CollectOptions()
    out = Path(out)
    lock = collection_lock(out)
    try:
        return _run_locked(spec, out, options, on_progress, solver_factory, problems)
    finally:
        lock.release()


def _run_locked(spec, out, options, on_progress, solver_factory, problems) -> Manifest:
    if problems is None:
        problems, dataset = load_job_problems(spec, options)
    else:
        problems = list(problems)
        dataset = DatasetInfo(source="(given)", problems=len(problems))
    shard_dir = out / SHARDS
    remove_stale_temp_files(out)
    manifest = load_manifest(out)
    if manifest is None:
        if list_shards(shard_dir):
            raise CollectError(f"{out} has shards but no manifest.json; it was not written by this tool, or damaged")
        manifest = Manifest(spec=spec, dataset=dataset)
    else:
        check_resume(out, manifest, spec, dataset)
        manifest.dataset = dataset
    units, tails = repair_shards(shard_dir, spec.samples)
    done = {u.problem_id for u in units}
    selected = {p.id for p in problems}
    tally = Tally(total=len(selected | done))
    for u in units:
        tally.add(u.records, this_run=False, problem_id=u.problem_id)
    tally.started = time.monotonic()
    todo = [p for p in problems if p.id not in done]
    if done:
        logger.info("resuming %s: %d problems already collected, %d to go", out, len(done), len(todo))
    run = RunRecord(options=options.model_dump(mode="json"), versions=versions(), dropped_tails=len(tails))
    manifest.versions = run.versions
    manifest.runs.append(run)
    manifest.status, manifest.message = "running", ""
    manifest.counts = tally.counts()
    save_manifest(out, manifest)
    if on_progress:
        on_progress(tally.progress())
    status: Status
    try:
        if todo:
            asyncio.run(_collect(spec, options, out, todo, manifest, run, tally, on_progress, solver_factory))
        status, message = "complete", f"{tally.problems} problems, {tally.trajectories} trajectories"
    except SandboxErrorRateExceeded as exc:
        status, message = "stopped", str(exc)
        raise
    except KeyboardInterrupt:
        status, message = "interrupted", "interrupted (Ctrl-C or SIGTERM); run the same command again to resume"
        raise
    except BaseException as exc:
        status, message = "failed", f"{type(exc).__name__}: {exc}"
        raise
    finally:
        run.status, run.message, run.ended_at = status, message, _now()
        manifest.status, manifest.message = status, message
        manifest.counts = tally.counts()
        manifest.shards = _shard_list(shard_dir)
        save_manifest(out, manifest)
    return manifest


def _now() -> str:
    from .manifest import now

    return now()


async def _collect(spec, options, out, todo, manifest, run, tally, on_progress, solver_factory) -> None:
    executor = await asyncio.to_thread(_make_executor, spec, options, solver_factory)
    last_save = time.monotonic()
    try:
        with ShardWriter(out / SHARDS, int(options.shard_max_mb * 2**20)) as writer:
            results = executor.results(todo)
            try:
                async for problem, trajs in results:
                    with signals_deferred():  # on disk and counted, or neither
                        writer.write_unit(trajs)
                        tally.add(trajs, this_run=True, problem_id=problem.id)
                        run.problems += 1
                    run.workers = dict(executor.worker_counts)
                    if on_progress:
                        on_progress(tally.progress())
                    _check_error_rate(tally, options)
                    if time.monotonic() - last_save >= options.manifest_every:
                        manifest.counts = tally.counts()
                        manifest.shards = _shard_list(out / SHARDS)
                        save_manifest(out, manifest)
                        last_save = time.monotonic()
            finally:
                await results.aclose()
    finally:
        await asyncio.to_thread(executor.close)


def _check_error_rate(tally: Tally, options: CollectOptions) -> None:
    if tally.cells >= options.min_cells and tally.sandbox_error_rate > options.max_error_rate:
        raise SandboxErrorRateExceeded(
            f"stopped: {tally.sandbox_errors} of {tally.cells} code cells in this run "
            f"({tally.sandbox_error_rate:.0%}) failed inside the sandbox (timeouts, crashed or killed kernels), "
            f"above --max-error-rate {options.max_error_rate:.0%}. The interpreter looks broken: check the "
            "sandbox (isolation, memory, --cell-timeout), then run the same command to resume "
            f"({tally.problems} problems are safe on disk)."
        )
