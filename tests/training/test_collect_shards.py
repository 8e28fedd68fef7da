"""Shards: units written whole, incomplete tails found and cut, malformed lines named, rotation, stats,
loading with ``datasets`` (plain and with the full schema)."""

from __future__ import annotations

import pytest

from eval.trajectory import Critique, Step, Trajectory
from training.collect import CollectError, collection_stats, read_collection
from training.collect.hf import load_collection_dataset
from training.collect.manifest import Manifest, save_manifest
from training.collect.shards import ShardWriter, iter_units, list_shards, repair_shards

from .collect_helpers import spec


def unit(pid: str, k: int = 2, **kw) -> list[Trajectory]:
    return [Trajectory(problem_id=pid, sample_index=i, question="q", model="m", **kw) for i in range(k)]


def collection(tmp_path, k: int = 2):
    save_manifest(tmp_path, Manifest(spec=spec(samples=k)))
    return tmp_path / "shards"


def test_units_round_trip_and_rotate(tmp_path):
    folder = collection(tmp_path)
    with ShardWriter(folder, max_bytes=3000) as w:
        for i in range(6):
            w.write_unit(unit(f"p{i}"))
    shards = list_shards(folder)
    assert len(shards) > 1 and all(s.read_bytes().endswith(b"\n") for s in shards)
    assert [(t.problem_id, t.sample_index) for t in read_collection(tmp_path)] == [
        (f"p{i}", s) for i in range(6) for s in range(2)
    ]
    last_full = shards[-1].stat().st_size >= 3000
    with ShardWriter(folder, max_bytes=3000) as w:  # a new writer continues the last shard while it has room
        assert w.index == len(shards) - 1 + last_full


def test_incomplete_tail_is_skipped_by_readers_and_cut_by_repair(tmp_path):
    folder = collection(tmp_path, k=3)
    with ShardWriter(folder) as w:
        w.write_unit(unit("a", 3))
        w.write_unit(unit("b", 3))
    shard = list_shards(folder)[0]
    good = shard.read_bytes()
    partial = b"".join(t.model_dump_json().encode() + b"\n" for t in unit("c", 3)[:2])
    shard.write_bytes(good + partial + b'{"schema_version": 1, "problem_')
    assert [u.problem_id for u in iter_units(shard, 3)] == ["a", "b"]
    assert len(list(read_collection(tmp_path))) == 6 and shard.read_bytes() != good  # readers do not write
    units, tails = repair_shards(folder, 3)
    assert [u.problem_id for u in units] == ["a", "b"]
    assert tails[0].problem_id == "c" and tails[0].lines == 2 and tails[0].torn
    assert shard.read_bytes() == good


def test_malformed_line_in_the_middle_is_named(tmp_path):
    folder = collection(tmp_path)
    with ShardWriter(folder) as w:
        w.write_unit(unit("a"))
        w.write_unit(unit("b"))
    shard = list_shards(folder)[0]
    lines = shard.read_text().splitlines(keepends=True)
    lines[1] = "garbage\n"
    shard.write_text("".join(lines))
    with pytest.raises(CollectError, match=r"shard-00000.jsonl:2: malformed line"):
        list(read_collection(tmp_path))
    lines[1] = lines[3]  # a unit with samples 0 and 1 of different problems
    shard.write_text("".join(lines))
    with pytest.raises(CollectError, match=r"shard-00000.jsonl:1: problem 'a' has 1 of 2 trajectories"):
        repair_shards(folder, 2)


def test_stats_counts_pass_at_k_and_draws_the_critic_histogram(tmp_path):
    folder = collection(tmp_path)
    with ShardWriter(folder) as w:
        for i, (a, b) in enumerate([(True, False), (False, False), (True, True)]):
            w.write_unit(
                [
                    Trajectory(
                        problem_id=f"p{i}",
                        sample_index=s,
                        question="q",
                        model="m",
                        answer=str(s),
                        correct=c,
                        critique=Critique(score=8 if c else 3, text="", model="c"),
                    )
                    for s, c in enumerate((a, b))
                ]
            )
    s = collection_stats(tmp_path, n_bootstrap=0)
    assert s["counts"]["problems"] == 3 and s["counts"]["accuracy"] == pytest.approx(0.5)
    assert s["metrics"]["overall"]["pass@2"]["value"] == pytest.approx(2 / 3)
    assert s["critic"]["histogram"]["8"] == 3 and s["critic"]["mean_score_wrong"] == 3
    png = tmp_path / "critic_scores.png"
    assert s["histogram"] == str(png) and png.read_bytes().startswith(b"\x89PNG")


def test_shards_load_with_datasets(tmp_path):
    """Plain load_dataset('json') on shards with nested fields; the full schema when early shards lack values."""
    datasets = pytest.importorskip("datasets")
    folder = collection(tmp_path)
    out = Step(
        kind="output", content="ZeroDivisionError", exit_status="error", error="ZeroDivisionError", duration=0.1
    )
    with ShardWriter(folder, max_bytes=1) as w:  # one unit per shard
        w.write_unit(unit("a", steps=[Step(kind="text", content="x")], status="no_answer"))
        w.write_unit(
            unit(
                "b",
                steps=[Step(kind="code", content="1/0"), out],
                answer="2",
                correct=True,
                status="model_error",
                error="boom",
                critique=None,
            )
        )
    one = datasets.load_dataset(
        "json", data_files=str(list_shards(folder)[1]), split="train", cache_dir=str(tmp_path / "c1")
    )
    assert one[0]["steps"][1]["error"] == "ZeroDivisionError" and one[0]["error"] == "boom"
    ds = load_collection_dataset(tmp_path, cache_dir=str(tmp_path / "c2"))
    assert ds.num_rows == 4 and ds[0]["steps"][0]["error"] is None and ds[3]["steps"][1]["duration"] == 0.1
    with open(list_shards(folder)[-1], "ab") as f:
        f.write(b'{"schema_version": 1, "prob')
    with pytest.raises(CollectError, match="resume"):
        load_collection_dataset(tmp_path)
