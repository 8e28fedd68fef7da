"""One atomic write: readers see the old content or the new, never half of it, even after a crash.

The data goes to a temp file in the same folder, is flushed and fsynced, renamed over the target, and
(``durable=True``, the default) the folder is fsynced too, so the rename itself survives a power cut.

Example:
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.json"
    >>> atomic_write_text(p, "{}")
    >>> p.read_text()
    '{}'
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

__all__ = ["atomic_open", "atomic_write_bytes", "atomic_write_text", "fsync_dir"]


def fsync_dir(folder: str | Path) -> None:
    """Flush a folder's entries (a rename or a new file in it) to disk."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def atomic_open(path: str | Path, *, durable: bool = True, mode: int = 0o644) -> Iterator[IO[bytes]]:
    """A binary file that replaces ``path`` when the block ends without an error, and is deleted if not.

    The temp file (``.NAME.*.tmp`` in the same folder) is flushed and fsynced, renamed over ``path``,
    and (``durable=True``) the folder fsynced, so the rename survives a power cut. A writer killed
    inside the block leaves only the temp file, which readers never see.

    Args:
        path: The file to write; its folder must exist.
        durable: Also fsync the folder after the rename (off only for files that are cheap to redo).
        mode: Permission bits of the new file.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    if durable:
        fsync_dir(path.parent)


def atomic_write_bytes(path: str | Path, data: bytes, *, durable: bool = True, mode: int = 0o644) -> None:
    """Replace ``path`` with ``data`` atomically (see :func:`atomic_open`)."""
    with atomic_open(path, durable=durable, mode=mode) as f:
        f.write(data)


def atomic_write_text(path: str | Path, text: str, *, durable: bool = True) -> None:
    """:func:`atomic_write_bytes` of UTF-8 text."""
    atomic_write_bytes(path, text.encode("utf-8"), durable=durable)
