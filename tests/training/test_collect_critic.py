"""Collection with the real ``agent.critic.Critic`` class (a scripted judge model): critiques against the
reference land on the collected trajectories, parsed or explicitly unparsed."""

from __future__ import annotations

import re

from agent.backends.base import Completion
from agent.critic import Critic
from training.collect import read_collection, run_collection

from ..fixtures.fakes import ScriptedBackend
from .collect_helpers import options, problems, solver_factory, spec


class Judge(ScriptedBackend):
    """Compares the solution's final answer with the reference: 9 when equal, 2 when not; no score for 4."""

    def _complete(self, prompt, params, stream):
        if prompt.endswith("Score:"):
            return [Completion(text=" later", finish_reason="stop")]
        ref = re.findall(r"Reference answer: (\S+)", prompt)[-1]
        ans = re.findall(r"Final answer of the solution: (\S+)", prompt)[-1]
        if ans == "4":
            return [Completion(text="I cannot tell.", finish_reason="stop")]
        return [Completion(text=f"Compared.\nScore: {9 if ans == ref else 2}", finish_reason="stop")]


def test_collection_with_the_critic_class(tmp_path):
    sp, op = spec(critic="judge"), options()
    critic = Critic(llm=Judge([]))
    run_collection(sp, tmp_path, op, solver_factory=solver_factory(sp, op, critic=critic), problems=problems(4))
    trajs = list(read_collection(tmp_path))
    assert len(trajs) == 8
    for t in trajs:
        c = t.critique
        assert c.with_reference and c.prompt_id.startswith("critic_reference@") and c.model == "scripted"
        if t.answer == "4":  # p2: the judge gave no score, even when asked
            assert c.score is None and "even when asked" in c.parse_error
        else:
            assert c.score == (9 if t.correct else 2) and c.parse_error is None
