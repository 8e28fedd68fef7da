"""The critic path end to end with a real small model (SmolLM2-135M on llama.cpp, one thread).

SmolLM2 is a poor judge: these tests assert the pipeline, not its judgement. Every critique must come
back with a parsed 1-10 score or an explicit unparsed status, be stored on its trajectory, and drive
re-ranking exactly as :func:`agent.rerank.select` says; the CLI must report rerank@k beside maj@k.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from agent.agent import Agent
from agent.backends.base import Completion
from agent.critic import Critic, CriticConfig
from agent.rerank import select
from eval.records import Problem
from eval.trajectory import Critique, Trajectory
from tests.conftest import REPO, packaged_model_path
from tests.fixtures.fakes import ScriptedBackend

pytestmark = [pytest.mark.model, pytest.mark.slow]

TORA = "trajectories_sample/test_tora_-1_seed0_t0.0_s0_e1319.jsonl"


def assert_well_formed(c: Critique, model: str = "smollm2-135m") -> None:
    assert c.model == model and c.text.strip()
    if c.score is None:
        assert c.parse_error  # an explicit unparsed status, never a silent default
    else:
        assert 1 <= c.score <= 10


@pytest.fixture(scope="module")
def critic():
    packaged_model_path("smollm2-135m")
    with Critic("smollm2-135m", "llamacpp", config=CriticConfig(max_tokens=64), n_threads=1) as c:
        yield c


def tora_trajectories(shared_data) -> tuple[list[Trajectory], list[dict]]:
    """One right and one wrong ToRA-70B GSM8K trajectory (real code and outputs)."""
    rows = [json.loads(line) for line in (shared_data / TORA).read_text().splitlines()]
    picked = [next(r for r in rows if r["pred"][0] == r["gt"]), next(r for r in rows if r["pred"][0] != r["gt"])]
    trajs = [
        Trajectory(
            problem_id=f"gsm8k/test/{r['idx']}",
            question=r["question"],
            model="tora-70b",
            text=r["code"][0],
            answer=r["pred"][0],
            correct=r["pred"][0] == r["gt"],
        )
        for r in picked
    ]
    return trajs, picked


def test_real_critic_reference_free_with_answer_and_with_worked_solution(critic, shared_data):
    trajs, rows = tora_trajectories(shared_data)
    free = critic.critique_many(trajs)
    for c in free:
        assert_well_formed(c)
        assert c.with_reference is False and c.prompt_id.startswith("critic@")
    with_answer = critic.critique(trajs[1], reference=rows[1]["gt"])
    assert_well_formed(with_answer)
    assert with_answer.with_reference and with_answer.prompt_id.startswith("critic_reference@")
    worked = critic.critique(trajs[1], reference=rows[1]["gt_cot"])  # GSM8K's prose solution, MathUserEval style
    assert_well_formed(worked)
    assert worked.with_reference and worked.prompt_id.startswith("critic_worked@")


class Solver(ScriptedBackend):
    """Sample i answers ANSWERS[i] (a scripted solver: the critic under test is the real model)."""

    ANSWERS = ["12", "12", "15", "15", "9"]

    def _complete(self, prompt, params, stream):
        a = self.ANSWERS[params.seed]
        return [
            Completion(
                text=f"Each box holds 3 pens, so 4 boxes hold 3 * 4 = {a} pens.\n\\boxed{{{a}}}",
                finish_reason="stop",
                completion_tokens=20,
            )
        ]


def test_agent_reranks_with_the_real_critic(critic):
    problem = Problem(id="pens", question="A box holds 3 pens. How many pens are in 4 boxes?", answer="12", source="t")
    with Agent(llm=Solver([]), sandbox="none", mode="cot", temperature=0.7, seed=0, critic=critic) as agent:
        sol = agent.solve(problem, samples=5)
    assert sol.rerank == "cluster" and len(sol.scores) == 5
    for t, s in zip(sol.trajectories, sol.scores, strict=True):
        assert_well_formed(t.critique)  # stored on the trajectory
        assert t.verifier_score == s
        assert s == (None if t.critique.mean_score is None else pytest.approx((t.critique.mean_score - 1) / 9))
    want = select([t.answer for t in sol.trajectories], sol.scores, "cluster")
    assert (sol.answer, sol.chosen) == (want.answer, want.chosen)
    assert sol.correct == (sol.answer == "12")
    assert sol.members == {"12": [0, 1], "15": [2, 3], "9": [4]}


def run_cli(*args, timeout=900):
    env = {**os.environ, "MATHAGENT_THREADS": "1", "OMP_NUM_THREADS": "1"}
    return subprocess.run(
        [sys.executable, "-m", "cli", *args], capture_output=True, text=True, timeout=timeout, cwd=REPO, env=env
    )


def test_solve_cli_with_a_critic():
    packaged_model_path("smollm2-135m")
    res = run_cli(
        "solve",
        "What is 2+3?",
        "--model",
        "smollm2-135m",
        "--mode",
        "cot",
        "--samples",
        "2",
        "--rerank",
        "best",
        "--critic-model",
        "smollm2-135m",
        "--critic-max-tokens",
        "48",
        "--max-tokens",
        "120",
        "--sandbox",
        "none",
        "--json",
    )
    assert res.returncode == 0, res.stderr[-2000:]
    sol = json.loads(res.stdout)
    assert sol["rerank"] == "best" and len(sol["scores"]) == 2
    for t in sol["trajectories"]:
        if t["answer"] is not None:
            assert_well_formed(Critique.model_validate(t["critique"]))
    bad = run_cli("solve", "1+1?", "--model", "smollm2-135m", "--rerank", "cluster")
    assert bad.returncode == 2 and "needs verifier scores" in bad.stderr


def test_eval_cli_reports_rerank_beside_maj_and_pass(tmp_path):
    packaged_model_path("smollm2-135m")
    data = tmp_path / "tiny.jsonl"
    data.write_text(
        "".join(
            json.dumps({"id": f"t{i}", "question": q, "answer": a}) + "\n"
            for i, (q, a) in enumerate([("What is 2+3?", "5"), ("What is 10 minus 4?", "6")])
        )
    )
    out = tmp_path / "run"
    args = [
        "eval",
        str(data),
        "--model",
        "smollm2-135m",
        "--mode",
        "cot",
        "--samples",
        "2",
        "--rerank",
        "cluster",
        "--critic-model",
        "smollm2-135m",
        "--critic-max-tokens",
        "48",
        "--max-tokens",
        "120",
        "--sandbox",
        "none",
        "--concurrency",
        "2",
        "--out",
        str(out),
    ]
    res = run_cli(*args)
    assert res.returncode == 0, res.stderr[-2000:]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["n_problems"] == 2 and {"maj@2", "pass@2"} <= set(metrics["overall"])
    trajs = [Trajectory.model_validate_json(line) for line in (out / "trajectories.jsonl").read_text().splitlines()]
    answered = [t for t in trajs if t.answer is not None]
    for t in answered:
        assert_well_formed(t.critique)
    run = json.loads((out / "run.json").read_text())
    critic = run["critic"]
    assert (critic["model"], critic["max_tokens"], run["agent"]["rerank"]) == ("smollm2-135m", 48, "cluster")
    report = (out / "report.md").read_text()
    if any(t.critique.score is not None for t in answered):
        assert {"rerank@2", "weighted_maj@2"} <= set(metrics["overall"])
        assert "| k | pass@k | maj@k | weighted maj@k | rerank@k |" in report
        assert "rerank@k" in res.stdout  # the CLI prints them side by side
    if answered:
        assert metrics["critic_agreement"]["n"] + metrics["critic_agreement"]["n_unparsed"] == len(answered)
        assert "## Critic agreement with the grader" in report
    again = run_cli(*args)  # resumable: the same folder and command do nothing new
    assert again.returncode == 0, again.stderr[-2000:]
    assert len((out / "trajectories.jsonl").read_text().splitlines()) == 4
