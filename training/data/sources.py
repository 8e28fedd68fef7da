"""Where training data comes from: collection folders, eval run folders, JSONL files, ToRA files.

Every source yields :class:`~eval.trajectory.Trajectory` records:

- a collection folder (``manifest.json`` + ``shards/*.jsonl``, ``mathagent collect``), read with
  :func:`training.collect.read_collection` (complete problems only, each sample once);
- an eval run folder (``trajectories.jsonl`` of ``mathagent eval``);
- any other folder: every ``**/*.jsonl`` file in it, in sorted order;
- a ``.jsonl`` file of Trajectory records, or of ToRA records (converted, see :mod:`training.data.tora`);
- a glob pattern (``runs/*/trajectories.jsonl``).

A torn last line (a writer killed mid-line) is dropped with a warning; any other bad line stops with
``<file>:<line>: <reason>``.

Example:
    >>> import json, tempfile, pathlib
    >>> from eval.trajectory import Trajectory
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> t = Trajectory(problem_id="p", question="1+1?", model="m", text="2")
    >>> _ = (d / "trajectories.jsonl").write_text(t.model_dump_json() + "\\n{torn")
    >>> [x.problem_id for x in read_trajectories(d)]
    ['p']
"""

from __future__ import annotations

import glob
import json
import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

from common.jsonl import JsonlError, iter_jsonl
from eval.trajectory import Trajectory

from ..errors import DataError
from .tora import is_tora_record, tora_to_trajectory

__all__ = ["read_trajectories", "read_jsonl_trajectories", "expand_sources"]

logger = logging.getLogger(__name__)


def expand_sources(sources: str | Path | Sequence[str | Path]) -> list[Path]:
    """Turn sources (paths or glob patterns) into existing files and folders, in order.

    Raises:
        DataError: A source that matches nothing.
    """
    items = [sources] if isinstance(sources, str | Path) else list(sources)
    out: list[Path] = []
    for item in items:
        s = str(item)
        if any(c in s for c in "*?["):
            matches = sorted(Path(p) for p in glob.glob(s, recursive=True))
            if not matches:
                raise DataError(f"{s}: the pattern matches no file")
            out.extend(matches)
            continue
        path = Path(s).expanduser()
        if not path.exists():
            raise DataError(f"{s}: no such file or folder")
        out.append(path)
    return out


def _parse_trajectory(path: Path) -> Callable[[str], Trajectory]:
    index = iter(range(1 << 62))

    def parse(line: str) -> Trajectory:
        i = next(index)
        row = json.loads(line)
        if not isinstance(row, dict):
            raise ValueError("not a JSON object")
        if is_tora_record(row):
            return tora_to_trajectory(row, source=path.stem, index=i)
        return Trajectory.model_validate(row)

    return parse


def read_jsonl_trajectories(path: Path) -> Iterator[Trajectory]:
    """Read one JSONL file of Trajectory records or ToRA records (each line in its own format).

    Raises:
        DataError: A malformed line (a torn last line is dropped with a warning), with ``path:line``.
    """
    try:
        yield from iter_jsonl(path, _parse_trajectory(path), what="trajectory")
    except JsonlError as exc:
        raise DataError(str(exc)) from exc


def _read_folder(path: Path) -> Iterator[Trajectory]:
    if (path / "manifest.json").is_file():
        from training.collect import read_collection

        yield from read_collection(path)
        return
    if (path / "trajectories.jsonl").is_file():
        files = [path / "trajectories.jsonl"]
    else:
        files = sorted(p for p in path.rglob("*.jsonl") if p.is_file())
    if not files:
        raise DataError(f"{path}: no .jsonl trajectory files in this folder")
    for f in files:
        yield from read_jsonl_trajectories(f)


def read_trajectories(sources: str | Path | Iterable[str | Path]) -> Iterator[Trajectory]:
    """Every trajectory in ``sources`` (folders, files, glob patterns), in order.

    Args:
        sources: One source or a list of them (see the module docstring).

    Raises:
        DataError: A missing source, or a malformed record (with its file and line).
    """
    for path in expand_sources(sources if isinstance(sources, str | Path) else list(sources)):
        if path.is_dir():
            yield from _read_folder(path)
        else:
            yield from read_jsonl_trajectories(path)
