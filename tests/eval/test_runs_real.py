"""compare, rescore and the label audit on real runs (tests/fixtures/runs: real models on GSM8K problems).

The runs were made with ``mathagent eval`` (see tests/fixtures/runs/README.md); the tests plant a grader
change (verdicts the grader that made the run got wrong, and a changed grading rule) and a wrong
reference, and check that each command finds exactly what was planted.
"""

from __future__ import annotations

import importlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from eval.grade import grade
from eval.runs import (
    AuditSettings,
    audit_labels,
    compare_runs,
    load_run,
    mcnemar_exact,
    rescore_run,
    run_verdicts,
    write_rescore,
)

REPO = Path(__file__).resolve().parents[2]
RUNS = REPO / "tests" / "fixtures" / "runs"
QWEN = RUNS / "gsm8k-easy-qwen05-k4"  # qwen2.5-coder-0.5b, 4 samples, critic
SMOL = RUNS / "gsm8k-easy-smollm-k1"  # smollm2-135m, 1 sample


def _cli(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cli", *args], cwd=cwd, capture_output=True, text=True, timeout=300)


def _copy(run: Path, tmp_path: Path, name: str | None = None) -> Path:
    out = tmp_path / (name or run.name)
    shutil.copytree(run, out, ignore=shutil.ignore_patterns("view*.html", "rescored", "audit*"))
    return out


def _edit(folder: Path, change) -> None:
    """Rewrite trajectories.jsonl, applying ``change(record)`` to each record (a dict)."""
    path = folder / "trajectories.jsonl"
    records = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    path.write_text("".join(json.dumps(change(r) or r) + "\n" for r in records))


def test_the_fixtures_are_real_runs() -> None:
    for folder, model, k in ((QWEN, "qwen2.5-coder-0.5b", 4), (SMOL, "smollm2-135m", 1)):
        run = load_run(folder)
        assert run.kind == "eval" and run.model == model and run.samples_per_problem == k
        assert len(run.problems) == 6
        assert all(t.steps and t.completion_tokens > 0 for t in run.trajectories())
    assert any(t.tool_calls for t in load_run(QWEN).trajectories())
    assert all(t.critique is not None for t in load_run(QWEN).trajectories())


def test_compare_on_real_runs_cli_and_json(tmp_path: Path) -> None:
    a, b = load_run(SMOL), load_run(QWEN)
    va, vb = run_verdicts(a), run_verdicts(b)
    fixed = [p for p in a.problems if va[p].correct is False and vb[p].correct is True]
    broken = [p for p in a.problems if va[p].correct is True and vb[p].correct is False]
    out = tmp_path / "compare.json"
    r = _cli("compare", str(SMOL), str(QWEN), "--json", str(out), "--bootstrap", "2000")
    assert r.returncode == 0, r.stderr
    assert "| all | 6 |" in r.stdout and "McNemar p" in r.stdout
    data = json.loads(out.read_text())
    o = data["overall"]
    assert (data["fixed"], data["broken"]) == (fixed, broken)
    assert (o["fixed"], o["broken"]) == (len(fixed), len(broken))
    assert o["fixed"] + o["broken"] + o["both_right"] + o["both_wrong"] == o["n"] == 6
    assert o["p_value"] == pytest.approx(mcnemar_exact(len(fixed), len(broken)))
    assert o["difference"] == pytest.approx((len(fixed) - len(broken)) / 6)
    assert o["ci_low"] <= o["difference"] <= o["ci_high"]
    assert data["sample_accuracy"] is not None  # run B has 4 samples per problem
    printed = _cli("compare", str(SMOL), str(QWEN), "--format", "json", "--bootstrap", "2000")
    assert json.loads(printed.stdout)["overall"] == o  # the same numbers, printed


def test_rescore_finds_verdicts_a_buggy_grader_got_wrong(tmp_path: Path) -> None:
    run = _copy(QWEN, tmp_path)
    original = load_run(run)
    # The planted grader bug: the grader that made the run called two samples the opposite of what they are.
    planted = [(t.problem_id, t.sample_index) for t in original.trajectories() if t.correct is not None][:2]
    truth = {(t.problem_id, t.sample_index): t.correct for t in original.trajectories()}

    def flip(r: dict) -> dict:
        if (r["problem_id"], r["sample_index"]) in planted:
            r["correct"] = not r["correct"]
            r["grade_status"] = "equal" if r["correct"] else "unequal"
        return r

    _edit(run, flip)
    before = (run / "trajectories.jsonl").read_bytes()
    r = _cli("rescore", str(run))
    assert r.returncode == 0, r.stderr
    assert "2 verdict(s) changed" in r.stdout
    changes = [json.loads(line) for line in (run / "rescored" / "changes.jsonl").read_text().splitlines()]
    assert sorted((c["problem_id"], c["sample"]) for c in changes) == sorted(planted)
    for c in changes:
        assert (c["after"] == "correct") == truth[(c["problem_id"], c["sample"])]
        assert c["reason"]
    assert (run / "trajectories.jsonl").read_bytes() == before  # the run itself is not touched
    rescored = load_run(run / "rescored")
    assert {(t.problem_id, t.sample_index): t.correct for t in rescored.trajectories()} == truth
    assert json.loads((run / "rescored" / "metrics.json").read_text())["overall"]["accuracy"]["value"] == (
        pytest.approx(json.loads((QWEN / "metrics.json").read_text())["overall"]["accuracy"]["value"])
    )
    report = (run / "rescored" / "report.md").read_text()
    assert "## Changed verdicts (2)" in report and "| accuracy |" in report
    # compare the run with its rescored self: what the new grader changed, problem by problem
    c = compare_runs(load_run(run), rescored, n_bootstrap=0)
    assert set(c.fixed + c.broken) <= {pid for pid, _ in planted}


def test_rescore_with_a_changed_grading_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    grade_module = importlib.import_module("eval.grade")  # the package re-exports a function named grade
    run = load_run(QWEN)
    real_compare = grade_module.compare
    answered = [t for t in run.trajectories() if t.answer is not None]
    target = answered[0].answer  # the new rule: this one answer is never equal to anything

    def changed_rule(pred, gold, **kw):
        result = real_compare(pred, gold, **kw)
        if pred == target and result.equal:
            from dataclasses import replace

            return replace(result, equal=False, status="unequal", reason="planted rule")
        return result

    monkeypatch.setattr(grade_module, "compare", changed_rule)
    result = rescore_run(run)
    expected = {(t.problem_id, t.sample_index) for t in answered if t.answer == target and t.correct}
    assert expected, "the fixture needs correct samples with the target answer"
    assert {(c.problem_id, c.sample) for c in result.changes} == expected
    assert all(c.reason == "planted rule" and c.after == "wrong" for c in result.changes)


def test_rescore_policy_and_reextract_in_python(tmp_path: Path) -> None:
    run = load_run(QWEN)
    same = rescore_run(run, policy="gsm8k", reextract=True)
    assert len(same.trajectories) == len(run.trajectories())
    assert same.policies == {"gsm8k-easy": "gsm8k"}
    metrics = write_rescore(run, same, tmp_path / "out", policy="gsm8k", reextract=True, n_bootstrap=0)
    assert json.loads((tmp_path / "out" / "rescore.json").read_text())["reextract"] is True
    assert metrics["rescore"]["changed"] == len(same.changes)


def test_audit_finds_a_deliberately_altered_reference(tmp_path: Path) -> None:
    run = _copy(QWEN, tmp_path)
    original = load_run(run)
    # With the real labels, one problem is listed: all 4 samples say 80 where 120 is right (Jack's $100 plus
    # 1/5 of $100). The model shares a mistake there, and the critic does not approve (3 of 10).
    before = audit_labels(original)
    assert [(s.problem_id, s.answer, s.reference, s.critic_approves) for s in before] == [
        ("gsm8k-easy/4", "80", "120", False)
    ]
    verdicts = run_verdicts(original)
    agreed = [pid for pid, v in verdicts.items() if v.correct and v.votes[0].size / v.n_samples >= 0.75]
    assert agreed, "the fixture needs a problem whose samples agree on the right answer"
    pid = agreed[0]
    right = original.problems[pid].reference
    wrong = str(int(right) + 7)

    def alter(r: dict) -> dict:
        if r["problem_id"] == pid:
            r["reference"] = wrong
        return r

    _edit(run, alter)
    suspects = audit_labels(load_run(run))
    assert sorted(s.problem_id for s in suspects) == sorted([pid, "gsm8k-easy/4"])
    s = next(s for s in suspects if s.problem_id == pid)
    assert s.reference == wrong and grade(s.answer, right)  # the majority holds the true answer
    assert s.share >= 0.75 and s.samples == 4 and s.critic is not None
    # stricter settings drop it; the CLI writes the report, the JSON and the page its link opens
    assert audit_labels(load_run(run), AuditSettings(min_critic=7)) == []  # the critic approves of neither
    r = _cli("audit", str(run))
    assert r.returncode == 0, r.stderr
    assert "2 suspect reference(s) among 6 audited problems" in r.stdout
    md = (run / "audit.md").read_text()
    assert f"view.html#problem={pid.replace('/', '%2F')}" in md and wrong in md
    assert json.loads((run / "audit.json").read_text())["suspects"][0]["problem_id"] == pid
    assert (run / "view.html").is_file()


def test_commands_fail_with_one_line(tmp_path: Path) -> None:
    for args in (("view", str(tmp_path / "nope")), ("compare", str(QWEN), str(tmp_path)), ("rescore", str(tmp_path))):
        r = _cli(*args)
        assert r.returncode == 2
        assert r.stderr.strip().startswith("error:") and len(r.stderr.strip().splitlines()) <= 2, r.stderr
    r = _cli("rescore", str(QWEN), "--policy", "nope", "--out", str(tmp_path / "x"))
    assert r.returncode == 2 and "unknown grading policy" in r.stderr
