"""Selection among samples (majority, critic-weighted, solution-cluster re-ranking, best-of-n), and the agent's
use of a verifier, with a scripted solver and a scripted critic (control flow only; the real critic is in
test_critic_e2e.py)."""

from __future__ import annotations

import random

import pytest

from agent.agent import Agent
from agent.backends.base import Completion
from agent.critic import Critic
from agent.errors import MathAgentError
from agent.rerank import resolve_method, select
from eval.metrics import cluster_answers, vote_value
from eval.records import Problem
from tests.fixtures.fakes import ScriptedBackend


def same(a: str, b: str) -> bool:
    return a == b


def test_majority_is_the_largest_cluster_ties_to_the_first_seen() -> None:
    s = select(["5", "3", "3", None, "5"], method="majority", equivalent=same)
    assert (s.answer, s.chosen) == ("5", 0)
    assert [(c.answer, c.members) for c in s.clusters] == [("5", [0, 4]), ("3", [1, 2])]


def test_weighted_vote_sums_scores() -> None:
    # "3" has 3 votes but weight .3; "5" has 2 votes and weight 1.4; missing scores weigh 0
    s = select(["3", "3", "3", "5", "5"], [0.1, 0.1, 0.1, 0.9, 0.5], "weighted", equivalent=same)
    assert (s.answer, s.chosen) == ("5", 3)
    tie = select(["3", "5", "5"], [1.0, 0.5, 0.5], "weighted", equivalent=same)
    assert tie.answer == "5"  # equal weight: the larger cluster
    tie = select(["3", "5"], [0.5, 0.5], "weighted", equivalent=same)
    assert tie.answer == "3"  # equal weight and size: the first seen
    assert select(["3", "5"], [None, 0.1], "weighted", equivalent=same).answer == "5"


def test_cluster_reranking_keeps_the_top_clusters_and_takes_the_best_mean() -> None:
    answers = ["3", "3", "3", "2", "2", "5"]
    scores = [0.1, 0.2, 0.3, 0.8, 0.7, 0.99]
    s = select(answers, scores, "cluster", equivalent=same)
    assert (s.answer, s.chosen) == ("2", 3)  # "5" (a singleton) is cut; "2" has the best mean; its best member
    assert select(answers, scores, "cluster", top_clusters=1, equivalent=same).answer == "3"
    assert select(answers, scores, "cluster", top_clusters=3, equivalent=same).answer == "5"
    # mean, not max: "2" (.5, .5) beats "3" (.9, .0)
    assert select(["3", "3", "2", "2"], [0.9, 0.0, 0.5, 0.5], "cluster", equivalent=same).answer == "2"
    # clusters tied in size with the last one kept stay in
    assert select(["1", "2", "3"], [0.1, 0.2, 0.9], "cluster", top_clusters=1, equivalent=same).answer == "3"
    # missing scores are left out of the mean; a cluster without scores ranks last
    assert select(["1", "1", "2", "2"], [None, 0.4, 0.3, 0.3], "cluster", equivalent=same).answer == "1"
    assert select(["1", "1", "2", "2"], [None, None, 0.0, 0.0], "cluster", equivalent=same).answer == "2"
    # equal means: the larger cluster, then the first seen
    assert select(["1", "2", "2"], [0.5, 0.5, 0.5], "cluster", top_clusters=2, equivalent=same).answer == "2"
    assert select(["1", "2"], [0.5, 0.5], "cluster", equivalent=same).answer == "1"


def test_best_of_n() -> None:
    s = select(["3", "3", "5", None], [0.2, 0.3, 0.25, 0.99], "best", equivalent=same)
    assert (s.answer, s.chosen) == ("3", 1)  # the unanswered sample cannot win
    tie = select(["5", "3", "3"], [0.5, 0.5, 0.1], "best", equivalent=same)
    assert (tie.answer, tie.chosen) == ("3", 1)  # equal scores: the sample of the larger cluster
    assert select(["5", "3"], [None, None], "best", equivalent=same).chosen == 0


def test_no_answers_and_bad_arguments() -> None:
    for method in ("majority", "weighted", "cluster", "best"):
        s = select([None, None], [0.5, 0.5], method, equivalent=same)
        assert (s.answer, s.chosen, s.clusters) == (None, None, [])
    with pytest.raises(ValueError, match="needs scores"):
        select(["1"], None, "cluster")
    with pytest.raises(ValueError, match="1 answers but 2 scores"):
        select(["1"], [0.1, 0.2], "best")
    with pytest.raises(ValueError, match="unknown rerank method"):
        select(["1"], [0.1], "median")
    assert resolve_method(None, False) == "majority" and resolve_method(None, True) == "cluster"
    with pytest.raises(MathAgentError, match="needs verifier scores"):
        resolve_method("weighted", False)


def test_equivalent_answers_cluster_with_the_real_grader() -> None:
    s = select(["0.5", "1/2", "\\frac{1}{2}", "3", "3"], [0.1, 0.1, 0.1, 0.9, 0.9], "cluster", top_clusters=1)
    assert s.answer == "0.5" and s.clusters[0].votes == 3  # one class of three, not three singletons
    assert select(["0.5", "1/2", "\\frac{1}{2}", "3", "3"], [0.1, 0.1, 0.1, 0.9, 0.9], "weighted").answer == "3"


@pytest.mark.parametrize(("method", "metric"), [("cluster", "rerank"), ("weighted", "weighted_maj")])
def test_selection_agrees_with_the_eval_metrics(method: str, metric: str) -> None:
    """What the agent picks is what eval's rerank@n / weighted maj@n credit (no ties: distinct scores)."""
    rng = random.Random(7)
    for _ in range(200):
        n = rng.randint(1, 7)
        answers = [rng.choice(["1", "2", "3", None]) for _ in range(n)]
        scores = [round(rng.random(), 6) for _ in range(n)]
        s = select(answers, scores, method, equivalent=same)
        clusters = cluster_answers(answers, same)
        correct = {c: float(a == "1") for c, a in zip(clusters, answers, strict=True) if c >= 0}
        if metric == "rerank":
            want = vote_value(clusters, correct, scores=scores, top_clusters=2)
        else:
            want = vote_value(clusters, correct, weights=scores)
        assert float(s.answer == "1") == want, (answers, scores)


# --------------------------------------------------------------------------- the agent with a verifier


class Solver(ScriptedBackend):
    """Sample i (seed i) answers ANSWERS[i]; cot mode, so no kernel is needed."""

    ANSWERS = ["3", "3", "3", "7", "7", None]

    def _complete(self, prompt, params, stream):
        ans = self.ANSWERS[params.seed]
        text = "I do not know." if ans is None else f"The result is \\boxed{{{ans}}}"
        return [Completion(text=text, finish_reason="stop", completion_tokens=5)]


class Judge(ScriptedBackend):
    """Scores 2 for answer 3 and 9 for answer 7; records what it judged."""

    def _complete(self, prompt, params, stream):
        ans = prompt.rsplit("Final answer of the solution: ", 1)[1].split()[0]
        self.prompts.append(ans)
        self.full = [*getattr(self, "full", []), prompt]
        return [Completion(text=f"Checked.\nScore: {9 if ans == '7' else 2}", finish_reason="stop")]


def agent(**kw) -> Agent:
    return Agent(llm=Solver([]), sandbox="none", mode="cot", temperature=0.7, seed=0, concurrency=2, **kw)


def test_agent_reranks_with_a_critic_and_stores_critiques() -> None:
    judge = Judge([])
    with agent(critic=Critic(llm=judge)) as a:
        assert a.rerank == "cluster"
        problem = Problem(id="p", question="q?", answer="7", source="t")
        sol = a.solve(problem, samples=6)
        assert (sol.answer, sol.rerank, sol.correct) == ("7", "cluster", True)
        assert sol.chosen in (3, 4) and sol.votes == {"3": 3, "7": 2} and sol.members == {"3": [0, 1, 2], "7": [3, 4]}
        assert sorted(judge.prompts) == ["3", "3", "3", "7", "7"]  # the unanswered sample is not judged
        assert sol.scores == [pytest.approx(1 / 9)] * 3 + [pytest.approx(8 / 9)] * 2 + [None]
        for t, s in zip(sol.trajectories, sol.scores, strict=True):
            assert t.verifier_score == s
            assert (t.critique is None) == (t.answer is None)
        assert sol.trajectories[0].critique.score == 2 and sol.trajectories[0].critique.with_reference is False
        assert all("Reference" not in p for p in judge.full)  # reference-free: the judge never sees the gold
        maj = a.solve(problem, samples=6, rerank="majority")
        assert (maj.answer, maj.correct) == ("3", False)
        assert a.solve(problem, samples=6, rerank="best").answer == "7"
        assert a.solve(problem, samples=6, rerank="weighted").answer == "7"  # 2 x 8/9 > 3 x 1/9


def test_agent_without_a_verifier_keeps_majority_and_refuses_scored_methods() -> None:
    with agent() as a:
        sol = a.solve("q?", samples=6)
        assert (sol.answer, sol.rerank) == ("3", "majority") and all(t.critique is None for t in sol.trajectories)
        with pytest.raises(MathAgentError, match="needs verifier scores"):
            a.solve("q?", samples=2, rerank="cluster")
    with pytest.raises(MathAgentError, match="needs verifier scores"):
        agent(rerank="best")


def test_any_verifier_plugs_in() -> None:
    class LengthVerifier:
        name = "prefers-7"

        def score(self, trajectories, references=None):
            return [1.0 if t.answer == "7" else 0.0 for t in trajectories]

    with agent(critic=LengthVerifier(), rerank="cluster") as a:
        sol = a.solve("q?", samples=6)
    assert sol.answer == "7" and sol.scores[:5] == [0.0, 0.0, 0.0, 1.0, 1.0]
    assert all(t.critique is None for t in sol.trajectories)  # not a critic: nothing to store


def test_self_critique_shares_the_loaded_model() -> None:
    solver = Solver([])
    with Agent(llm=solver, sandbox="none", mode="cot", critic="scripted") as a:
        assert a.verifier.critic.llm is solver
    assert a.verifier is None  # closed with the agent
