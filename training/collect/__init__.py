"""Trajectory collection jobs: K graded (and critiqued) trajectories per problem, resumable, concurrent, on Ray.

A collection is a folder: ``manifest.json`` (spec, versions, dataset fingerprint, counts, runs) and
append-only JSONL shards ``shards/shard-*.jsonl`` with one :class:`~eval.trajectory.Trajectory` per
line. Each problem's K trajectories are written as one fsynced unit, so a job killed at any moment and
started again with the same folder resumes with nothing lost and nothing twice.

Example:
    >>> from training.collect import CollectSpec, read_collection, run_collection
    >>> CollectSpec(dataset="gsm8k", model="smollm2-135m", samples=4).agent.temperature
    0.7
"""

from .manifest import Manifest, load_manifest
from .runner import run_collection
from .shards import read_collection
from .spec import (
    CollectError,
    CollectionBusyError,
    CollectOptions,
    CollectSpec,
    ConfigMismatchError,
    SandboxErrorRateExceeded,
)
from .stats import collection_stats
from .tally import CollectProgress

__all__ = [
    "CollectError",
    "CollectOptions",
    "CollectProgress",
    "CollectSpec",
    "CollectionBusyError",
    "ConfigMismatchError",
    "Manifest",
    "SandboxErrorRateExceeded",
    "collection_stats",
    "load_manifest",
    "read_collection",
    "run_collection",
]
