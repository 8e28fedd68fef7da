"""One reader for eval run folders, trajectory files and collection folders; older and newer records."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from eval.runs import RunError, load_run, run_verdicts, sample_outcome
from eval.runs.load import run_kind
from eval.trajectory import Trajectory

REPO = Path(__file__).resolve().parents[2]


def _t(pid: str, sample: int, answer: str | None, ref: str = "4", **kw) -> Trajectory:
    return Trajectory(
        problem_id=pid,
        sample_index=sample,
        question="What is 2+2?",
        reference=ref,
        model="m",
        answer=answer,
        correct=None if answer is None else answer == ref,
        status="answered" if answer is not None else "max_tokens",
        **kw,
    )


def _eval_folder(tmp_path: Path, trajs: list[Trajectory]) -> Path:
    d = tmp_path / "run"
    d.mkdir()
    (d / "run.json").write_text(json.dumps({"dataset": "data/gsm8k.jsonl", "model": "m-from-spec"}))
    (d / "trajectories.jsonl").write_text("".join(t.model_dump_json() + "\n" for t in trajs))
    (d / "predictions.jsonl").write_text(
        json.dumps({"problem_id": "math500/test/algebra/1", "subject": "Algebra", "level": "2"}) + "\n"
    )
    (d / "metrics.json").write_text(json.dumps({"overall": {"accuracy": {"value": 0.5, "n": 2}}}))
    return d


def test_eval_folder_orders_samples_and_reads_breakdowns(tmp_path: Path) -> None:
    trajs = [_t("math500/test/algebra/1", 1, "4"), _t("math500/test/algebra/1", 0, "5"), _t("7", 0, None)]
    run = load_run(_eval_folder(tmp_path, trajs))
    assert run.kind == "eval" and run.name == "run" and run.model == "m-from-spec"
    assert list(run.problems) == ["math500/test/algebra/1", "7"]
    p = run.problems["math500/test/algebra/1"]
    assert [t.sample_index for t in p.samples] == [0, 1]
    assert (p.benchmark, p.subject, p.level) == ("math500", "Algebra", "2")
    assert run.problems["7"].benchmark == "gsm8k"  # an id without a prefix: the dataset's name
    assert run.samples_per_problem is None and run.metrics["overall"]["accuracy"]["value"] == 0.5
    assert sample_outcome(run.problems["7"].samples[0]) == "truncated"


def test_a_trajectories_file_is_a_run(tmp_path: Path) -> None:
    f = tmp_path / "some.jsonl"
    f.write_text(_t("gsm8k/test/1", 0, "4").model_dump_json() + "\n")
    run = load_run(f)
    assert (run.kind, run.name, run.samples_per_problem) == ("file", "some", 1)


def test_older_and_newer_records_load(tmp_path: Path) -> None:
    # An older record: only the fields the first schema had. A newer one: fields this version does not know.
    old = {
        "problem_id": "gsm8k/test/1",
        "question": "q",
        "model": "m",
        "answer": "4",
        "reference": "4",
        "correct": True,
    }
    new = dict(old, problem_id="gsm8k/test/2", grade_policy="gsm8k", judgement=None, grade_status="correct")
    f = tmp_path / "mixed.jsonl"
    f.write_text(json.dumps(old) + "\n" + json.dumps(new) + "\n")
    run = load_run(f)
    newer = run.problems["gsm8k/test/2"].samples[0]
    assert newer.model_extra is not None and newer.model_extra["grade_policy"] == "gsm8k"
    assert run.problems["gsm8k/test/2"].policy == "gsm8k" and run.problems["gsm8k/test/1"].policy is None
    assert [sample_outcome(p.samples[0]) for p in run.problems.values()] == ["correct", "correct"]
    verdicts = run_verdicts(run)
    assert all(v.correct for v in verdicts.values())


def test_bad_input_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(RunError, match="no such run"):
        load_run(tmp_path / "missing")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(RunError, match="not a run"):
        load_run(empty)
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "trajectories.jsonl").write_text('{"problem_id": "p"}\n' + _t("p", 0, "4").model_dump_json() + "\n")
    with pytest.raises(RunError, match=r"trajectories.jsonl:1: not a trajectory"):
        load_run(bad)
    (bad / "trajectories.jsonl").write_text(_t("p", 0, "4").model_dump_json() + '\n{"problem_id": "p", "que')
    assert len(load_run(bad).problems) == 1  # a torn last line (a killed writer) is dropped


def test_collection_folder_through_the_collect_reader(tmp_path: Path) -> None:
    from cli.commands.runs import load_any_run
    from training.collect.manifest import Manifest, save_manifest
    from training.collect.shards import ShardWriter
    from training.collect.spec import CollectSpec

    d = tmp_path / "collection"
    d.mkdir()
    save_manifest(d, Manifest(spec=CollectSpec(dataset="gsm8k.jsonl", model="collector-model", samples=2)))
    with ShardWriter(d / "shards") as w:
        w.write_unit([_t("gsm8k/test/1", i, a) for i, a in enumerate(["4", "5"])])
        w.write_unit([_t("gsm8k/test/2", i, a) for i, a in enumerate(["4", "4"])])
    assert run_kind(d) == "collection"
    with pytest.raises(RunError, match="is a collection"):
        load_run(d)
    run = load_any_run(d)
    assert run.kind == "collection" and run.model == "collector-model" and run.samples_per_problem == 2
    assert sorted(run.problems) == ["gsm8k/test/1", "gsm8k/test/2"]
    r = subprocess.run(
        [sys.executable, "-m", "cli", "view", str(d)], cwd=REPO, capture_output=True, text=True, timeout=300
    )
    assert r.returncode == 0, r.stderr
    assert "2 problems" in r.stdout and (d / "view.html").is_file()
