"""Loading a collection with Hugging Face ``datasets``.

Every shard line is a whole :class:`~eval.trajectory.Trajectory` dump: all fields present, nested ones
included, so ``datasets.load_dataset("json", data_files="DIR/shards/*.jsonl")`` works as is. That call
infers the column types from the first ~10 MB of the first shard; a field that is null in all of
them but set later (a step's ``error`` in a collection whose first thousands of cells never raised)
then fails to cast. :func:`trajectory_features` gives the full schema, derived from the pydantic
model, for such collections; :func:`load_collection_dataset` uses it and refuses shards that still
hold a killed job's incomplete last unit (resume the job first).

Example:
    >>> sorted(trajectory_features())[:3]  # doctest: +SKIP
    ['answer', 'answer_method', 'backend']
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from eval.trajectory import Critique, Step, Trajectory

from .shards import SHARDS, TornTail, iter_units, list_shards
from .spec import CollectError

__all__ = ["load_collection_dataset", "trajectory_features"]


def _critique_extras() -> dict:
    """Values for the optional fields the critic adds to :class:`Critique` (when this version has them)."""
    wanted = {"parse_error": "e", "prompt_id": "p", "sample_scores": [1]}
    return {k: v for k, v in wanted.items() if k in Critique.model_fields}


def _full_example() -> dict:
    """A trajectory with every optional field set, so that type inference sees every type."""
    from agent.agent import version_info

    steps = [
        Step(kind="code", content="x", exit_status="error", error="E", duration=0.5, truncated=True, state_lost=True)
    ]
    t = Trajectory(
        problem_id="p",
        question="q",
        reference="r",
        model="m",
        sampling={"temperature": 0.7, "top_p": 1.0, "seed": 1, "max_tokens": 1},
        messages=[{"role": "user", "content": "q"}],
        steps=steps,
        answer="a",
        correct=True,
        grader="g",
        critique=Critique(score=1, text="t", model="m", with_reference=True, **_critique_extras()),
        error="e",
        versions=version_info(),
    )
    return t.model_dump(mode="json")


@cache
def trajectory_features():
    """``datasets.Features`` of a collection's shard lines (needs the ``train`` extra for ``datasets``)."""
    from agent.imports import require

    datasets = require("datasets", "loading a collection with datasets")
    import pyarrow as pa

    schema = pa.Table.from_pylist([_full_example()]).schema
    return datasets.Features.from_arrow_schema(schema)


def load_collection_dataset(folder: str | Path, *, split: str = "train", **kwargs):
    """The collection as a ``datasets.Dataset`` (one row per trajectory), with the full schema.

    Args:
        folder: The collection folder.
        split: Split name of the result.
        kwargs: Passed to ``datasets.load_dataset`` (e.g. ``cache_dir``).

    Raises:
        CollectError: No shards, or a shard ends with a killed job's incomplete unit (resume the job).
    """
    from agent.imports import require

    datasets = require("datasets", "loading a collection with datasets")
    from .manifest import load_manifest

    folder = Path(folder)
    manifest = load_manifest(folder)
    shards = list_shards(folder / SHARDS)
    if manifest is None or not shards:
        raise CollectError(f"{folder}: no collection here (manifest.json and shards/*.jsonl)")
    tails: list[TornTail] = []
    for shard in shards:
        for _ in iter_units(shard, manifest.spec.samples, tails):
            pass
    if tails:
        raise CollectError(
            f"{folder}: {tails[0].describe()}; run the job again to resume (it cleans this up), "
            "or read it with training.collect.read_collection"
        )
    return datasets.load_dataset(
        "json", data_files=[str(s) for s in shards], features=trajectory_features(), split=split, **kwargs
    )
