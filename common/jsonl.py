"""One JSONL reader and writer: one record per line, a torn last line dropped, errors with their line.

A writer killed mid-line leaves a torn last line: :func:`read_jsonl` drops it with a warning (the record
was not finished, so it was never counted as written). Any other malformed line is an error that names
the file and the line.

Example:
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "r.jsonl"
    >>> write_jsonl(p, [{"a": 1}, {"a": 2}])
    2
    >>> _ = p.open("a").write('{"a": 3')  # a torn last line
    >>> [r["a"] for r in read_jsonl(p)]
    [1, 2]
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, Any, TypeVar

from pydantic import BaseModel

from .errors import MathAgentError
from .files import atomic_write_text

__all__ = ["JsonlError", "append_jsonl", "dump_line", "iter_jsonl", "read_jsonl", "write_jsonl"]

logger = logging.getLogger(__name__)

T = TypeVar("T")


class JsonlError(MathAgentError, ValueError):
    """A line of a JSONL file is not a valid record; the message names the file and the line."""


def dump_line(record: BaseModel | dict | Any) -> str:
    """One record as a JSON line (pydantic models by ``model_dump_json``), with its newline."""
    if isinstance(record, BaseModel):
        return record.model_dump_json() + "\n"
    return json.dumps(record, ensure_ascii=False) + "\n"


def iter_jsonl(
    path: str | Path, parse: Callable[[str], T] | None = None, *, drop_torn_last: bool = True, what: str = "record"
) -> Iterator[T]:
    """Yield each record of ``path`` (blank lines skipped).

    Args:
        path: The file.
        parse: Turns one line into a record (default: ``json.loads``); a ``ValueError`` marks a bad line.
        drop_torn_last: Drop a last line that is not JSON with a warning (a killed writer) instead of raising.
        what: What a record is, for the error message ("not a trajectory").

    Raises:
        JsonlError: A malformed line (other than a torn last one), with ``path:line``.
    """
    path = Path(path)
    parse_line: Callable[[str], Any] = parse or json.loads
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    last = max((i for i, line in enumerate(lines, 1) if line.strip()), default=0)
    for i, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            yield parse_line(line)
        except ValueError as exc:
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            if drop_torn_last and i == last and _is_torn(line):
                logger.warning("%s:%d: dropping a torn last line (%s)", path, i, reason)
                continue
            raise JsonlError(f"{path}:{i}: not a {what}: {reason}") from exc


def _is_torn(line: str) -> bool:
    """A line a killed writer left: not even JSON (a complete record that fails validation is an error)."""
    try:
        json.loads(line)
    except ValueError:
        return True
    return False


def read_jsonl(
    path: str | Path, parse: Callable[[str], T] | None = None, *, drop_torn_last: bool = True, what: str = "record"
) -> list[T]:
    """Every record of ``path`` as a list (see :func:`iter_jsonl`); a missing file is an empty list."""
    if not Path(path).is_file():
        return []
    return list(iter_jsonl(path, parse, drop_torn_last=drop_torn_last, what=what))


def write_jsonl(path: str | Path, records: Iterable[BaseModel | dict | Any], *, durable: bool = True) -> int:
    """Replace ``path`` with ``records``, one per line, atomically; returns how many were written."""
    lines = [dump_line(r) for r in records]
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, "".join(lines), durable=durable)
    return len(lines)


def append_jsonl(sink: IO[str], records: Iterable[BaseModel | dict | Any], *, fsync: bool = True) -> None:
    """Append ``records`` to an open text file, flushed (and fsynced) so a crash loses no finished record."""
    for r in records:
        sink.write(dump_line(r))
    sink.flush()
    if fsync:
        os.fsync(sink.fileno())
