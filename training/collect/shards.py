"""Append-only JSONL shards of trajectories, written one problem at a time, and their crash-safe reading.

Layout: ``DIR/shards/shard-00000.jsonl``, ``shard-00001.jsonl``, ...; one
:class:`~eval.trajectory.Trajectory` JSON per line. A problem's K trajectories are one *unit*: they
are written together with a single ``write`` of all K lines, then ``fsync``. A process killed at any
moment leaves at most one incomplete unit, at the end of the last shard (some of its lines, maybe a
torn last line). :func:`repair_shards` (run when a job starts) cuts the file back to the end of the
last complete unit, so the problem is collected again whole: no trajectory is lost or written twice.
:func:`read_collection` never changes files: it skips such a tail.

A unit is complete when it holds K consecutive lines of one problem with sample indices 0..K-1.

Example:
    >>> import tempfile, pathlib
    >>> from eval.trajectory import Trajectory
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> with ShardWriter(d / "shards") as w:
    ...     w.write_unit([Trajectory(problem_id="p", sample_index=i, question="q", model="m") for i in range(2)])
    >>> [u.problem_id for u in iter_units(d / "shards" / "shard-00000.jsonl", samples=2)]
    ['p']
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from common.files import fsync_dir
from eval.trajectory import Trajectory

from .faults import crash_due, crash_now, crash_point
from .spec import CollectError

__all__ = [
    "SHARDS",
    "ShardWriter",
    "TornTail",
    "Unit",
    "iter_units",
    "list_shards",
    "read_collection",
    "repair_shards",
]

logger = logging.getLogger(__name__)

SHARDS = "shards"
_NAME = "shard-{:05d}.jsonl"


@dataclass
class Unit:
    """One problem's complete trajectories in a shard (parsed JSON records) and where they are."""

    problem_id: str
    records: list[dict]
    line: int  # 1-based line of the first record
    start: int  # byte offsets in the shard
    end: int


@dataclass
class TornTail:
    """What follows the last complete unit of a shard (a killed writer's leftovers)."""

    path: Path
    offset: int  # byte offset of the last complete unit's end
    size: int
    lines: int  # complete lines in the tail
    torn: bool  # the very last line is cut (no newline or not JSON)
    problem_id: str | None = None

    def describe(self) -> str:
        what = f"{self.lines} trajectory line(s) of problem {self.problem_id!r}" if self.lines else ""
        if self.torn:
            what = f"{what} and a torn line" if what else "a torn line"
        return f"{self.path.name}: an incomplete last unit ({what}, {self.size - self.offset} bytes)"


@dataclass
class _Group:
    problem_id: str
    line: int
    start: int
    records: list[dict] = field(default_factory=list)


def _complete(group: _Group, samples: int) -> bool:
    return len(group.records) == samples and {r.get("sample_index") for r in group.records} == set(range(samples))


def iter_units(path: Path, samples: int, tail: list[TornTail] | None = None) -> Iterator[Unit]:
    """The complete units of one shard, in order, read as a stream.

    Args:
        path: A shard file.
        samples: K, the trajectories per problem (from the manifest).
        tail: When given, an incomplete end of the shard is appended to it as a :class:`TornTail`.

    Raises:
        CollectError: A malformed line or an incomplete unit before the end of the shard (the file was
            changed by something else than the writer); the message names the file and line.
    """
    group: _Group | None = None
    offset = 0
    size = path.stat().st_size
    with open(path, "rb") as f:
        for lineno, raw in enumerate(f, 1):
            start, offset = offset, offset + len(raw)
            last = offset >= size
            try:
                if not raw.endswith(b"\n"):
                    raise ValueError("no newline at the end")
                rec = json.loads(raw)
                if not isinstance(rec, dict) or not isinstance(rec.get("problem_id"), str):
                    raise ValueError("not a trajectory record (no problem_id)")
            except ValueError as exc:
                if last:
                    if tail is not None:
                        lines = len(group.records) if group else 0
                        tail.append(
                            TornTail(
                                path,
                                group.start if group else start,
                                size,
                                lines,
                                True,
                                group.problem_id if group else None,
                            )
                        )
                    return
                raise CollectError(f"{path}:{lineno}: malformed line in the middle of a shard ({exc})") from exc
            if group is not None and rec["problem_id"] != group.problem_id:
                raise CollectError(
                    f"{path}:{group.line}: problem {group.problem_id!r} has {len(group.records)} of {samples} "
                    "trajectories in the middle of a shard (was the file edited?)"
                )
            if group is None:
                group = _Group(rec["problem_id"], lineno, start)
            group.records.append(rec)
            if len(group.records) == samples:
                if not _complete(group, samples):
                    idx = sorted(int(r.get("sample_index", -1)) for r in group.records)
                    raise CollectError(
                        f"{path}:{group.line}: problem {group.problem_id!r} has sample indices {idx}, "
                        f"expected 0..{samples - 1}"
                    )
                yield Unit(group.problem_id, group.records, group.line, group.start, offset)
                group = None
    if group is not None and tail is not None:
        tail.append(TornTail(path, group.start, size, len(group.records), False, group.problem_id))


def list_shards(folder: Path) -> list[Path]:
    """Shard files of a collection's ``shards`` folder, in write order."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.name.startswith("shard-") and p.suffix == ".jsonl")


def repair_shards(folder: Path, samples: int) -> tuple[list[Unit], list[TornTail]]:
    """Cut every shard back to its last complete unit; returns the complete units and what was cut.

    Only the collection's writer may call this (it holds the collection lock).
    """
    units: list[Unit] = []
    tails: list[TornTail] = []
    for path in list_shards(folder):
        found: list[TornTail] = []
        units.extend(iter_units(path, samples, found))
        for t in found:
            logger.warning("dropping %s; the problem will be collected again", t.describe())
            with open(path, "r+b") as f:
                f.truncate(t.offset)
                f.flush()
                os.fsync(f.fileno())
        tails.extend(found)
    return units, tails


class ShardWriter:
    """Appends units (one problem's trajectories) to the collection's shards, fsynced one by one.

    Continues the last shard while it is under ``max_bytes``, then starts the next one.

    Args:
        folder: The ``shards`` folder (created if missing).
        max_bytes: Size after which a new shard starts.
    """

    def __init__(self, folder: Path, max_bytes: int = 256 * 2**20) -> None:
        self.folder = Path(folder)
        self.max_bytes = max_bytes
        self.folder.mkdir(parents=True, exist_ok=True)
        shards = list_shards(self.folder)
        self.index = int(shards[-1].stem.split("-")[1]) if shards else 0
        if shards and shards[-1].stat().st_size >= max_bytes:
            self.index += 1
        self._fd: int | None = None
        self.size = 0
        self._open()

    @property
    def path(self) -> Path:
        return self.folder / _NAME.format(self.index)

    def _open(self) -> None:
        new = not self.path.exists()
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self.size = os.fstat(self._fd).st_size
        if new:
            fsync_dir(self.folder)

    def write_unit(self, trajectories: Sequence[Trajectory]) -> None:
        """Append one problem's trajectories as one write, then fsync (durable when this returns)."""
        if self._fd is None:
            raise CollectError("the shard writer is closed")
        data = b"".join(t.model_dump_json().encode() + b"\n" for t in trajectories)
        if self.size and self.size + len(data) > self.max_bytes:
            os.close(self._fd)
            self.index += 1
            self._open()
        crash_point("before_write")
        if crash_due("mid_write"):  # test hook: a torn unit, all lines but the last, then half of it
            last = len(data) - data.rstrip(b"\n").rfind(b"\n") - 1
            self._write_all(data[: len(data) - last // 2])
            os.fsync(self._fd)
            crash_now()
        self._write_all(data)
        os.fsync(self._fd)
        self.size += len(data)
        crash_point("after_write")

    def _write_all(self, data: bytes) -> None:
        if self._fd is None:
            raise CollectError("the shard writer is closed")
        view = memoryview(data)
        while view:
            n = os.write(self._fd, view)
            view = view[n:]

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> ShardWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _manifest_samples(folder: Path) -> int:
    from .manifest import load_manifest

    manifest = load_manifest(folder)
    if manifest is None:
        raise CollectError(f"{folder}: no manifest.json (not a collection folder, nor an eval run)")
    return manifest.spec.samples


def read_collection(path: str | Path) -> Iterator[Trajectory]:
    """The trajectories of a collection folder (or an eval run folder, or one JSONL file), in write order.

    Incomplete last units of shards (a killed job that was not resumed) are skipped, and a trajectory
    seen twice (same problem and sample) is yielded once. Files are not changed.

    Args:
        path: A collection folder (``manifest.json`` + ``shards/``), an eval run folder
            (``trajectories.jsonl``) or a ``.jsonl`` file of trajectories.

    Raises:
        CollectError: Not a collection, or a malformed line before the end of a shard (file and line named).
    """
    path = Path(path)
    if path.is_file() or (path / "trajectories.jsonl").is_file() and not (path / "manifest.json").is_file():
        from eval.trajectory import read_trajectories

        yield from read_trajectories(path if path.is_file() else path / "trajectories.jsonl")
        return
    samples = _manifest_samples(path)
    seen: set[tuple[str, int]] = set()
    for shard in list_shards(path / SHARDS):
        tails: list[TornTail] = []
        for unit in iter_units(shard, samples, tails):
            for rec in unit.records:
                key = (rec["problem_id"], rec["sample_index"])
                if key in seen:
                    logger.warning("%s:%d: %s sample %d seen before; skipped", shard, unit.line, *key)
                    continue
                seen.add(key)
                yield Trajectory.model_validate(rec)
        for t in tails:
            logger.warning("skipping %s (resume the job to clean it up)", t.describe())
