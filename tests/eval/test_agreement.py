"""Critic agreement with the grader, and eval runs with a critic: rerank@k beside maj@k and pass@k."""

from __future__ import annotations

import json

import pytest

from agent.agent import Agent
from agent.backends.base import Completion
from agent.critic import Critic
from agent.eval_run import RunSpec, run_eval
from eval.agreement import agreement_markdown, critic_agreement
from eval.records import Problem
from eval.summary import samples_from_trajectories
from eval.trajectory import Critique, Trajectory, read_trajectories
from tests.fixtures.fakes import ScriptedBackend


def graded(score: int | None, correct: bool | None, model: str = "judge", ref: bool = False) -> Trajectory:
    return Trajectory(
        problem_id="p",
        question="q",
        model="m",
        correct=correct,
        critique=Critique(score=score, model=model, with_reference=ref),
    )


def test_agreement_by_threshold_hand_computed() -> None:
    trajs = [
        graded(9, True),
        graded(7, True),
        graded(3, True),
        graded(8, False),
        graded(2, False),
        graded(1, False),
        graded(None, True),
        graded(5, None),
        Trajectory(problem_id="p", question="q", model="m", correct=True),
    ]
    a = critic_agreement(trajs)
    assert (a.n, a.n_unparsed, a.n_correct) == (6, 1, 3)  # ungraded and uncritiqued trajectories are left out
    t7 = a.by_threshold[7]
    assert (t7.tp, t7.fp, t7.fn, t7.tn) == (2, 1, 1, 2)
    assert t7.precision == pytest.approx(2 / 3) and t7.recall == pytest.approx(2 / 3)
    assert t7.accuracy == pytest.approx(4 / 6) and t7.accepted == pytest.approx(3 / 6)
    t1 = a.by_threshold[1]
    assert (t1.recall, t1.precision, t1.accepted) == (1.0, 0.5, 1.0)
    assert a.by_threshold[10].precision is None  # nothing accepted
    # pairs (correct, wrong): 9 beats all 3, 7 beats 2 and 1 (loses to 8), 3 beats 2 and 1 -> 7 of 9
    assert a.auc == pytest.approx(7 / 9)
    assert a.mean_score_correct == pytest.approx(19 / 3) and a.critics == ["judge"] and a.with_reference is False
    md = agreement_markdown(a)
    assert "| 7 | 50.0 | 66.7 | 66.7 | 66.7 | 2 | 1 | 1 | 2 |" in md
    assert "1 unparsed" in md and "reference-free" in md and "ROC AUC 0.778" in md


def test_agreement_edge_cases() -> None:
    assert critic_agreement([]) is None
    assert critic_agreement([Trajectory(problem_id="p", question="q", model="m", correct=True)]) is None
    only_unparsed = critic_agreement([graded(None, False)])
    assert only_unparsed.n == 0 and only_unparsed.n_unparsed == 1 and only_unparsed.auc is None
    assert "| 5 | 0.0 |" in agreement_markdown(only_unparsed)
    mixed = critic_agreement([graded(5, True, ref=True), graded(5, False, ref=False)])
    assert mixed.with_reference is None and mixed.auc == 0.5


def test_samples_use_the_verifier_score_else_the_scaled_critique() -> None:
    a = graded(4, True)
    a.verifier_score = 0.25
    b = graded(4, True)
    c = graded(None, False)
    recs = samples_from_trajectories([a, b, c], {})
    assert [r.score for r in recs] == [0.25, pytest.approx(1 / 3), None]


# ----------------------------------------------------------------------------- eval run with a critic

PROBLEMS = [Problem(id=f"p{i}", question=f"Problem {i}", answer="7", source="t") for i in range(3)]


class Solver(ScriptedBackend):
    """Per sample (seed 0..2): p0 answers 7 7 7; p1 answers 3 3 7; p2 answers 3 4 None."""

    TABLE = {"0": ["7", "7", "7"], "1": ["3", "3", "7"], "2": ["3", "4", None]}

    def _complete(self, prompt, params, stream):
        pid = prompt.rsplit("Problem ", 1)[1][0]
        ans = self.TABLE[pid][params.seed]
        text = "No idea." if ans is None else f"So \\boxed{{{ans}}}"
        return [Completion(text=text, finish_reason="stop", completion_tokens=3)]


class Judge(ScriptedBackend):
    """Likes 7 (score 9), dislikes 3 (score 2), cannot decide on 4 (no parsable score)."""

    def _complete(self, prompt, params, stream):
        if prompt.endswith("Score:"):
            return [Completion(text=" unsure", finish_reason="stop")]
        ans = prompt.rsplit("Final answer of the solution: ", 1)[1].split()[0]
        text = {"7": "Right. Score: 9", "3": "Wrong. Score: 2"}.get(ans, "Hard to say.")
        return [Completion(text=text, finish_reason="stop")]


def spec(**kw) -> RunSpec:
    return RunSpec(dataset="inline", model="scripted", samples=3, agent={"mode": "cot"}, **kw)


def factory():
    return Agent(
        llm=Solver([]),
        sandbox="none",
        mode="cot",
        temperature=0.7,
        seed=0,
        concurrency=2,
        critic=Critic(llm=Judge([])),
        rerank="cluster",
    )


def test_eval_run_with_a_critic_reports_rerank_and_agreement(tmp_path) -> None:
    s = spec(critic={"model": "judge"}, rerank="cluster", top_clusters=2)
    metrics = run_eval(s, tmp_path, agent_factory=factory, problems=PROBLEMS)
    overall = metrics["overall"]
    # maj@3: p0 right, p1 wrong (3 beats 7), p2 wrong; rerank@3 and weighted maj@3 pick 7 on p1
    assert overall["maj@3"]["value"] == pytest.approx(1 / 3)
    assert overall["rerank@3"]["value"] == pytest.approx(2 / 3)
    assert overall["weighted_maj@3"]["value"] == pytest.approx(2 / 3)
    assert overall["pass@3"]["value"] == pytest.approx(2 / 3)
    assert metrics["settings"]["top_clusters"] == 2 and metrics["settings"]["rerank_by"] == "mean"
    agree = metrics["critic_agreement"]
    assert (agree["n"], agree["n_unparsed"], agree["n_correct"]) == (7, 1, 4)
    assert agree["by_threshold"]["5"]["accuracy"] == 1.0 and agree["auc"] == 1.0
    report = (tmp_path / "report.md").read_text()
    assert "## Critic agreement with the grader" in report
    assert "| threshold | accepted (%) | precision (%) | recall (%) | accuracy (%) |" in report
    assert "| k | pass@k | maj@k | weighted maj@k | rerank@k |" in report
    trajs = read_trajectories(tmp_path / "trajectories.jsonl")
    assert len(trajs) == 9
    for t in trajs:
        if t.answer is None:
            assert t.critique is None and t.verifier_score is None
        elif t.answer == "4":
            assert t.critique.score is None and "even when asked" in t.critique.parse_error
            assert t.verifier_score is None
        else:
            assert t.critique.score in (2, 9) and t.verifier_score == pytest.approx((t.critique.score - 1) / 9)
    preds = [json.loads(line) for line in (tmp_path / "predictions.jsonl").read_text().splitlines()]
    assert {None if p["score"] is None else round(9 * p["score"] + 1) for p in preds} == {None, 2, 9}
    # resuming with the same configuration reuses the folder; adding or dropping the critic is refused
    again = run_eval(s, tmp_path, agent_factory=factory, problems=PROBLEMS)
    assert again["overall"]["rerank@3"] == overall["rerank@3"]
    with pytest.raises(ValueError, match="critic"):
        run_eval(spec(), tmp_path, agent_factory=factory, problems=PROBLEMS)


def test_eval_run_without_a_critic_has_no_agreement_section(tmp_path) -> None:
    def plain():
        return Agent(llm=Solver([]), sandbox="none", mode="cot", temperature=0.7, seed=0)

    metrics = run_eval(spec(), tmp_path, agent_factory=plain, problems=PROBLEMS)
    assert "critic_agreement" not in metrics and "rerank@3" not in metrics["overall"]
    assert "Critic agreement" not in (tmp_path / "report.md").read_text()
