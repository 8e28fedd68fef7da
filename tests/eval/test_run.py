"""Eval runs: report files, resume after a kill, a torn last line, a changed configuration refused."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from agent.agent import Agent
from agent.eval_run import RunSpec, run_eval
from common.configs import ConfigMismatchError
from eval.records import Problem
from eval.trajectory import read_trajectories
from tests.conftest import REPO, packaged_model_path
from tests.fixtures.fakes import ScriptedBackend

PROBLEMS = [Problem(id=f"p{i}", question=f"What is {i}+{i}?", answer=str(2 * i), source="t") for i in range(4)]


class Doubler(ScriptedBackend):
    """Answers 'What is i+i?' with the right sum, except for p3 (wrong)."""

    def _complete(self, prompt, params, stream):
        from agent.backends.base import Completion

        self.prompts.append(prompt)
        i = int(prompt.rsplit("What is ", 1)[1].split("+")[0])
        ans = 2 * i if i != 3 else 0
        return [Completion(text=f"The sum is \\\\boxed{{{ans}}}", finish_reason="stop", completion_tokens=5)]


def spec(**kw):
    return RunSpec(dataset="inline", model="scripted", **{"agent": {"mode": "cot"}, **kw})


def factory(calls):
    def make():
        backend = Doubler([])
        calls.append(backend)
        return Agent(llm=backend, sandbox="none", mode="cot", concurrency=2)

    return make


def test_run_writes_report_with_code_use(tmp_path):
    metrics = run_eval(spec(), tmp_path, agent_factory=factory([]), problems=PROBLEMS)
    assert metrics["overall"]["accuracy"]["value"] == pytest.approx(0.75)
    assert metrics["extra"]["code_use"] == 0.0
    for name in ("metrics.json", "predictions.jsonl", "report.md", "trajectories.jsonl", "run.json"):
        assert (tmp_path / name).is_file()
    report = (tmp_path / "report.md").read_text()
    assert "| accuracy (%) | code use (%) |" in report  # code use stands beside accuracy
    assert "| 75.0 | 0.0 |" in report


def test_run_writes_the_browser_and_audits_references_with_several_samples(tmp_path):
    # p3's samples all say 0 against the reference 6: with 4 samples each, the report lists it as suspect.
    metrics = run_eval(spec(samples=4), tmp_path, agent_factory=factory([]), problems=PROBLEMS)
    assert (tmp_path / "view.html").is_file()
    report = (tmp_path / "report.md").read_text()
    assert "## Suspect references" in report and "[p3](view.html#problem=p3) | 6 | 0 | 4/4 (100%)" in report
    assert [s["problem_id"] for s in metrics["label_audit"]["suspects"]] == ["p3"]
    one = tmp_path / "one-sample"
    run_eval(spec(), one, agent_factory=factory([]), problems=PROBLEMS)
    assert "Suspect references" not in (one / "report.md").read_text()  # nothing to audit with one sample


def test_resume_skips_done_problems_and_drops_a_torn_line(tmp_path):
    calls: list = []
    run_eval(spec(), tmp_path, agent_factory=factory(calls), problems=PROBLEMS[:2])
    path = tmp_path / "trajectories.jsonl"
    with open(path, "a") as f:
        f.write('{"schema_version": 1, "problem_id": "p2", "quest')  # a writer killed mid-line
    run_eval(spec(), tmp_path, agent_factory=factory(calls), problems=PROBLEMS)
    trajs = read_trajectories(path)
    assert sorted(t.problem_id for t in trajs) == ["p0", "p1", "p2", "p3"]  # nothing lost, nothing twice
    second = calls[1]
    assert len(second.prompts) == 2  # only p2 and p3 ran again


def test_changed_configuration_is_refused(tmp_path):
    run_eval(spec(), tmp_path, agent_factory=factory([]), problems=PROBLEMS[:1])
    with pytest.raises(ConfigMismatchError, match="samples"):
        run_eval(spec(samples=2), tmp_path, agent_factory=factory([]), problems=PROBLEMS[:1])


def test_resuming_with_another_prompt_is_refused(tmp_path):
    # The run spec names no prompt (a model may bring its own), so the trajectories' prompt ids are checked.
    run_eval(spec(), tmp_path, agent_factory=factory([]), problems=PROBLEMS[:1])

    def other_prompt():
        return Agent(llm=Doubler([]), sandbox="none", mode="cot", prompt="tir_reason", concurrency=1)

    with pytest.raises(ConfigMismatchError, match=r"prompt cot@\w+; this run uses tir_reason@"):
        run_eval(spec(), tmp_path, agent_factory=other_prompt, problems=PROBLEMS[:2])
    assert len(read_trajectories(tmp_path / "trajectories.jsonl")) == 1  # nothing lost, nothing added


def test_corrupt_line_in_the_middle_names_file_and_line(tmp_path):
    path = tmp_path / "trajectories.jsonl"
    path.write_text("not json\n{}\n")
    with pytest.raises(ValueError, match=r"trajectories.jsonl:1"):
        read_trajectories(path)


@pytest.mark.model
def test_eval_cli_with_a_real_model(tmp_path, shared_data):
    packaged_model_path("smollm2-135m")
    out = tmp_path / "run"
    cmd = [
        sys.executable,
        "-m",
        "cli",
        "eval",
        str(shared_data / "gsm8k" / "test.jsonl"),
        "--limit",
        "2",
        "--model",
        "smollm2-135m",
        "--out",
        str(out),
        "--max-tool-calls",
        "2",
        "--max-tokens",
        "200",
    ]
    res = subprocess.run(
        cmd, capture_output=True, text=True, timeout=600, cwd=REPO, env={**os.environ, "MATHAGENT_THREADS": "1"}
    )
    assert res.returncode == 0, res.stderr[-2000:]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["n_problems"] == 2
    assert "code_use" in metrics["extra"] and "model_time_share" in metrics["extra"]
    preds = [json.loads(line) for line in (out / "predictions.jsonl").read_text().splitlines()]
    assert [p["problem_id"] for p in preds] == ["gsm8k/test/0", "gsm8k/test/1"]
