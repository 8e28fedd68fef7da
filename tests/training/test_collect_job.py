"""Collection jobs with a scripted model (control flow): resume, refusal of another spec, retries, critic,
the error-rate stop on real jailed kernels, the lock, malformed dataset lines, progress.

Real processes killed with SIGKILL and a real model: tests/training/test_collect_e2e.py.
"""

from __future__ import annotations

import json

import pytest

from eval.trajectory import Critique
from training.collect import (
    CollectionBusyError,
    ConfigMismatchError,
    SandboxErrorRateExceeded,
    load_manifest,
    read_collection,
    run_collection,
)
from training.collect.manifest import collection_lock
from training.collect.shards import list_shards

from .collect_helpers import Adder, options, problems, solver_factory, spec, write_dataset


def keys(folder):
    return sorted((t.problem_id, t.sample_index) for t in read_collection(folder))


def test_job_writes_units_manifest_and_reports_progress(tmp_path):
    sp, op = spec(), options()
    seen = []
    manifest = run_collection(
        sp, tmp_path, op, on_progress=seen.append, solver_factory=solver_factory(sp, op), problems=problems(5)
    )
    assert manifest.status == "complete"
    assert keys(tmp_path) == [(f"p{i}", s) for i in range(5) for s in range(2)]
    c = manifest.counts
    assert (c["problems_done"], c["trajectories"], c["graded"], c["correct"]) == (5, 10, 10, 8)  # p3 is wrong
    assert c["accuracy"] == pytest.approx(0.8)
    on_disk = load_manifest(tmp_path)
    assert on_disk.spec == sp and on_disk.versions["mathagent"] and on_disk.versions["grader"].startswith("mathagent")
    assert on_disk.runs[0].status == "complete" and on_disk.runs[0].problems == 5
    assert [p.problems_done for p in seen] == [0, 1, 2, 3, 4, 5]
    assert seen[-1].eta_seconds == 0.0 and seen[-1].problems_per_min > 0
    # one problem's samples are consecutive lines (a unit), sample order 0..K-1
    lines = [json.loads(x) for x in list_shards(tmp_path / "shards")[0].read_text().splitlines()]
    assert [(r["problem_id"], r["sample_index"]) for r in lines][:2] == [
        (lines[0]["problem_id"], 0),
        (lines[0]["problem_id"], 1),
    ]
    assert all(r["correct"] is not None and r["grader"] for r in lines)


def test_resume_runs_only_missing_problems_and_drops_an_incomplete_unit(tmp_path):
    sp, op = spec(samples=3), options()
    calls: list = []
    run_collection(sp, tmp_path, op, solver_factory=solver_factory(sp, op, calls=calls), problems=problems(3))
    shard = list_shards(tmp_path / "shards")[0]
    good = shard.read_bytes()
    # a killed writer: one complete line of p3 and a torn second one
    t = next(iter(read_collection(tmp_path))).model_copy(update={"problem_id": "p3", "sample_index": 0})
    shard.write_bytes(good + t.model_dump_json().encode() + b"\n" + t.model_dump_json().encode()[:40])
    assert keys(tmp_path) == [(f"p{i}", s) for i in range(3) for s in range(3)]  # the reader skips the tail
    assert shard.stat().st_size > len(good)  # ... without changing the file
    manifest = run_collection(
        sp, tmp_path, op, solver_factory=solver_factory(sp, op, calls=calls), problems=problems(5)
    )
    assert keys(tmp_path) == [(f"p{i}", s) for i in range(5) for s in range(3)]  # nothing lost, nothing twice
    assert shard.read_bytes().startswith(good)
    assert len(calls[1].prompts) == 2 * 3  # only p3 and p4 ran again
    assert manifest.runs[1].dropped_tails == 1 and manifest.counts["trajectories"] == 15


def test_another_spec_is_refused_naming_the_difference(tmp_path):
    sp, op = spec(), options()
    run_collection(sp, tmp_path, op, solver_factory=solver_factory(sp, op), problems=problems(1))
    other = spec(agent={"mode": "cot", "temperature": 0.2})
    with pytest.raises(ConfigMismatchError, match=r"agent\.temperature: 0\.7 -> 0\.2"):
        run_collection(other, tmp_path, op, solver_factory=solver_factory(other, op), problems=problems(1))
    with pytest.raises(ConfigMismatchError, match=r"samples: 2 -> 3"):
        run_collection(spec(samples=3), tmp_path, op, solver_factory=solver_factory(sp, op), problems=problems(1))
    # options are not part of the spec: another concurrency resumes
    run_collection(sp, tmp_path, options(concurrency=1), solver_factory=solver_factory(sp, op), problems=problems(2))
    assert len(keys(tmp_path)) == 4


def test_changed_dataset_content_is_refused(tmp_path):
    data = write_dataset(tmp_path / "train.jsonl", 2)
    sp, op = spec(dataset=str(data)), options()
    run_collection(sp, tmp_path / "c", op, solver_factory=solver_factory(sp, op))
    write_dataset(data, 3)
    with pytest.raises(ConfigMismatchError, match="dataset file content"):
        run_collection(sp, tmp_path / "c", op, solver_factory=solver_factory(sp, op))


def test_malformed_dataset_line_is_named_and_nothing_is_written(tmp_path):
    from typer.testing import CliRunner

    from cli.app import app

    data = write_dataset(tmp_path / "train.jsonl", 4, {3: '{"question": "What is 2+2?", "answer": 4'})
    res = CliRunner().invoke(
        app, ["collect", str(data), "--out", str(tmp_path / "c"), "--model", "smollm2-135m"], env={"COLUMNS": "300"}
    )
    assert res.exit_code == 2
    assert f"error: {data}:3: invalid JSON" in res.output and "use --skip-bad" in res.output
    assert "collect" not in res.output  # no progress bar before the problems are loaded
    assert not list_shards(tmp_path / "c" / "shards")


def test_skip_bad_skips_and_counts_malformed_lines(tmp_path):
    data = write_dataset(tmp_path / "train.jsonl", 4, {2: "[1, 2]"})
    sp, op = spec(dataset=str(data)), options(skip_bad=True)
    manifest = run_collection(sp, tmp_path / "c", op, solver_factory=solver_factory(sp, op))
    assert manifest.dataset.skipped == 1 and manifest.counts["problems_done"] == 3


def test_failing_model_calls_are_retried_then_recorded_and_the_job_goes_on(tmp_path):
    sp, op = spec(), options(model_retries=2)
    backend = Adder(fail_always={2}, fail_first=2)  # an outage of 2 calls, and a problem that always fails
    manifest = run_collection(
        sp, tmp_path, op, solver_factory=solver_factory(sp, op, backend=backend), problems=problems(4)
    )
    assert manifest.status == "complete"
    by_problem = {}
    for t in read_collection(tmp_path):
        by_problem.setdefault(t.problem_id, []).append(t)
    assert {t.status for t in by_problem["p2"]} == {"model_error"}
    assert "cannot generate for 2" in by_problem["p2"][0].error
    assert all(t.status == "answered" for p in ("p0", "p1", "p3") for t in by_problem[p])  # the outage was retried
    assert manifest.counts["status"]["model_error"] == 2


class ScriptedCritic:
    """Scores correct trajectories 9 and wrong ones 2 (the critic API of agent/critic.py)."""

    def __init__(self, fail: bool = False):
        self.fail = fail
        self.calls = []

    def critique_many(self, trajs, references=None):
        self.calls.append((len(trajs), list(references or [])))
        if self.fail:
            raise RuntimeError("critic engine crashed")
        return [
            Critique(score=9 if t.answer == r else 2, text="ok", model="scripted-critic", with_reference=True)
            for t, r in zip(trajs, references, strict=True)
        ]


def test_critic_scores_every_trajectory_with_the_reference(tmp_path):
    sp, op = spec(critic="scripted-critic"), options()
    critic = ScriptedCritic()
    run_collection(sp, tmp_path, op, solver_factory=solver_factory(sp, op, critic=critic), problems=problems(4))
    trajs = list(read_collection(tmp_path))
    assert all(t.critique is not None for t in trajs)
    assert {t.critique.score for t in trajs if t.correct} == {9}
    assert {t.critique.score for t in trajs if not t.correct} == {2}
    assert sorted(critic.calls) == [(2, ["0", "0"]), (2, ["2", "2"]), (2, ["4", "4"]), (2, ["6", "6"])]


def test_a_failing_critic_leaves_a_scoreless_critique(tmp_path):
    sp, op = spec(critic="scripted-critic"), options(model_retries=1)
    run_collection(
        sp, tmp_path, op, solver_factory=solver_factory(sp, op, critic=ScriptedCritic(fail=True)), problems=problems(1)
    )
    trajs = list(read_collection(tmp_path))
    assert all(t.critique.score is None and "critic engine crashed" in t.critique.text for t in trajs)


def test_second_writer_is_refused(tmp_path):
    lock = collection_lock(tmp_path)
    try:
        sp, op = spec(), options()
        with pytest.raises(CollectionBusyError, match="another collection job"):
            run_collection(sp, tmp_path, op, solver_factory=solver_factory(sp, op), problems=problems(1))
    finally:
        lock.release()


def test_sandbox_error_rate_stop_on_real_kernels(tmp_path):
    """Every cell times out in a real jailed kernel: the job stops with a clear message and can resume."""
    sp = spec(samples=2, agent={"mode": "tir", "cell_timeout": 0.3, "max_tool_calls": 1})
    op = options(sandbox="jail", concurrency=2, min_cells=4, max_error_rate=0.5)
    backend = Adder(code="while True: pass")
    with pytest.raises(SandboxErrorRateExceeded, match=r"4 of 4 code cells .*100%.* failed inside the sandbox"):
        run_collection(sp, tmp_path, op, solver_factory=solver_factory(sp, op, backend=backend), problems=problems(6))
    manifest = load_manifest(tmp_path)
    assert manifest.status == "stopped" and "--max-error-rate" in manifest.message
    assert len(keys(tmp_path)) == 4  # the problems written before the stop are kept
    for t in read_collection(tmp_path):
        assert t.sandbox_errors == 1 and [s.exit_status for s in t.steps if s.kind == "output"] == ["timeout"]


@pytest.mark.parametrize(
    ("args", "ray"),
    [
        ([], None),
        (["--ray"], "local"),
        (["--ray", "--limit", "2"], "local"),
        (["--ray", "auto"], "auto"),
        (["--ray", "10.0.0.5:6379"], "10.0.0.5:6379"),
        (["--ray", "ray://head:10001"], "ray://head:10001"),
    ],
)
def test_cli_builds_spec_and_options_and_ray_takes_an_optional_address(tmp_path, monkeypatch, args, ray):
    from typer.testing import CliRunner

    import training.collect.runner as runner
    from cli.app import app

    seen = {}

    def fake_run(spec, out, options, on_progress=None):
        seen.update(spec=spec, out=out, options=options)
        raise SandboxErrorRateExceeded("stopped: test")

    monkeypatch.setattr(runner, "run_collection", fake_run)
    data = write_dataset(tmp_path / "train.jsonl", 2)
    res = CliRunner().invoke(
        app,
        [
            "collect",
            str(data),
            *args,
            "--out",
            str(tmp_path / "c"),
            "-k",
            "3",
            "--backend-opt",
            "enforce_eager=true",
            "--field",
            "question=problem",
        ],
    )
    assert res.exit_code == 3, res.output  # the error-rate stop has its own exit code
    assert seen["options"].ray == ray
    assert seen["spec"].samples == 3 and seen["spec"].agent.temperature == 0.7
    assert seen["spec"].backend_options == {"enforce_eager": True}
    assert seen["spec"].fields == {"question": "problem"}


def test_sigterm_right_after_a_unit_is_written_still_counts_it(tmp_path, monkeypatch):
    """`kill PID` (SIGTERM) landing between a unit's fsync and its count: the manifest counts what is on disk."""
    import signal

    from agent.interrupts import sigterm_as_interrupt
    from training.collect.shards import ShardWriter

    write_unit = ShardWriter.write_unit

    def write_then_sigterm(self, trajectories):
        write_unit(self, trajectories)
        signal.raise_signal(signal.SIGTERM)  # delivered before the next statement of the caller

    monkeypatch.setattr(ShardWriter, "write_unit", write_then_sigterm)
    sp, op = spec(), options()
    old_int = signal.signal(signal.SIGINT, signal.SIG_IGN)  # a background job: asyncio leaves SIGINT alone
    try:
        with sigterm_as_interrupt(), pytest.raises(KeyboardInterrupt):
            run_collection(sp, tmp_path, op, solver_factory=solver_factory(sp, op), problems=problems(3))
    finally:
        signal.signal(signal.SIGINT, old_int)
    manifest = load_manifest(tmp_path)
    assert manifest.status == "interrupted"
    assert manifest.counts["problems_done"] == len({k[0] for k in keys(tmp_path)}) == 1
